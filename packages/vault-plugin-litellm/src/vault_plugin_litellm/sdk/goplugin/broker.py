"""go-plugin's broker: the host announces listeners on a stream, the plugin dials them.

For every mount the host opens a listener serving ``pb.Storage`` and ``pb.SystemView`` and
announces it as ``ConnInfo{service_id, network, address}`` on the ``StartStream`` stream,
before or after the ``Setup`` that names it. Announcements are kept from the moment the stream
opens so ``dial`` finds them in either order.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from vault_plugin_proto.goplugin import grpc_broker_pb2

from ..grpc import Channel, ClientConnection, ServerContext, connect_tcp, connect_unix
from ..grpc.limits import BROKER_CHANNEL_LIMITS
from .tls import HOSTNAME

log = logging.getLogger(__name__)

DIAL_TIMEOUT = 5.0  # what Go plugins wait for a ConnInfo before failing Setup


class BrokerError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class ConnInfo:
    service_id: int
    network: str
    address: str


class Broker:
    def __init__(
        self, ssl_context: ssl.SSLContext | None, on_stream_end: Callable[[], None] | None = None
    ) -> None:
        self._ssl = ssl_context
        self._known: dict[int, ConnInfo] = {}
        self._waiters: dict[int, asyncio.Future[ConnInfo]] = {}
        self._on_stream_end = on_stream_end
        self.stream_opened = asyncio.Event()

    def _waiter(self, service_id: int) -> asyncio.Future[ConnInfo]:
        fut = self._waiters.get(service_id)
        if fut is None or (fut.done() and service_id not in self._known):
            fut = asyncio.get_running_loop().create_future()
            self._waiters[service_id] = fut
        return fut

    def announce(self, info: ConnInfo) -> None:
        self._known[info.service_id] = info
        fut = self._waiter(info.service_id)
        if not fut.done():
            fut.set_result(info)

    async def start_stream(
        self, requests: AsyncIterator[grpc_broker_pb2.ConnInfo], ctx: ServerContext
    ) -> AsyncIterator[grpc_broker_pb2.ConnInfo]:
        """``plugin.GRPCBroker/StartStream``: record announcements until the host hangs up."""
        self.stream_opened.set()
        try:
            async for msg in requests:
                if msg.HasField("knock"):
                    # Knocks belong to the yamux broker (PLUGIN_MULTIPLEX_GRPC), which we do
                    # not announce, so a host never sends one; ignore rather than guess.
                    log.warning("ignoring a broker knock for service %d", msg.service_id)
                    continue
                self.announce(ConnInfo(msg.service_id, msg.network, msg.address))
        finally:
            if self._on_stream_end is not None:
                self._on_stream_end()
        # Secrets engines never broker services of their own, so nothing is ever sent.
        nothing: list[grpc_broker_pb2.ConnInfo] = []
        for item in nothing:
            yield item

    async def dial(self, service_id: int, timeout: float = DIAL_TIMEOUT) -> Channel:  # noqa: ASYNC109
        """A channel to the listener announced as ``service_id``, dialled with our certificate.

        The host serves every connection its broker listener accepts, so the channel can dial
        the same address again when its connection ends.
        """
        try:
            info = await asyncio.wait_for(asyncio.shield(self._waiter(service_id)), timeout)
        except TimeoutError:
            raise BrokerError(
                f"timeout waiting for connection info for broker id {service_id}"
            ) from None
        self._known.pop(service_id, None)
        self._waiters.pop(service_id, None)
        dial = self._dialer(info)
        try:
            return Channel(dial, await dial())
        except (OSError, ssl.SSLError, ValueError) as exc:  # ValueError: a malformed port
            raise BrokerError(f"dialing broker id {service_id} at {info.address}: {exc}") from exc

    def _dialer(self, info: ConnInfo) -> Callable[[], Awaitable[ClientConnection]]:
        ctx = self._ssl
        if info.network == "unix":

            async def dial_unix() -> ClientConnection:
                return await connect_unix(
                    info.address, ctx, server_hostname=HOSTNAME, limits=BROKER_CHANNEL_LIMITS
                )

            return dial_unix
        if info.network == "tcp":
            host, _, port_text = info.address.rpartition(":")

            async def dial_tcp() -> ClientConnection:
                return await connect_tcp(
                    host.strip("[]"),
                    int(port_text),
                    ctx,
                    server_hostname=HOSTNAME,
                    limits=BROKER_CHANNEL_LIMITS,
                )

            return dial_tcp
        raise BrokerError(f"unsupported broker network {info.network!r} for id {info.service_id}")
