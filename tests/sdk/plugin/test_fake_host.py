"""The plugin process driven by a fake host, as OpenBao drives it (docs/go-plugin-protocol.md)."""

from __future__ import annotations

import asyncio
import json
import os
import time

import grpc
import pytest
from vault_plugin_litellm.sdk.goplugin import tls
from vault_plugin_proto.goplugin import grpc_controller_pb2
from vault_plugin_proto.logical import version_pb2
from vault_plugin_proto.pb import backend_pb2 as pb
from vault_plugin_proto.pluginutil import multiplexing_pb2

from .conftest import DEFAULT_TTL_NS, MISSING_STORAGE, FakeHost, wait_exit


async def test_mount_requests_isolation_cleanup_and_shutdown(host: FakeHost) -> None:
    mux = await host.unary(
        "/pluginutil.multiplexing.PluginMultiplexing/MultiplexingSupport",
        multiplexing_pb2.MultiplexingSupportRequest(),
        multiplexing_pb2.MultiplexingSupportResponse,
    )
    assert mux.supported

    broker_a = await host.mount("gF1dQ6crnU", {"version": ""})
    assert (await host.unary("/pb.Backend/Type", pb.Empty(), pb.TypeReply, "gF1dQ6crnU")).type == 1
    paths = (
        await host.unary("/pb.Backend/SpecialPaths", pb.Empty(), pb.SpecialPathsReply, "gF1dQ6crnU")
    ).paths
    assert list(paths.root) == ["root/*"]
    assert list(paths.unauthenticated) == ["login"]
    init = await host.unary(
        "/pb.Backend/Initialize", pb.InitializeArgs(), pb.InitializeReply, "gF1dQ6crnU"
    )
    assert not init.HasField("err")

    # Setup saw the config and the backend UUID; its storage read reached broker A.
    config = json.loads((await host.request("gF1dQ6crnU", "read", "config")).response.data)
    assert config["config"] == {"plugin_name": "tiny", "plugin_type": "secret", "version": ""}
    assert config["uuid"] == "uuid-gF1dQ6crnU"
    assert config["setup_storage"] == "None"
    assert broker_a.calls[0] == "Get"

    # resolve-path must be answered with err_type 5 (OpenBao 2.7 fails the mount otherwise).
    resolved = await host.request("gF1dQ6crnU", "resolve-path", "kv/a")
    assert resolved.err.err_type == 5
    assert not resolved.HasField("response")

    # Writes reach the broker's storage as Go plugins store JSON; reads come back.
    write = await host.request("gF1dQ6crnU", "update", "kv/a", json.dumps({"v": "mount-a", "n": 1}))
    assert not write.HasField("err")
    assert not write.HasField("response")
    assert broker_a.data["kv/a"] == b'{"v":"mount-a","n":1}\n'
    read = await host.request("gF1dQ6crnU", "read", "kv/a")
    assert json.loads(read.response.data) == {"v": "mount-a", "n": 1}
    exists = await host.unary(
        "/pb.Backend/HandleExistenceCheck",
        pb.HandleExistenceCheckArgs(request=pb.Request(operation="create", path="kv/a")),
        pb.HandleExistenceCheckReply,
        "gF1dQ6crnU",
    )
    assert exists.check_found
    assert exists.exists
    missing = await host.request("gF1dQ6crnU", "read", "kv/nothing")
    assert not missing.HasField("response")
    assert not missing.HasField("err")

    # A second mount on the same process: its own instance, broker and storage.
    broker_b = await host.mount("Zq7uYhB3xP")
    await host.request("Zq7uYhB3xP", "update", "kv/a", json.dumps({"v": "mount-b"}))
    assert json.loads(broker_b.data["kv/a"]) == {"v": "mount-b"}
    assert json.loads(broker_a.data["kv/a"]) == {"v": "mount-a", "n": 1}
    assert (
        json.loads((await host.request("gF1dQ6crnU", "read", "kv/a")).response.data)["v"]
        == "mount-a"
    )
    assert (
        json.loads((await host.request("Zq7uYhB3xP", "read", "kv/a")).response.data)["v"]
        == "mount-b"
    )
    listed = json.loads((await host.request("Zq7uYhB3xP", "list", "kv/")).response.data)
    assert listed == {"keys": ["a"]}

    # The system view answers through the broker, in ns on the wire.
    ttl = json.loads((await host.request("gF1dQ6crnU", "read", "ttl")).response.data)
    assert ttl["seconds"] == DEFAULT_TTL_NS / 1e9

    # Version, with and without multiplex_id.
    for mux_id in ("gF1dQ6crnU", None):
        version = await host.unary(
            "/logical.PluginVersion/Version", version_pb2.Empty(), version_pb2.VersionReply, mux_id
        )
        assert version.plugin_version == "v1.2.3"

    # Cleanup twice (the router repeats it), then the id is gone and the other mount is not.
    for _ in range(2):
        await host.unary("/pb.Backend/Cleanup", pb.Empty(), pb.Empty, "gF1dQ6crnU")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await host.request("gF1dQ6crnU", "read", "kv/a")
    assert info.value.code() == grpc.StatusCode.UNKNOWN
    assert (
        json.loads((await host.request("Zq7uYhB3xP", "read", "kv/a")).response.data)["v"]
        == "mount-b"
    )

    # An unknown id is an error, never "the remaining instance".
    for unknown in ("nope", ""):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await host.request(unknown, "read", "kv/a")
        assert info.value.code() == grpc.StatusCode.UNKNOWN
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await host.unary("/pb.Backend/Type", pb.Empty(), pb.TypeReply)  # no multiplex_id at all
    assert "no multiplexing ID found" in (info.value.details() or "")
    await host.unary("/pb.Backend/Cleanup", pb.Empty(), pb.Empty, "never-mounted")

    # Shutdown: the reply arrives, then the process exits 0 and takes its sockets with it.
    directory = os.path.dirname(host.plugin.socket_path)
    await host.unary(
        "/plugin.GRPCController/Shutdown", grpc_controller_pb2.Empty(), grpc_controller_pb2.Empty
    )
    started = time.monotonic()
    code = await wait_exit(host.plugin)
    elapsed = time.monotonic() - started
    print(f"plugin exited {code} {elapsed:.3f} s after Shutdown (the host allows 2 s)")
    assert code == 0
    assert not _exists(directory)
    assert host.plugin.proc.stdout is not None
    assert host.plugin.proc.stdout.read() == b""  # the handshake was the only stdout line


async def test_errors_and_leases(host: FakeHost) -> None:
    await host.mount("m1")
    bad = await host.request("m1", "update", "bad", json.dumps({"x": "y"}))
    assert (bad.err.err_type, bad.err.err_msg) == (4, "field 'x' must be a number")
    crash = await host.request("m1", "read", "crash")
    assert crash.err.err_type == 0
    assert "RuntimeError" in crash.err.err_msg
    assert "sk-leakedkey123" not in crash.err.err_msg
    nan = await host.request("m1", "read", "nan")
    assert nan.HasField("err")
    assert not nan.HasField("response")
    unknown_op = await host.request("m1", "frobnicate", "kv/a")
    assert unknown_op.err.err_type == 5
    not_object = await host.request("m1", "update", "kv/a", "[1, 2]")
    assert not_object.err.err_type == 4
    assert "JSON object" in not_object.err.err_msg
    nowhere = await host.request("m1", "read", "elsewhere")
    assert nowhere.err.err_type == 6

    lease = await host.request("m1", "read", "lease")
    secret = lease.response.secret
    assert secret.lease_options.TTL == 90 * 10**9
    assert secret.lease_options.MaxTTL == 3600 * 10**9
    assert secret.lease_options.renewable
    assert secret.lease_options.HasField("issue_time")
    assert secret.lease_options.issue_time.seconds > 0
    assert json.loads(secret.internal_data) == {"secret_type": "t", "n": 1}

    # Renew sends the stored secret back; the plugin's reply keeps its issue time.
    renew = await host.request("m1", "renew", "lease", secret=secret)
    assert renew.response.secret.lease_options.issue_time == secret.lease_options.issue_time

    await host.unary("/pb.Backend/InvalidateKey", pb.InvalidateKeyArgs(key="kv/a"), pb.Empty, "m1")
    assert json.loads((await host.request("m1", "read", "config")).response.data)[
        "invalidated"
    ] == ["kv/a"]


async def test_conninfo_after_setup_and_a_registration_probe(host: FakeHost) -> None:
    # The probe's Setup comes first and its ConnInfo later; storage fails as during a probe.
    broker = await host.start_broker(probe=True)
    pending = asyncio.ensure_future(host.setup("probe1", broker, {}))
    await asyncio.sleep(0.05)  # not an assertion: let Setup start waiting for its ConnInfo
    await host.announce(broker)
    reply = await pending
    assert reply.err == ""
    config = json.loads((await host.request("probe1", "read", "config")).response.data)
    assert config["config"] == {}
    assert config["setup_storage"] == f"error: {MISSING_STORAGE}"
    version = await host.unary(
        "/logical.PluginVersion/Version", version_pb2.Empty(), version_pb2.VersionReply, "probe1"
    )
    assert version.plugin_version == "v1.2.3"


async def test_backend_setup_failure_is_reported_in_the_reply(host: FakeHost) -> None:
    broker = await host.start_broker()
    await host.announce(broker)
    reply = await host.setup("m2", broker, {"fail_setup": "1"})
    assert reply.err == "setup refused by the backend"
    with pytest.raises(grpc.aio.AioRpcError):
        await host.unary("/pb.Backend/Type", pb.Empty(), pb.TypeReply, "m2")


async def test_host_closing_the_broker_stream_ends_the_process(host: FakeHost) -> None:
    await host.mount("m3")
    directory = os.path.dirname(host.plugin.socket_path)
    assert host.broker_stream is not None
    await host.broker_stream.done_writing()  # the host closed its plugin client without Shutdown
    assert await wait_exit(host.plugin) == 0
    assert not _exists(directory)


async def test_a_host_that_never_opens_the_broker_stream(
    sock_dir: str, host_identity: tls.Identity
) -> None:
    # It answers while it waits: a deadline no busy machine reaches before the call is done.
    fake = FakeHost(sock_dir, host_identity, {"SDK_TEST_BROKER_DEADLINE": "60"})
    try:
        mux = await fake.unary(
            "/pluginutil.multiplexing.PluginMultiplexing/MultiplexingSupport",
            multiplexing_pb2.MultiplexingSupportRequest(),
            multiplexing_pb2.MultiplexingSupportResponse,
        )
        assert mux.supported
    finally:
        await fake.close()
    # ...and gives up on its own, with no call racing the deadline.
    quiet = FakeHost(sock_dir, host_identity, {"SDK_TEST_BROKER_DEADLINE": "0.3"})
    try:
        assert await wait_exit(quiet.plugin) == 0
        assert not _exists(os.path.dirname(quiet.plugin.socket_path))
    finally:
        await quiet.close()


def _exists(path: str) -> bool:
    return os.path.exists(path)
