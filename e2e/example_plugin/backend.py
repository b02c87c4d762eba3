"""A leased key/value store built only on ``sdk.framework``: the template a plugin author
copies, and what the real-server tests mount.

Laid out like HashiCorp's secrets engines: this module makes the backend (its state, special
paths, periodic work) from one module per group of paths, each holding the paths' fields and
handlers:

- :mod:`.path_stats`: ``const`` (read: fixed data, no storage access, the "no storage"
  benchmark), ``stats`` (counters of this process), ``public/ping`` (unauthenticated) and
  ``admin/reset-stats`` (needs sudo);
- :mod:`.path_config`: ``config`` (read, create/update, delete): lease TTLs and a greeting;
- :mod:`.path_kv`: ``kv/`` (list) and ``kv/<name>`` (CRUD and patch);
- :mod:`.path_lease`: ``lease/<name>`` (read) issues a renewable ``kv_lease``
  (:mod:`.secret_lease`); ``revoked/`` and ``revoked/<name>/`` (list) show what was revoked;
- :mod:`.path_wal`: ``wal-demo`` (write, read) leaves a WAL entry for the rollback tick.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from vault_plugin_litellm.sdk.framework import Backend
from vault_plugin_litellm.sdk.logical import Request, SpecialPaths

from .common import VERSION
from .path_config import CONFIG_KEY, config_paths, load_config
from .path_kv import kv_paths
from .path_lease import lease_paths
from .path_stats import stats_paths
from .path_wal import DEFAULT_WAL_MIN_AGE, env_wal_min_age, wal_paths, wal_rollback
from .secret_lease import lease_secret


class ExampleBackend(Backend):
    """One mount of the example plugin."""

    def __init__(self) -> None:
        self.ticks = 0
        self.renewals = 0
        self.revocations = 0
        self.wal_rollbacks = 0
        self.env_min_age = env_wal_min_age()
        super().__init__(
            help_text=(
                "A leased key/value store that shows what sdk.framework does: typed fields, "
                "existence checks, leases with renew and revoke, a WAL and periodic work."
            ),
            paths=[
                *stats_paths(self),
                *config_paths(self),
                *kv_paths(),
                *lease_paths(self),
                *wal_paths(self),
            ],
            secrets=[lease_secret(self)],
            special_paths=SpecialPaths(
                root=["admin/*"],  # needs the sudo capability
                unauthenticated=["public/*"],  # needs no token at all
                seal_wrap_storage=[CONFIG_KEY],
            ),
            periodic=self._periodic,
            wal_rollback=wal_rollback(self),
            wal_rollback_min_age=self.env_min_age or DEFAULT_WAL_MIN_AGE,
            running_version=VERSION,
        )

    def apply_wal_min_age(self, config: dict[str, Any]) -> None:
        """Take the configured WAL age, unless the environment sets one."""
        if self.env_min_age is not None:
            return
        seconds = config.get("wal_min_age", 0)
        self.wal_rollback_min_age = timedelta(seconds=seconds) if seconds else DEFAULT_WAL_MIN_AGE

    async def _periodic(self, req: Request) -> None:
        self.ticks += 1
        if self.env_min_age is None:
            self.apply_wal_min_age(await load_config(req.storage))


def factory() -> ExampleBackend:
    """A fresh backend instance per mount (a ``BackendFactory``)."""
    return ExampleBackend()
