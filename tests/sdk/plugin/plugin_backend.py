"""A tiny secrets engine served by the real plugin runtime, for the fake-host tests.

Paths: ``kv/<key>`` (read, create/update, delete; ``kv/`` lists), ``config`` (what Setup gave
this instance), ``ttl`` (the mount's default lease TTL from the system view), ``lease`` (a
leased secret), ``bad`` (a 400), ``crash`` (an unexpected exception), ``nan`` (data JSON cannot
carry). ``SDK_TEST_BROKER_DEADLINE`` shortens the wait for the host's broker stream.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta

from vault_plugin_litellm.sdk.goplugin import runner
from vault_plugin_litellm.sdk.logical import (
    BackendConfig,
    BackendType,
    BadRequestError,
    LeaseOptions,
    Operation,
    Request,
    Response,
    Secret,
    SpecialPaths,
    StorageError,
    SystemView,
    UnsupportedOperationError,
    UnsupportedPathError,
    get_json,
    list_response,
    put_json,
)
from vault_plugin_litellm.sdk.plugin import serve


class TinyBackend:
    def __init__(self) -> None:
        self.config: dict[str, str] = {}
        self.uuid = ""
        self.setup_storage = ""
        self.invalidated: list[str] = []
        self.system_view: SystemView | None = None

    async def setup(self, config: BackendConfig) -> None:
        if config.config.get("fail_setup"):
            raise RuntimeError("setup refused by the backend")
        self.config = dict(config.config)
        self.uuid = config.backend_uuid
        self.system_view = config.system_view
        # Registration probes give a storage that fails: Setup must survive it.
        try:
            self.setup_storage = repr(await get_json(config.storage, "kv/at-setup"))
        except StorageError as exc:
            self.setup_storage = f"error: {exc.message}"

    def backend_type(self) -> BackendType:
        return BackendType.LOGICAL

    def special_paths(self) -> SpecialPaths:
        return SpecialPaths(root=["root/*"], unauthenticated=["login"])

    async def initialize(self) -> None:
        pass

    async def handle_request(self, req: Request) -> Response | None:
        op, path = req.operation, req.path
        if op == Operation.RESOLVE_PATH:
            raise UnsupportedOperationError()
        if path.startswith("kv/"):
            key = path.removeprefix("kv/")
            if op == Operation.LIST:
                return list_response(await req.storage.list(path))
            if op == Operation.READ:
                value = await get_json(req.storage, path)
                return None if value is None else Response(data=value)
            if op in (Operation.CREATE, Operation.UPDATE):
                await put_json(req.storage, path, req.data)
                return None
            if op == Operation.DELETE and key:
                await req.storage.delete(path)
                return None
        if path == "config" and op == Operation.READ:
            data = {"config": self.config, "uuid": self.uuid, "setup_storage": self.setup_storage}
            return Response(data={**data, "invalidated": self.invalidated})
        if path == "ttl" and op == Operation.READ:
            assert self.system_view is not None
            ttl = await self.system_view.default_lease_ttl()
            return Response(data={"seconds": ttl.total_seconds()})
        if path == "lease" and op == Operation.READ:
            options = LeaseOptions(
                ttl=timedelta(seconds=90), max_ttl=timedelta(hours=1), renewable=True
            )
            secret = Secret(lease_options=options, internal_data={"secret_type": "t", "n": 1})
            return Response(data={"token": "t-1"}, secret=secret)
        if op == Operation.RENEW and req.secret is not None:
            return Response(secret=req.secret)
        if path == "bad":
            raise BadRequestError("field 'x' must be a number")
        if path == "crash":
            raise RuntimeError("boom with sk-leakedkey123")
        if path == "nan":
            return Response(data={"x": float("nan")})
        raise UnsupportedPathError()

    async def handle_existence_check(self, req: Request) -> tuple[bool, bool]:
        if not req.path.startswith("kv/"):
            return False, False
        return True, await req.storage.get(req.path) is not None

    async def invalidate_key(self, key: str) -> None:
        self.invalidated.append(key)

    async def cleanup(self) -> None:
        pass


if __name__ == "__main__":
    if deadline := os.environ.get("SDK_TEST_BROKER_DEADLINE"):
        runner.BROKER_STREAM_DEADLINE = float(deadline)
    sys.exit(serve(TinyBackend, version="v1.2.3"))
