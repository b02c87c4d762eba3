"""An in-process stand-in for the host, to unit-test backends without a server.

:class:`BackendHarness` drives any :class:`~vault_plugin_litellm.sdk.logical.LogicalBackend`
the way OpenBao does (docs/host-behaviour.md): ``setup`` then ``initialize``; ``resolve-path``
before routed requests; the existence check before writes, which picks ``create`` or
``update``; a trailing ``/`` on list paths; HTTP-like statuses for responses and errors;
leases registered, renewed and revoked with the host's TTL rules; rollback ticks; and an
unmount that revokes every lease and calls ``cleanup`` twice, as the host can.
"""

from __future__ import annotations

import builtins
import dataclasses
import logging
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self, cast

from vault_plugin_litellm.sdk.logical import (
    BackendConfig,
    BackendFactory,
    ErrType,
    InMemoryStorage,
    LogicalBackend,
    LogicalError,
    Operation,
    Request,
    Response,
    Secret,
    StaticSystemView,
    SystemView,
    make_backend,
    utcnow,
)

from .backend import Backend
from .lease import LeaseTTLError, calculate_ttl

# err_types whose text the host replaces with its own sentinel.
_SENTINELS = {
    ErrType.UNSUPPORTED_OPERATION: "unsupported operation",
    ErrType.UNSUPPORTED_PATH: "unsupported path",
    ErrType.INVALID_REQUEST: "invalid request",
    ErrType.PERMISSION_DENIED: "permission denied",
    ErrType.MULTI_AUTHZ_PENDING: "request needs further approval",
    ErrType.UNRECOVERABLE: "unrecoverable error",
}
_STATUS_BY_TEXT = {
    "permission denied": 403,
    "unsupported operation": 405,
    "unsupported path": 404,
    "invalid request": 400,
    "relative paths not supported": 400,
    "invalid credentials": 400,
}
# A revocation failing with these is not retried: the lease becomes irrevocable.
_IRREVOCABLE = frozenset(
    {
        ErrType.UNSUPPORTED_OPERATION,
        ErrType.UNSUPPORTED_PATH,
        ErrType.INVALID_REQUEST,
        ErrType.UNRECOVERABLE,
    }
)
_RESOLVED_OPERATIONS = frozenset(
    {Operation.READ, Operation.UPDATE, Operation.LIST, Operation.DELETE, Operation.HELP}
)


def error_status(error: LogicalError, *, with_response: bool = False) -> int:
    """The HTTP status the host gives an error (``sdk/logical/response_util.go``)."""
    text = _SENTINELS.get(error.err_type, error.message)
    status = 400 if with_response else 500
    if error.err_type is ErrType.STATUS_BAD_REQUEST:
        status = 400
    elif text in _STATUS_BY_TEXT:
        status = _STATUS_BY_TEXT[text]
    if error.err_type is ErrType.CODED_ERROR:
        status = error.code
    if "Vault is sealed" in text or "namespace is sealed" in text:
        status = 503
    return status


@dataclass(slots=True, kw_only=True)
class HarnessResponse:
    """What a client of the host would see, plus the raw backend answer."""

    status: int
    operation: Operation
    path: str
    data: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    secret: Secret | None = None
    lease_id: str = ""
    lease_duration: int = 0
    renewable: bool = False
    response: Response | None = None
    exception: LogicalError | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error(self) -> str:
        return self.errors[0] if self.errors else ""


@dataclass(slots=True, kw_only=True)
class HarnessLease:
    lease_id: str
    path: str
    data: dict[str, Any] | None
    secret: Secret
    issue_time: datetime
    expire_time: datetime
    renewed: bool = False
    irrevocable: bool = False


class BackendHarness:
    """Host emulation around one backend instance (one mount).

    ``clock`` replaces the wall clock for lease times (and for a framework backend's WAL
    ages); :meth:`advance` moves it. Unexpected exceptions (anything but a
    :class:`LogicalError`) propagate unless ``raise_unexpected`` is false, in which case
    they become a 500 as at the host.
    """

    def __init__(
        self,
        backend: LogicalBackend | BackendFactory,
        *,
        storage: InMemoryStorage | None = None,
        system_view: SystemView | None = None,
        config: Mapping[str, str] | None = None,
        mount_point: str = "test/",
        mount_type: str = "test",
        clock: Callable[[], datetime] | None = None,
        raise_unexpected: bool = True,
        send_resolve_path: bool = True,
    ) -> None:
        self._source = backend
        self.storage = storage or InMemoryStorage()
        self.system_view: SystemView = system_view or StaticSystemView()
        self.config = dict(config or {})
        self.mount_point = mount_point
        self.mount_type = mount_type
        self._clock = clock or utcnow
        self._offset = timedelta(0)
        self.raise_unexpected = raise_unexpected
        self.send_resolve_path = send_resolve_path
        self.leases: dict[str, HarnessLease] = {}
        self.logger = logging.getLogger("vault_plugin_litellm.sdk.framework.testing")
        self._backend: LogicalBackend | None = None

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def backend(self) -> LogicalBackend:
        if self._backend is None:
            raise RuntimeError("call start() first")
        return self._backend

    def now(self) -> datetime:
        return self._clock() + self._offset

    def advance(self, delta: timedelta) -> None:
        """Move the harness clock forward (leases expire, WAL entries age)."""
        self._offset += delta

    async def start(self) -> Self:
        """``setup`` then ``initialize``, as at mount time."""
        source = self._source
        backend: LogicalBackend
        # A class is a factory too, though it has the protocol's methods as attributes.
        if isinstance(source, LogicalBackend) and not isinstance(source, type):
            backend = source
        else:
            backend = await make_backend(cast(BackendFactory, source))
        if isinstance(backend, Backend):
            backend.clock = self.now  # WAL ages follow the harness clock
        await backend.setup(
            BackendConfig(
                storage=self.storage,
                system_view=self.system_view,
                logger=self.logger,
                config=dict(self.config),
                backend_uuid=str(uuid.uuid4()),
            )
        )
        await backend.initialize()
        self._backend = backend
        return self

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._backend is not None:
            await self._backend.cleanup()

    async def unmount(self) -> builtins.list[HarnessResponse]:
        """What disabling the mount does: a rollback, every lease revoked while the system
        view reports ``tainted``, ``cleanup`` (twice), and the storage wiped."""
        if isinstance(self.system_view, StaticSystemView):
            self.system_view.is_tainted = True
        await self.rollback()
        results = [await self.revoke(lease_id) for lease_id in list(self.leases)]
        await self.backend.cleanup()
        await self.backend.cleanup()
        every_key = self.storage.keys()
        for key in every_key:
            await self.storage.delete(key)
        return results

    # -- requests ---------------------------------------------------------------------------

    def _request(
        self, operation: Operation, path: str, data: Mapping[str, Any] | None, **kw: Any
    ) -> Request:
        return Request(
            operation=operation,
            path=path,
            data=dict(data or {}),
            storage=self.storage,
            mount_point=self.mount_point,
            mount_type=self.mount_type,
            **kw,
        )

    def _error(
        self, operation: Operation, path: str, exc: LogicalError, *, with_response: bool = False
    ) -> HarnessResponse:
        text = _SENTINELS.get(exc.err_type, exc.message)
        status = error_status(exc, with_response=with_response)
        return HarnessResponse(
            status=status, operation=operation, path=path, errors=[text], exception=exc
        )

    async def _call(self, req: Request) -> HarnessResponse | Response | None:
        """The backend's answer, or an error response for what it raised."""
        try:
            return await self.backend.handle_request(req)
        except LogicalError as exc:
            return self._error(req.operation, req.path, exc)
        except Exception as exc:
            if self.raise_unexpected:
                raise
            return HarnessResponse(
                status=500, operation=req.operation, path=req.path, errors=[repr(exc)]
            )

    async def _resolve(self, path: str, data: Mapping[str, Any] | None) -> tuple[str, str]:
        """Send ``resolve-path`` as OpenBao 2.7 does; returns (path, problem)."""
        req = self._request(Operation.RESOLVE_PATH, path, data)
        try:
            response = await self.backend.handle_request(req)
        except LogicalError as exc:
            if exc.err_type in (ErrType.UNSUPPORTED_OPERATION, ErrType.UNSUPPORTED_PATH):
                return path, ""
            return path, f"resolve-path failed: {exc.message}"
        if response is None or not response.data:
            return path, ""
        resolved = response.data.get("path")
        if not isinstance(resolved, str):
            return path, "resolve-path answered without a string path"
        return resolved, ""

    async def request(
        self,
        operation: Operation | str,
        path: str,
        data: Mapping[str, Any] | None = None,
        *,
        entity_id: str = "",
        unauthenticated: bool = False,
        headers: Mapping[str, list[str]] | None = None,
    ) -> HarnessResponse:
        """One client request. ``"write"``, ``create`` and ``update`` all go through the
        existence check, which decides between ``create`` and ``update``."""
        if isinstance(operation, str):
            operation = Operation.UPDATE if operation == "write" else Operation(operation)
        if operation is Operation.CREATE:
            operation = Operation.UPDATE
        if operation in (Operation.LIST, Operation.SCAN) and path and not path.endswith("/"):
            path += "/"
        if self.send_resolve_path and path and operation in _RESOLVED_OPERATIONS:
            path, problem = await self._resolve(path, data)
            if problem:
                return HarnessResponse(status=500, operation=operation, path=path, errors=[problem])
        extra: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "entity_id": entity_id,
            "unauthenticated": unauthenticated,
            "headers": dict(headers or {}),
            "client_token": secrets.token_hex(20),
        }
        req = self._request(operation, path, data, **extra)
        if operation is Operation.UPDATE:
            try:
                found, exists = await self.backend.handle_existence_check(req)
            except LogicalError as exc:
                if exc.err_type is ErrType.USER_ERROR:
                    return HarnessResponse(
                        status=400, operation=operation, path=path, errors=[exc.message]
                    )
                if exc.err_type is not ErrType.UNSUPPORTED_PATH:
                    return HarnessResponse(
                        status=500, operation=operation, path=path, errors=["internal error"]
                    )
                found, exists = False, False
            if found and not exists:
                req.operation = Operation.CREATE
        answer = await self._call(req)
        if isinstance(answer, HarnessResponse):
            return answer
        return await self._respond(req, answer)

    async def _respond(self, req: Request, response: Response | None) -> HarnessResponse:
        operation = req.operation
        base = HarnessResponse(status=200, operation=operation, path=req.path, response=response)
        if response is None:
            base.status = (
                404 if operation in (Operation.READ, Operation.HEADER, Operation.LIST) else 204
            )
            return base
        base.data = response.data
        base.warnings = list(response.warnings)
        if response.is_error():
            assert response.data is not None
            base.status = 400
            base.errors = [response.data["error"]]
            return base
        if operation is Operation.LIST and response.wrap_info is None:
            base.status = _list_status(response)
            if base.status != 200:
                return base
        if response.redirect:
            base.status = 307
        if response.secret is not None:
            await self._register_lease(req, response, base)
        return base

    async def _register_lease(self, req: Request, response: Response, out: HarnessResponse) -> None:
        secret = response.secret
        assert secret is not None
        if req.unauthenticated:
            out.status, out.errors = 500, ["internal error"]
            return
        now = self.now()
        try:
            ttl, warnings = await calculate_ttl(
                self.system_view,
                backend_ttl=secret.lease_options.ttl,
                backend_max_ttl=secret.lease_options.max_ttl,
                now=now,
            )
        except LeaseTTLError as exc:
            out.status, out.errors = 500, [exc.message]
            return
        lease_id = f"{self.mount_point}{req.path}/{secrets.token_urlsafe(18)}"
        # The runtime stamps a missing issue time with the current time on its way to the
        # host (sdk.plugin.translate), so here it is the harness clock's.
        options = secret.lease_options
        issued = options.issue_time or now
        stored = dataclasses.replace(
            secret, lease_options=dataclasses.replace(options, ttl=ttl, issue_time=issued)
        )
        self.leases[lease_id] = HarnessLease(
            lease_id=lease_id,
            path=req.path,
            data=response.data,
            secret=stored,
            issue_time=now,
            expire_time=now + ttl,
        )
        out.secret = stored
        out.lease_id = lease_id
        out.lease_duration = int(ttl.total_seconds())
        out.renewable = stored.lease_options.renewable
        out.warnings.extend(warnings)

    async def read(
        self, path: str, data: Mapping[str, Any] | None = None, **kw: Any
    ) -> HarnessResponse:
        return await self.request(Operation.READ, path, data, **kw)

    async def write(
        self, path: str, data: Mapping[str, Any] | None = None, **kw: Any
    ) -> HarnessResponse:
        return await self.request(Operation.UPDATE, path, data, **kw)

    async def patch(
        self, path: str, data: Mapping[str, Any] | None = None, **kw: Any
    ) -> HarnessResponse:
        return await self.request(Operation.PATCH, path, data, **kw)

    async def delete(
        self, path: str, data: Mapping[str, Any] | None = None, **kw: Any
    ) -> HarnessResponse:
        return await self.request(Operation.DELETE, path, data, **kw)

    async def list(
        self, path: str, data: Mapping[str, Any] | None = None, **kw: Any
    ) -> HarnessResponse:
        return await self.request(Operation.LIST, path, data, **kw)

    async def help(self, path: str = "", data: Mapping[str, Any] | None = None) -> HarnessResponse:
        return await self.request(Operation.HELP, path.rstrip("/"), data)

    # -- leases and ticks -------------------------------------------------------------------

    def _lease_request(
        self, operation: Operation, lease: HarnessLease, increment: timedelta
    ) -> Request:
        options = dataclasses.replace(
            lease.secret.lease_options, increment=increment, issue_time=lease.issue_time
        )
        secret = dataclasses.replace(
            lease.secret,
            lease_options=options,
            internal_data=dict(lease.secret.internal_data),
            # The host sends the lease id only once the lease has been renewed (observed).
            lease_id=lease.lease_id if lease.renewed else "",
        )
        return self._request(operation, lease.path, lease.data, secret=secret)

    async def renew(self, lease_id: str, increment: timedelta | int = 0) -> HarnessResponse:
        """``sys/leases/renew``: the backend's renew answer, capped by the host's TTL rules."""
        if isinstance(increment, int):
            increment = timedelta(seconds=increment)
        lease = self.leases.get(lease_id)
        now = self.now()
        if lease is None or lease.expire_time <= now:
            return HarnessResponse(
                status=400, operation=Operation.RENEW, path="", errors=["lease not found"]
            )
        if not lease.secret.lease_options.renewable:
            return HarnessResponse(
                status=400,
                operation=Operation.RENEW,
                path=lease.path,
                errors=["lease is not renewable"],
            )
        req = self._lease_request(Operation.RENEW, lease, increment)
        answer = await self._call(req)
        if isinstance(answer, HarnessResponse):
            return answer
        out = HarnessResponse(
            status=200, operation=Operation.RENEW, path=lease.path, response=answer
        )
        if answer is not None and answer.is_error():
            assert answer.data is not None
            out.status, out.errors = 400, [answer.data["error"]]
            return out
        if answer is None or answer.secret is None:
            out.status = 204  # the lease is not extended
            return out
        out.warnings = list(answer.warnings)
        out.data = answer.data
        options = answer.secret.lease_options
        try:
            ttl, warnings = await calculate_ttl(
                self.system_view,
                increment=increment,
                backend_ttl=options.ttl,
                backend_max_ttl=options.max_ttl,
                start_time=lease.issue_time,
                now=now,
            )
        except LeaseTTLError as exc:
            out.status, out.errors = 400, [exc.message]
            return out
        lease.secret = dataclasses.replace(
            answer.secret, lease_options=dataclasses.replace(options, ttl=ttl)
        )
        lease.data = answer.data
        lease.expire_time = now + ttl
        lease.renewed = True
        out.secret = lease.secret
        out.lease_id = lease_id
        out.lease_duration = int(ttl.total_seconds())
        out.renewable = options.renewable
        out.warnings.extend(warnings)
        return out

    async def revoke(self, lease_id: str) -> HarnessResponse:
        """Revoke a lease through the backend; on failure the lease stays (the host retries,
        or gives up at once for err_types 5, 6, 7 and 10, marking it irrevocable)."""
        lease = self.leases.get(lease_id)
        if lease is None:
            return HarnessResponse(
                status=400, operation=Operation.REVOKE, path="", errors=["lease not found"]
            )
        req = self._lease_request(Operation.REVOKE, lease, timedelta(0))
        answer = await self._call(req)
        if isinstance(answer, HarnessResponse):
            if answer.exception is not None and answer.exception.err_type in _IRREVOCABLE:
                lease.irrevocable = True
            return answer
        out = HarnessResponse(
            status=204, operation=Operation.REVOKE, path=lease.path, response=answer
        )
        if answer is not None and answer.is_error():
            assert answer.data is not None
            out.status, out.errors = 400, [answer.data["error"]]
            return out
        del self.leases[lease_id]
        return out

    async def expire(self) -> builtins.list[HarnessResponse]:
        """Revoke every lease whose TTL has run out at the harness clock."""
        now = self.now()
        due = [
            lease.lease_id
            for lease in self.leases.values()
            if lease.expire_time <= now and not lease.irrevocable
        ]
        return [await self.revoke(lease_id) for lease_id in due]

    async def rollback(self, *, immediate: bool = False) -> HarnessResponse:
        """One rollback tick (``immediate`` asks for every WAL entry, whatever its age)."""
        req = self._request(Operation.ROLLBACK, "", {"immediate": True} if immediate else None)
        answer = await self._call(req)
        if isinstance(answer, HarnessResponse):
            return answer
        return await self._respond(req, answer)

    async def invalidate(self, key: str) -> None:
        await self.backend.invalidate_key(key)


def _list_status(response: Response) -> int:
    """The host's rule for list answers: no keys (or no data at all) is a 404."""
    data = response.data or {}
    if not data:
        return 200 if response.warnings else 404
    keys = data.get("keys")
    if keys is None:
        return 200
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
        return 500
    return 200 if keys else 404
