"""``pb.Backend``: one backend instance per mount, driven by the host's RPCs.

Every ``pb.Backend`` call carries the ``multiplex_id`` of the mount it is for. Each id gets its
own instance with its own broker connection, so storage stays isolated between mounts that
share this process. ``Cleanup`` arrives twice on unmount and must be harmless the second time;
an id we do not know is never mapped to some other instance.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from dataclasses import dataclass
from typing import cast

from vault_plugin_proto.pb import backend_pb2 as pb

from ..goplugin import Broker, BrokerError
from ..grpc import Channel, RpcError, Server, ServerContext, StatusCode
from ..logical import (
    BackendConfig,
    BackendFactory,
    BadRequestError,
    LogicalBackend,
    LogicalError,
    Operation,
    UnsupportedOperationError,
    UserError,
    make_backend,
)
from .storage_client import GrpcStorage
from .system_view_client import GrpcSystemView
from .translate import error_to_proto, plain_error, request_from_proto, response_to_proto

log = logging.getLogger(__name__)

MULTIPLEX_ID = "multiplex_id"


@dataclass(slots=True)
class _Instance:
    backend: LogicalBackend
    conn: Channel
    storage: GrpcStorage


def load_factory(spec: BackendFactory | str) -> BackendFactory:
    """A factory, or ``"module:attribute"`` imported on first use.

    Naming the factory by string keeps heavy imports out of start-up: the host waits for the
    handshake line, not for the backend, which it needs only at ``Setup``.
    """
    if not isinstance(spec, str):
        return spec
    module, _, attr = spec.partition(":")
    return cast(BackendFactory, getattr(importlib.import_module(module), attr))


class BackendService:
    def __init__(self, factory: BackendFactory | str, broker: Broker) -> None:
        self._factory_spec = factory
        self._broker = broker
        self._instances: dict[str, _Instance] = {}
        self._log = logging.getLogger("backend")

    def register(self, server: Server) -> None:
        add = server.add_unary
        add("/pb.Backend/Setup", pb.SetupArgs, self.setup)
        add("/pb.Backend/Type", pb.Empty, self.type)
        add("/pb.Backend/SpecialPaths", pb.Empty, self.special_paths)
        add("/pb.Backend/Initialize", pb.InitializeArgs, self.initialize)
        add("/pb.Backend/HandleRequest", pb.HandleRequestArgs, self.handle_request)
        add("/pb.Backend/HandleExistenceCheck", pb.HandleExistenceCheckArgs, self.existence_check)
        add("/pb.Backend/InvalidateKey", pb.InvalidateKeyArgs, self.invalidate_key)
        add("/pb.Backend/Cleanup", pb.Empty, self.cleanup)

    @property
    def instance_count(self) -> int:
        return len(self._instances)

    @staticmethod
    def _id(ctx: ServerContext) -> str:
        mux_id = ctx.metadata.get(MULTIPLEX_ID)
        if not mux_id:
            raise RpcError(StatusCode.UNKNOWN, "no multiplexing ID found")
        return mux_id

    def _instance(self, ctx: ServerContext) -> _Instance:
        inst = self._instances.get(self._id(ctx))
        if inst is None:
            raise RpcError(StatusCode.UNKNOWN, "no backend instance found")
        return inst

    async def _make_backend(self) -> LogicalBackend:
        factory = load_factory(self._factory_spec)
        self._factory_spec = factory
        return await make_backend(factory)

    # -- lifecycle RPCs --------------------------------------------------------------------
    async def setup(self, args: pb.SetupArgs, ctx: ServerContext) -> pb.SetupReply:
        mux_id = self._id(ctx)
        try:
            conn = await self._broker.dial(args.broker_id)
        except BrokerError as exc:
            return pb.SetupReply(err=str(exc))
        storage = GrpcStorage(conn)
        config = BackendConfig(
            storage=storage,
            system_view=GrpcSystemView(conn),
            logger=self._log,
            config=dict(args.Config),
            backend_uuid=args.backendUUID,
        )
        try:
            backend = await self._make_backend()
            await backend.setup(config)
        except Exception as exc:
            conn.close()
            log.exception("backend setup failed")
            return pb.SetupReply(err=str(exc) or type(exc).__name__)
        old = self._instances.pop(mux_id, None)
        self._instances[mux_id] = _Instance(backend, conn, storage)
        if old is not None:  # a repeated Setup replaces the instance; close what it held
            await self._close(old)
        return pb.SetupReply()

    async def type(self, args: pb.Empty, ctx: ServerContext) -> pb.TypeReply:
        return pb.TypeReply(type=int(self._instance(ctx).backend.backend_type()))

    async def special_paths(self, args: pb.Empty, ctx: ServerContext) -> pb.SpecialPathsReply:
        paths = self._instance(ctx).backend.special_paths()
        return pb.SpecialPathsReply(
            paths=pb.Paths(
                root=paths.root,
                unauthenticated=paths.unauthenticated,
                local_storage=paths.local_storage,
                seal_wrap_storage=paths.seal_wrap_storage,
                write_forwarded_storage=paths.write_forwarded_storage,
            )
        )

    async def initialize(self, args: pb.InitializeArgs, ctx: ServerContext) -> pb.InitializeReply:
        inst = self._instance(ctx)
        try:
            await inst.backend.initialize()
        except LogicalError as exc:
            return pb.InitializeReply(err=error_to_proto(exc))
        except Exception as exc:
            log.exception("backend initialize failed")
            return pb.InitializeReply(err=plain_error(str(exc) or type(exc).__name__))
        return pb.InitializeReply()

    async def invalidate_key(self, args: pb.InvalidateKeyArgs, ctx: ServerContext) -> pb.Empty:
        inst = self._instance(ctx)
        try:
            await inst.backend.invalidate_key(args.key)
        except Exception:
            log.exception("invalidating %s failed", args.key)
        return pb.Empty()

    async def cleanup(self, args: pb.Empty, ctx: ServerContext) -> pb.Empty:
        inst = self._instances.pop(ctx.metadata.get(MULTIPLEX_ID, ""), None)
        if inst is not None:
            await self._close(inst)
        return pb.Empty()

    async def _close(self, inst: _Instance) -> None:
        try:
            await inst.backend.cleanup()
        except Exception:
            log.exception("backend cleanup failed")
        finally:
            inst.conn.close()

    async def close_all(self) -> None:
        instances, self._instances = list(self._instances.values()), {}
        await asyncio.gather(*(self._close(inst) for inst in instances))

    # -- requests --------------------------------------------------------------------------
    async def handle_request(
        self, args: pb.HandleRequestArgs, ctx: ServerContext
    ) -> pb.HandleRequestReply:
        inst = self._instance(ctx)
        operation = Operation.parse(args.request.operation)
        try:
            if operation is None:
                raise UnsupportedOperationError()
            req = request_from_proto(args.request, operation)
            req.storage = inst.storage
            resp = await inst.backend.handle_request(req)
        except LogicalError as exc:
            return pb.HandleRequestReply(err=error_to_proto(exc))
        except Exception as exc:
            return pb.HandleRequestReply(err=self._unexpected(exc, args.request))
        if resp is None:
            return pb.HandleRequestReply()
        try:
            return pb.HandleRequestReply(response=response_to_proto(resp))
        except (TypeError, ValueError) as exc:
            return pb.HandleRequestReply(err=self._unexpected(exc, args.request))

    async def existence_check(
        self, args: pb.HandleExistenceCheckArgs, ctx: ServerContext
    ) -> pb.HandleExistenceCheckReply:
        inst = self._instance(ctx)
        operation = Operation.parse(args.request.operation) or Operation.UPDATE
        try:
            req = request_from_proto(args.request, operation)
            req.storage = inst.storage
            found, exists = await inst.backend.handle_existence_check(req)
        except BadRequestError as exc:
            # From an existence check only a UserError is a 400; the host answers any other
            # error type with 500 "internal error" (docs/host-behaviour.md §4).
            return pb.HandleExistenceCheckReply(err=error_to_proto(UserError(exc.message)))
        except LogicalError as exc:
            return pb.HandleExistenceCheckReply(err=error_to_proto(exc))
        except Exception as exc:
            return pb.HandleExistenceCheckReply(err=self._unexpected(exc, args.request))
        return pb.HandleExistenceCheckReply(check_found=found, exists=exists)

    @staticmethod
    def _unexpected(exc: Exception, req: pb.Request) -> pb.ProtoError:
        # The traceback goes to the log; the caller gets no text that might carry a secret.
        log.error(
            "unexpected error handling %s %s",
            req.operation,
            req.path,
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        return plain_error(f"internal error in the plugin ({type(exc).__name__}); see its log")
