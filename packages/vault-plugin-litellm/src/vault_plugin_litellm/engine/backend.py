"""The LiteLLM secrets engine: one instance per mount, assembled from its paths.

Besides the paths (``config``, ``roles/``, ``creds/``, ``rotate-root``, ``tidy``) and the
``litellm_key`` secret, the backend holds what every request shares:

- the config and the roles, read from storage once and kept in memory: a hot read would
  otherwise cost a storage round trip to the host. The engine's own writes update the copies,
  and ``InvalidateKey`` (a change made on another node) drops them;
- one LiteLLM client per config (see :mod:`.proxy`);
- the rollback tick's work: write-ahead entries of mints that can no longer finish are undone,
  revocations still owed are retried, and ``tidy`` runs when ``tidy_interval`` says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib
from collections import OrderedDict
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from litellm_client import AsyncLiteLLMClient, LiteLLMError, hash_key, redact

from vault_plugin_litellm import __version__
from vault_plugin_litellm.sdk.framework import (
    Backend,
    RollbackDeferred,
    delete_wal,
    path_append,
    readable_wal,
)
from vault_plugin_litellm.sdk.goplugin.log import add_redactor
from vault_plugin_litellm.sdk.logical import (
    LogicalError,
    Request,
    SpecialPaths,
    Storage,
    SystemView,
    get_json,
    put_json,
)

from . import key_index, limits
from .config import CONFIG_KEY, EngineConfig
from .path_config import config_paths
from .path_creds import creds_paths
from .path_roles import role_paths, ttl_warning
from .path_rotate_root import rotate_root_paths
from .path_tidy import tidy, tidy_paths
from .proxy import ProxyHandle, delete_tokens
from .proxy_errors import Refusal
from .role import ROLE_PREFIX, Role
from .secret_key import key_secret
from .wal_kinds import ADMIN_KEY_WAL, KEY_WAL, may_be_in_flight

# Raw keys, admin keys and bearer credentials never reach the host's log.
add_redactor(redact)
# httpx logs every request at INFO; the client logs its calls at DEBUG with their timing, so
# the host's log at its default level keeps to what an operator acts on.
logging.getLogger("httpx").setLevel(logging.WARNING)

VERSION = f"v{__version__}"
_PERFORMANCE_STANDBY = 1 << 14
OWED_PER_TICK = 100

HELP = """\
The LiteLLM secrets engine mints a LiteLLM virtual key per consumer, on demand: scoped to
models, capped by budget and rate limits, and bound to a lease. Renewing the lease moves the
key's LiteLLM expiry; revoking it, or letting it expire, deletes the key. LiteLLM's own expiry
(never more than a minute after the lease's end) backs that up.

Configure the proxy with config, define roles under roles/, and read creds/<role> for a key.
rotate-root replaces the engine's admin key; tidy finds and deletes keys no lease holds.
"""


class LiteLLMBackend(Backend):
    def __init__(self) -> None:
        self.key_secret = key_secret(self)
        self._config: EngineConfig | None = None
        self._config_loaded = False
        self._handle: ProxyHandle | None = None
        self._roles: OrderedDict[str, Role | None] = OrderedDict()
        self._generation = 0
        self.admin_lock = asyncio.Lock()
        self.tidy_lock = asyncio.Lock()
        # A role write reads the role, merges the fields it names and stores the result, with
        # host round trips in between: two writes of one role must not interleave, or one of
        # them is lost. A fixed set, as in Vault's own engines: memory does not grow with the
        # number of role names.
        self._role_locks = tuple(asyncio.Lock() for _ in range(limits.ROLE_LOCKS))
        self._last_tidy = time.monotonic()
        super().__init__(
            help_text=HELP,
            paths=path_append(
                config_paths(self),
                role_paths(self),
                creds_paths(self),
                rotate_root_paths(self),
                tidy_paths(self),
            ),
            secrets=[self.key_secret],
            special_paths=SpecialPaths(seal_wrap_storage=[CONFIG_KEY]),
            initialize=self._initialize,
            periodic=self._periodic,
            wal_rollback=self._roll_back,
            # The engine's own rule decides what is due (see wal_kinds); the framework's
            # age gate only keeps entries written this very second out of the way.
            wal_rollback_min_age=timedelta(seconds=1),
            clean=self._clean,
            invalidate=self._invalidate,
            running_version=VERSION,
        )

    # -- config and the client ----------------------------------------------------------------

    async def get_config(self, storage: Storage) -> EngineConfig | None:
        if self._config_loaded:
            return self._config
        generation = self._generation
        raw = await get_json(storage, CONFIG_KEY)
        try:
            config = None if raw is None else EngineConfig.from_storage(raw)
        except (TypeError, ValueError) as exc:
            raise LogicalError(f"the stored config cannot be read: {exc}") from None
        if generation == self._generation:
            self._config, self._config_loaded = config, True
        return config

    async def require_config(self, storage: Storage, mount_point: str) -> EngineConfig:
        config = await self.get_config(storage)
        if config is None:
            raise Refusal(
                f"the engine is not configured: write url and admin_key to "
                f"{mount_point or '<mount>/'}config first"
            )
        return config

    async def put_config(self, storage: Storage, config: EngineConfig) -> ProxyHandle | None:
        """Store ``config`` (seal-wrapped) and use it from now on; returns the client it retired."""
        await put_json(storage, CONFIG_KEY, config.to_storage(), seal_wrap=True)
        self._generation += 1
        self._config, self._config_loaded = config, True
        return await self._retire_unless(config)

    async def delete_config(self, storage: Storage) -> None:
        await storage.delete(CONFIG_KEY)
        self._generation += 1
        self._config, self._config_loaded = None, True
        await self._retire_unless(None)

    async def _retire_unless(self, config: EngineConfig | None) -> ProxyHandle | None:
        handle = self._handle
        if handle is None:
            return None
        if (
            config is not None
            and handle.config.connection_settings() == config.connection_settings()
        ):
            return None
        self._handle = None
        await handle.retire()
        return handle

    @contextlib.asynccontextmanager
    async def proxy(self, config: EngineConfig) -> AsyncIterator[AsyncLiteLLMClient]:
        """The client for ``config``: the mount's shared one when ``config`` is the current
        config, a client of its own otherwise (closed after this use)."""
        handle = self._handle
        settings = config.connection_settings()
        temporary = False
        if handle is None or handle.config.connection_settings() != settings:
            current = self._config
            handle = ProxyHandle(config)
            if current is not None and current.connection_settings() == settings:
                # Swapped before the await, so that no other request's handle is overwritten.
                old, self._handle = self._handle, handle
                if old is not None:
                    await old.retire()
            else:
                temporary = True
        try:
            async with handle.use() as client:
                yield client
        finally:
            if temporary:
                await handle.retire()

    async def undo_admin_successor(self, storage: Storage, token: str, previous: str) -> None:
        """Delete a successor admin key that rotate-root did not finish, unless it was stored
        after all: then it is the admin key, and ``previous`` (the key it replaced) is owed a
        deletion that the cut-short rotation may never have recorded."""
        self._config_loaded = False
        config = await self.get_config(storage)
        if config is None:
            raise LogicalError("cannot delete an unfinished successor admin key: no config")
        if hash_key(config.admin_key) == token:
            if key_index.is_token(previous) and previous != token:
                await key_index.owe_revocation(
                    storage,
                    previous,
                    alias="",
                    role="",
                    kind="admin_key",
                    reason="rotate-root stored its successor but was cut short before deleting it",
                )
            return
        async with self.proxy(config) as client:
            await delete_tokens(client, [token])

    # -- roles ----------------------------------------------------------------------------------

    async def get_role(self, storage: Storage, name: str) -> Role | None:
        if name in self._roles:
            self._roles.move_to_end(name)
            return self._roles[name]
        if not name or len(name) > limits.MAX_ROLE_NAME or "/" in name:
            return None
        generation = self._generation
        raw = await get_json(storage, ROLE_PREFIX + name)
        try:
            role = None if raw is None else Role.from_storage(name, raw)
        except (TypeError, ValueError) as exc:
            raise LogicalError(f'the stored role "{name}" cannot be read: {exc}') from None
        if generation == self._generation:
            self._cache_role(name, role)
        return role

    def role_lock(self, name: str) -> asyncio.Lock:
        """The lock a write or delete of role ``name`` holds."""
        return self._role_locks[
            zlib.crc32(name.encode("utf-8", "surrogatepass")) % limits.ROLE_LOCKS
        ]

    async def put_role(self, storage: Storage, role: Role) -> None:
        await put_json(storage, ROLE_PREFIX + role.name, role.to_storage())
        self._generation += 1
        self._cache_role(role.name, role)

    async def delete_role(self, storage: Storage, name: str) -> None:
        await storage.delete(ROLE_PREFIX + name)
        self._generation += 1
        self._cache_role(name, None)

    def _cache_role(self, name: str, role: Role | None) -> None:
        self._roles[name] = role
        self._roles.move_to_end(name)
        while len(self._roles) > limits.MAX_CACHED_ROLES:
            self._roles.popitem(last=False)

    async def ttl_warnings(self, role: Role) -> list[str]:
        mount_max = await self.require_system_view().max_lease_ttl()
        found = (
            ttl_warning("ttl", role.ttl, mount_max),
            ttl_warning("max_ttl", role.max_ttl, mount_max),
        )
        return [w for w in found if w]

    # -- host hooks -----------------------------------------------------------------------------

    def require_system_view(self) -> SystemView:
        if self.system_view is None:
            raise LogicalError("the backend has no system view (not set up)")
        return self.system_view

    async def is_performance_standby(self) -> bool:
        if self.system_view is None:
            return False
        return bool(await self.system_view.replication_state() & _PERFORMANCE_STANDBY)

    async def _initialize(self, storage: Storage) -> None:
        # Warm the config and its client, so that the first mint does not pay for loading a
        # CA bundle. Never fails the mount: a broken config is reported when it is used.
        try:
            config = await self.get_config(storage)
            if config is not None and self._handle is None:
                self._handle = ProxyHandle(config)
        except Exception:
            self.logger.warning("could not load the config at start-up", exc_info=True)

    async def _invalidate(self, key: str) -> None:
        self._generation += 1
        if key == CONFIG_KEY:
            self._config, self._config_loaded = None, False
            handle, self._handle = self._handle, None
            if handle is not None:
                await handle.retire()
        elif key.startswith(ROLE_PREFIX):
            self._roles.pop(key[len(ROLE_PREFIX) :], None)

    async def _clean(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            await handle.retire()

    # -- rollback tick --------------------------------------------------------------------------

    async def _periodic(self, req: Request) -> None:
        if await self.is_performance_standby():
            return
        if self.admin_lock.locked():
            # rotate-root may owe the old admin key while requests still finish with it, and
            # both the retries and tidy delete owed keys: the next tick does the work.
            return
        await self.retry_owed_revocations(req.storage, req.mount_point)
        config = await self.get_config(req.storage)
        interval = config.tidy_interval if config else 0
        if (
            interval
            and time.monotonic() - self._last_tidy >= interval
            and not self.tidy_lock.locked()
        ):
            self._last_tidy = time.monotonic()
            try:
                report = await tidy(
                    self, req, dry_run=False, safety_buffer=limits.DEFAULT_SAFETY_BUFFER
                )
            except (Refusal, LogicalError) as exc:
                self.logger.warning("scheduled tidy failed: %s", getattr(exc, "message", exc))
            else:
                self.logger.info(
                    "scheduled tidy: %d keys of this mount, %d deleted, %d failed",
                    report.mount_keys,
                    report.deleted,
                    len(report.failed),
                )

    async def retry_owed_revocations(self, storage: Storage, mount_point: str) -> int:
        """Try again to delete keys whose revocation failed; returns how many are now gone."""
        tokens = await key_index.pending_tokens(storage)
        if not tokens:
            return 0
        config = await self.get_config(storage)
        if config is None:
            self.logger.warning("%d revocations are owed but there is no config", len(tokens))
            return 0
        # The admin key in use is never deleted, even if it was written back after a rotation.
        admin_token = hash_key(config.admin_key)
        done = 0
        for token in [t for t in tokens if t != admin_token][:OWED_PER_TICK]:
            try:
                async with self.proxy(config) as client:
                    await delete_tokens(client, [token])
            except (LiteLLMError, TimeoutError) as exc:
                owed = await key_index.read_pending(storage, token)
                await key_index.remember_failed_revocation(
                    storage,
                    token,
                    alias=owed.alias if owed else "",
                    role=owed.role if owed else "",
                    kind=owed.kind if owed else "key",
                    error=getattr(exc, "message", type(exc).__name__),
                )
                self.logger.warning("an owed revocation failed again: %s", exc)
                break  # the proxy is likely down: the next tick tries again
            await key_index.forget_key(storage, token)
            done += 1
        if done:
            self.logger.info("deleted %d keys whose revocation had failed", done)
        return done

    async def _roll_back(self, req: Request, kind: str, data: Any) -> None:
        if not isinstance(data, dict) or not key_index.is_token(data.get("token")):
            return  # nothing to undo: the entry is dropped
        if may_be_in_flight(data) or await self.is_performance_standby():
            raise RollbackDeferred()
        token = str(data["token"])
        if kind == ADMIN_KEY_WAL:
            await self.undo_admin_successor(req.storage, token, str(data.get("previous", "")))
            return
        if kind != KEY_WAL:
            raise LogicalError(f"unknown write-ahead entry kind {kind!r}")
        config = await self.get_config(req.storage)
        if config is None:
            raise LogicalError("cannot delete the key of an unfinished mint: no config")
        async with self.proxy(config) as client:
            await delete_tokens(client, [token])
        await key_index.forget_key(req.storage, token)

    async def roll_back_abandoned(self, req: Request) -> int:
        """Undo now the write-ahead entries of mints that can no longer finish (for tidy)."""
        done = 0
        async for entry in readable_wal(req.storage):
            try:
                await self._roll_back(req, entry.kind, entry.data)
            except RollbackDeferred:
                continue
            await delete_wal(req.storage, entry.id)
            done += 1
        return done


def factory() -> LiteLLMBackend:
    """A fresh engine per mount (what the plugin runtime calls)."""
    return LiteLLMBackend()
