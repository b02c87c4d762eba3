"""grpc.aio as the client of our Server: what the host (grpc-go) does to the plugin.

Every test runs in plaintext over a unix socket and over TLS with our AutoMTLS contexts on TCP,
with grpcio's own TLS as the client (P-256 certificates, which BoringSSL handles).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.protobuf.wrappers_pb2 import BytesValue, StringValue
from vault_plugin_litellm.sdk.goplugin import tls
from vault_plugin_litellm.sdk.grpc import Server

from .conftest import GRPCIO_LIMITS, NON_ASCII_MESSAGE, EchoState


def _stub(
    channel: grpc.aio.Channel, name: str, message: type[StringValue] | type[BytesValue]
) -> grpc.aio.UnaryUnaryMultiCallable[Any, Any]:
    return channel.unary_unary(
        f"/test.Echo/{name}",
        request_serializer=message.SerializeToString,
        response_deserializer=message.FromString,
    )


@pytest.fixture(params=["plain-unix", "tls-tcp"])
async def channel(
    request: pytest.FixtureRequest,
    our_server: Server,
    sock_dir: str,
    plugin_identity: tls.Identity,
    host_identity: tls.Identity,
) -> AsyncIterator[grpc.aio.Channel]:
    if request.param == "plain-unix":
        path = os.path.join(sock_dir, "s.sock")
        await our_server.listen_unix(path)
        chan = grpc.aio.insecure_channel(f"unix:{path}", options=GRPCIO_LIMITS)
    else:
        ctx = tls.server_context(plugin_identity, host_identity.cert_pem.decode())
        port = await our_server.listen_tcp("127.0.0.1", 0, ctx)
        creds = grpc.ssl_channel_credentials(
            root_certificates=plugin_identity.cert_pem,
            private_key=host_identity.key_pem,
            certificate_chain=host_identity.cert_pem,
        )
        chan = grpc.aio.secure_channel(
            f"127.0.0.1:{port}",
            creds,
            options=[("grpc.ssl_target_name_override", "localhost"), *GRPCIO_LIMITS],
        )
    async with chan:
        yield chan


async def test_unary_with_metadata(channel: grpc.aio.Channel, echo_state: EchoState) -> None:
    reply = await _stub(channel, "Echo", StringValue)(
        StringValue(value="hi"), metadata=[("multiplex_id", "gF1dQ6crnU")], timeout=30
    )
    assert reply.value == "hi|gF1dQ6crnU"
    ctx = echo_state.contexts[-1]
    assert ctx.method == "/test.Echo/Echo"
    assert ctx.metadata["multiplex_id"] == "gF1dQ6crnU"
    assert not any(name.startswith(":") for name in ctx.metadata)
    assert "content-type" not in ctx.metadata
    assert ctx.timeout is not None
    # grpc-core rounds the remaining time up when it encodes grpc-timeout (30.1 s was seen),
    # so the bound is the requested deadline plus that rounding, not the deadline itself.
    assert 0 < ctx.timeout <= 31
    # Without metadata the handler sees none, and without a deadline no timeout.
    assert (await _stub(channel, "Echo", StringValue)(StringValue(value="x"))).value == "x|-"
    assert echo_state.contexts[-1].timeout is None


async def test_error_status_and_non_ascii_message(channel: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await _stub(channel, "Echo", StringValue)(StringValue(value="fail"))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details() == NON_ASCII_MESSAGE


async def test_handler_bug_is_internal_without_details(channel: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await _stub(channel, "Echo", StringValue)(StringValue(value="crash"))
    assert info.value.code() == grpc.StatusCode.INTERNAL
    assert "a bug in the handler" not in (info.value.details() or "")


async def test_unknown_method_is_unimplemented(channel: grpc.aio.Channel) -> None:
    call: grpc.aio.UnaryUnaryMultiCallable[Any, Any] = channel.unary_unary(
        "/test.Echo/Nope", request_serializer=StringValue.SerializeToString
    )
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call(StringValue(value="x"))
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "/test.Echo/Nope" in (info.value.details() or "")


async def test_server_stream(channel: grpc.aio.Channel) -> None:
    stream = channel.unary_stream(
        "/test.Echo/Count",
        request_serializer=StringValue.SerializeToString,
        response_deserializer=StringValue.FromString,
    )
    got = [msg.value async for msg in stream(StringValue(value="5"))]
    assert got == [f"item-{i}" for i in range(5)]
    assert [msg.value async for msg in stream(StringValue(value="0"))] == []

    call = stream(StringValue(value="2"), metadata=[("fail-after", "1")])
    received: list[str] = []

    async def drain() -> None:
        async for msg in call:
            received.append(msg.value)

    with pytest.raises(grpc.aio.AioRpcError) as info:
        await drain()
    assert received == ["item-0", "item-1"]
    assert info.value.code() == grpc.StatusCode.ABORTED
    assert info.value.details() == "stopped after the items"


async def test_bidi_stream_answers_each_message_as_it_comes(channel: grpc.aio.Channel) -> None:
    bidi = channel.stream_stream(
        "/test.Echo/Upper",
        request_serializer=StringValue.SerializeToString,
        response_deserializer=StringValue.FromString,
    )
    call = bidi()
    for word in ("alpha", "beta", "gamma"):
        await call.write(StringValue(value=word))
        # The reply arrives before the client half-closes: the handler streams.
        reply = await call.read()
        assert isinstance(reply, StringValue)
        assert reply.value == word.upper()
    await call.done_writing()
    assert await call.read() == grpc.aio.EOF
    assert await call.code() == grpc.StatusCode.OK


async def test_big_messages_both_ways(channel: grpc.aio.Channel) -> None:
    # Several MB: the peer's windows, WINDOW_UPDATE and 16 KiB frames are all exercised.
    payload = os.urandom(6 << 20)
    reply = await _stub(channel, "Size", BytesValue)(BytesValue(value=payload))
    assert reply.value == payload[::-1]


async def test_many_concurrent_calls(channel: grpc.aio.Channel) -> None:
    echo = _stub(channel, "Echo", StringValue)
    size = _stub(channel, "Size", BytesValue)
    blobs = [os.urandom(300_000 + i) for i in range(4)]
    results = await asyncio.gather(
        *(
            echo(StringValue(value=str(i)), metadata=[("multiplex_id", f"m{i}")])
            for i in range(300)
        ),
        *(size(BytesValue(value=blob)) for blob in blobs),
    )
    texts = [r.value for r in results[:300] if isinstance(r, StringValue)]
    assert texts == [f"{i}|m{i}" for i in range(300)]
    assert [r.value for r in results[300:] if isinstance(r, BytesValue)] == [b[::-1] for b in blobs]


async def test_client_cancellation_cancels_the_handler(
    channel: grpc.aio.Channel, echo_state: EchoState
) -> None:
    call = _stub(channel, "Slow", StringValue)(StringValue(value="x"))
    await echo_state.started.wait()
    call.cancel()
    await asyncio.wait_for(echo_state.cancelled.wait(), 10)
    with pytest.raises(asyncio.CancelledError):
        await call
    # The connection is still usable.
    assert (
        await _stub(channel, "Echo", StringValue)(StringValue(value="after"))
    ).value == "after|-"


async def test_deadline_cancels_the_handler(
    channel: grpc.aio.Channel, echo_state: EchoState
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await _stub(channel, "Slow", StringValue)(StringValue(value="x"), timeout=0.3)
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    await asyncio.wait_for(echo_state.cancelled.wait(), 10)
    timeout = echo_state.contexts[-1].timeout
    assert timeout is not None
    assert 0 < timeout <= 1


async def test_stop_refuses_new_calls_and_finishes_running_ones(
    channel: grpc.aio.Channel, our_server: Server, echo_state: EchoState
) -> None:
    slow = _stub(channel, "Slow", StringValue)(StringValue(value="x"))
    await echo_state.started.wait()
    stopping = asyncio.ensure_future(our_server.stop(grace=5))
    # The GOAWAY is out before the running call ends; new calls are not served here.
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await _stub(channel, "Echo", StringValue)(StringValue(value="late"), timeout=5)
    assert info.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    echo_state.release.set()
    assert (await slow).value == "released"
    await stopping
