"""A :class:`~vault_plugin_litellm.sdk.logical.LogicalBackend` assembled from declared paths.

:class:`Backend` does what Go's ``framework.Backend`` does for Go plugins: routes requests
to paths, converts and validates fields, adds the standard warnings, answers ``help`` with
text and OpenAPI, dispatches renew/revoke by secret type, and runs the periodic function
and WAL rollback on the host's rollback tick.

Two things the host relies on are handled here once for every backend:

- ``resolve-path`` (OpenBao >= 2.7, sent before most requests) is answered with
  "unsupported operation", the one reply that leaves the request untouched; any other
  error would make every request on the mount fail.
- ``help`` on the mount root never fails and always carries an ``openapi`` object; an
  error there would break the server's whole OpenAPI document.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from vault_plugin_litellm.sdk.logical import (
    NO_STORAGE,
    READ_ONLY_STORAGE,
    BackendConfig,
    BackendType,
    LogicalError,
    Operation,
    Request,
    Response,
    SpecialPaths,
    Storage,
    SystemView,
    UnsupportedOperationError,
    UnsupportedPathError,
    UserError,
    error_response,
    utcnow,
)

from .field_data import FieldData, FieldValidationError
from .help import path_help, root_help
from .openapi import api_title, document_backend, document_path, new_document
from .path import Path
from .router import CompiledPath, Router
from .secret import SECRET_TYPE_KEY, SecretType
from .special_paths import validate_special_paths
from .wal import DEFAULT_MIN_AGE, WALRollbackFunc, failure_text, rollback_wal

PeriodicFunc = Callable[[Request], Awaitable[None]]
"""Runs on every rollback tick (about once a minute per mount); raise to report a failure."""

InitializeFunc = Callable[[Storage], Awaitable[None]]
"""Runs once the mount's storage is writable (after ``setup``); an error fails the mount."""

CleanupFunc = Callable[[], Awaitable[None]]
InvalidateFunc = Callable[[str], Awaitable[None]]

_PERFORMANCE_SECONDARY = 1 << 6
_PERFORMANCE_STANDBY = 1 << 14

_IGNORED_WARNING = "Endpoint ignored these unrecognized parameters: "
_REPLACED_WARNING = (
    "Endpoint replaced the value of these parameters with the values captured from the "
    "endpoint's path: "
)


def _go_list(items: list[str]) -> str:
    """A string list the way Go's ``%v`` prints it: ``[a b]``."""
    return "[" + " ".join(items) + "]"


def join_errors(messages: list[str]) -> str:
    """Several failures as one message, in go-multierror's layout (which operators know)."""
    if len(messages) == 1:
        return messages[0]
    body = "".join(f"\n\t* {message}" for message in messages)
    return f"{len(messages)} errors occurred:{body}\n\n"


class Backend:
    """A backend made of paths and secret types; subclass it or use it as it is.

    ``wal_rollback_min_age`` is how old a WAL entry must be before rollback touches it
    (zero means Go's 10 minutes); make it longer than the slowest legitimate operation.
    ``clock`` is consulted for WAL ages and may be replaced in tests; write entries with
    ``put_wal(..., clock=self.clock)`` so that they are stamped by the same clock.

    ``special_paths`` are checked here by the host's rules (a misplaced wildcard makes
    OpenBao refuse the mount), and a failed periodic function or WAL rollback reports only
    :class:`LogicalError` messages to the host; other exceptions go to the log.
    """

    def __init__(
        self,
        *,
        help_text: str = "",
        paths: Sequence[Path] = (),
        secrets: Sequence[SecretType] = (),
        special_paths: SpecialPaths | None = None,
        backend_type: BackendType = BackendType.LOGICAL,
        initialize: InitializeFunc | None = None,
        periodic: PeriodicFunc | None = None,
        wal_rollback: WALRollbackFunc | None = None,
        wal_rollback_min_age: timedelta = timedelta(0),
        clean: CleanupFunc | None = None,
        invalidate: InvalidateFunc | None = None,
        running_version: str = "",
        openapi_title: str | None = None,
    ) -> None:
        self.help_text = help_text
        self.paths: tuple[Path, ...] = tuple(paths)
        self.router = Router(self.paths)
        self.secrets: dict[str, SecretType] = {}
        for secret in secrets:
            if secret.type in self.secrets:
                raise ValueError(f"secret type {secret.type!r} is declared twice")
            self.secrets[secret.type] = secret
        # Internals use mangled names: backends subclass this and name their own handlers
        # _rollback, _periodic, ...; mangling keeps those from replacing the framework's.
        self.__special_paths = special_paths or SpecialPaths()
        validate_special_paths(self.__special_paths)
        self.__type = backend_type
        self.__initialize = initialize
        self.__periodic = periodic
        self.__wal_rollback = wal_rollback
        self.wal_rollback_min_age = wal_rollback_min_age
        self.__clean = clean
        self.__invalidate = invalidate
        self.running_version = running_version
        self.openapi_title = openapi_title
        self.clock: Callable[[], datetime] = utcnow

        self.system_view: SystemView | None = None
        self.storage: Storage = NO_STORAGE
        self.logger = logging.getLogger(type(self).__module__)
        self.config: dict[str, str] = {}
        self.backend_uuid = ""
        self.__cleaned = False
        self.__server_version: str | None = None
        self.__openapi_cache: dict[tuple[int, str], str] = {}

    # -- LogicalBackend -------------------------------------------------------------------

    async def setup(self, config: BackendConfig) -> None:
        self.system_view = config.system_view
        self.storage = config.storage
        self.logger = config.logger
        self.config = dict(config.config)
        self.backend_uuid = config.backend_uuid
        self.__cleaned = False

    def backend_type(self) -> BackendType:
        return self.__type

    def special_paths(self) -> SpecialPaths:
        return copy.deepcopy(self.__special_paths)

    def plugin_version(self) -> str:
        return self.running_version

    async def initialize(self) -> None:
        if self.__initialize is not None:
            await self.__initialize(self.storage)

    async def invalidate_key(self, key: str) -> None:
        if self.__invalidate is not None:
            await self.__invalidate(key)

    async def cleanup(self) -> None:
        """Runs the clean hook once; the host may call Cleanup twice for one mount."""
        if self.__cleaned:
            return
        self.__cleaned = True
        if self.__clean is not None:
            await self.__clean()

    async def handle_existence_check(self, req: Request) -> tuple[bool, bool]:
        if req.operation not in (Operation.CREATE, Operation.UPDATE):
            raise LogicalError(
                f"incorrect operation type {req.operation.value} for an existence check"
            )
        routed = self.router.route(req.path)
        if routed is None:
            raise UnsupportedPathError()
        compiled, captures = routed
        check = compiled.path.existence_check
        if check is None:
            return False, False
        data = FieldData({**req.data, **captures}, compiled.path.fields)
        try:
            data.validate()
        except FieldValidationError as exc:
            raise UserError(str(exc)) from None
        return True, await check(req, data)

    async def handle_request(self, req: Request) -> Response | None:
        operation = req.operation
        if operation is Operation.RESOLVE_PATH:
            raise UnsupportedOperationError()
        if operation is Operation.RENEW or operation is Operation.REVOKE:
            return await self.__renew_or_revoke(req)
        if operation is Operation.ROLLBACK:
            return await self.__rollback(req)
        if operation is Operation.HELP and req.path == "":
            return await self.__root_help(req)

        routed = self.router.route(req.path)
        if routed is None:
            raise UnsupportedPathError()
        compiled, captures = routed
        path = compiled.path
        handler = path.handlers.get(operation)
        if handler is None:
            if operation is Operation.HELP:
                return await self.__path_help(req, compiled)
            raise UnsupportedOperationError()
        if (
            handler.forward_performance_standby or handler.forward_performance_secondary
        ) and not handler.callback_checks_forwarding:
            await self.refuse_on_performance_nodes(
                standby=handler.forward_performance_standby,
                secondary=handler.forward_performance_secondary,
            )

        fields = path.fields
        ignored: list[str] = []
        replaced: list[str] = []
        raw = req.data
        if raw:
            if not path.takes_arbitrary_input:
                ignored = [key for key in raw if key not in fields]
            if captures:
                replaced = [key for key in captures if raw.get(key) is not None]
                raw = {**raw, **captures}  # a new dict: the request's data stays as sent
        else:
            raw = captures
        data = FieldData(raw, fields)
        if operation is not Operation.HELP:
            try:
                data.validate()
            except FieldValidationError as exc:
                return error_response(f"Field validation failed: {exc}")

        response = await handler.callback(req, data)
        if response is not None and (ignored or replaced):
            warnings = list(response.warnings)
            if ignored:
                warnings.append(_IGNORED_WARNING + _go_list(sorted(ignored)))
            if replaced:
                warnings.append(_REPLACED_WARNING + _go_list(sorted(replaced)))
            # A copy, so that a handler may return a shared, prebuilt response.
            response = dataclasses.replace(response, warnings=warnings)
        return response

    # -- helpers for backends ---------------------------------------------------------------

    def route(self, path: str) -> Path | None:
        """The declared path a request path would be routed to."""
        routed = self.router.route(path)
        return None if routed is None else routed[0].path

    def secret(self, kind: str) -> SecretType | None:
        return self.secrets.get(kind)

    async def refuse_on_performance_nodes(
        self, *, standby: bool = True, secondary: bool = True
    ) -> None:
        """Raise the host's read-only error on a performance standby (``standby``) or, for a
        mount that is not local, a performance secondary (``secondary``): the host then
        forwards the request to the active node. The framework runs it before the callback of
        a forwarded operation, unless the operation declares ``callback_checks_forwarding``:
        then the callback calls it, before any side effect outside storage."""
        system_view = self.system_view
        if system_view is None:
            return
        state = await system_view.replication_state()
        if standby and state & _PERFORMANCE_STANDBY:
            raise LogicalError(READ_ONLY_STORAGE)
        if secondary and state & _PERFORMANCE_SECONDARY and not await system_view.local_mount():
            raise LogicalError(READ_ONLY_STORAGE)

    # -- internals --------------------------------------------------------------------------

    async def __renew_or_revoke(self, req: Request) -> Response | None:
        if req.secret is None:
            raise LogicalError("request has no secret")
        kind = req.secret.internal_data.get(SECRET_TYPE_KEY)
        secret = self.secrets.get(kind) if isinstance(kind, str) else None
        if secret is None:
            raise LogicalError("secret is unsupported by this backend")
        if req.operation is Operation.RENEW:
            return await secret.handle_renew(req)
        return await secret.handle_revoke(req)

    async def __rollback(self, req: Request) -> Response | None:
        failures: list[str] = []
        if self.__periodic is not None:
            try:
                await self.__periodic(req)
            except LogicalError as exc:
                failures.append(exc.message)
            except Exception as exc:
                self.logger.exception("periodic function failed")
                failures.append(f"periodic function failed: {failure_text(exc)}")
        response: Response | None = None
        if self.__wal_rollback is not None:
            min_age = self.wal_rollback_min_age or DEFAULT_MIN_AGE
            try:
                wal_failures = await rollback_wal(
                    req,
                    self.__wal_rollback,
                    min_age=min_age,
                    now=self.clock().timestamp(),
                    logger=self.logger,
                )
            except Exception as exc:
                self.logger.exception("listing WAL entries failed")
                wal_failures = [f"error listing WAL entries: {failure_text(exc)}"]
            if wal_failures:
                # The host ignores error responses on rollback, so say it in the log too.
                self.logger.warning("WAL rollback failed: %s", "; ".join(wal_failures))
                response = error_response(join_errors(wal_failures))
        if failures:
            raise LogicalError(join_errors(failures))
        return response

    async def __server_version_string(self) -> str:
        if self.__server_version is not None:
            return self.__server_version
        if self.system_view is None:
            return "unknown"
        try:
            env = await self.system_view.plugin_env()
        except Exception:
            self.logger.warning("could not read the plugin environment for OpenAPI", exc_info=True)
            return "unknown"
        self.__server_version = env.vault_version or "unknown"
        return self.__server_version

    def __new_document(self, version: str) -> dict[str, Any]:
        return new_document(version, self.openapi_title or api_title(version))

    async def __openapi(self, key: int, prefix: str) -> dict[str, Any]:
        """The OpenAPI document of one path (``key`` = its index) or the whole backend
        (``key`` = -1), built once per prefix: help must stay cheap.

        The cache holds the JSON text, and every caller gets a fresh document decoded from
        it (several times faster than a deep copy), so that changing one answer never
        changes later ones. The transport encodes the same way, so nothing is lost.
        """
        cached = self.__openapi_cache.get((key, prefix))
        if cached is not None:
            result: dict[str, Any] = json.loads(cached)
            return result
        version = await self.__server_version_string()
        doc = self.__new_document(version)
        if key < 0:
            document_backend(self.router.compiled, self.__special_paths, prefix, self.__type, doc)
        else:
            compiled = self.router.compiled[key]
            document_path(compiled, self.__special_paths, prefix, self.__type, doc)
        if version != "unknown":
            try:
                self.__openapi_cache[(key, prefix)] = json.dumps(doc, allow_nan=False)
            except (TypeError, ValueError):
                # Not JSON (e.g. an example holding a datetime): the transport will say so;
                # in process the document is simply rebuilt each time.
                self.logger.warning("the OpenAPI document is not JSON-serialisable")
        return doc

    @staticmethod
    def __prefix(req: Request) -> str:
        prefix = req.data.get("requestResponsePrefix")
        return prefix if isinstance(prefix, str) else ""

    async def __root_help(self, req: Request) -> Response:
        text = ""
        try:
            text = root_help(self.help_text, self.router.compiled)
            doc = await self.__openapi(-1, self.__prefix(req))
        except Exception:
            self.logger.exception("building the root help failed")
            doc = self.__new_document("unknown")
        return Response(data={"help": text, "see_also": None, "openapi": doc})

    async def __path_help(self, req: Request, compiled: CompiledPath) -> Response:
        text = path_help(req.path, compiled)
        doc = await self.__openapi(compiled.index, self.__prefix(req))
        return Response(data={"help": text, "see_also": None, "openapi": doc})
