"""Representative messages survive the wire, and land on the field numbers the servers use."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, struct_pb2
from google.protobuf.message import DecodeError, Message
from hypothesis import given
from hypothesis import strategies as st
from vault_plugin_proto.goplugin import grpc_broker_pb2, grpc_stdio_pb2
from vault_plugin_proto.logical import event_pb2, identity_pb2
from vault_plugin_proto.pb import backend_pb2

M = TypeVar("M", bound=Message)

ISSUED = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
HOUR_NS = 3600 * 10**9


def round_trip(message: M) -> M:
    parsed = type(message).FromString(message.SerializeToString())
    assert parsed == message
    return parsed


def wire_fields(data: bytes) -> list[tuple[int, int, int | bytes]]:
    """(field number, wire type, varint or raw bytes) of each top-level field, in order.

    Written here from the protobuf encoding spec so the checks below do not lean on the
    library that produced the bytes.
    """

    def varint(pos: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = data[pos]
            value |= (byte & 0x7F) << shift
            pos += 1
            if not byte & 0x80:
                return value, pos
            shift += 7

    fields: list[tuple[int, int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        tag, pos = varint(pos)
        number, wire_type = tag >> 3, tag & 7
        if wire_type == 0:
            value, pos = varint(pos)
            fields.append((number, wire_type, value))
        elif wire_type == 2:
            length, pos = varint(pos)
            fields.append((number, wire_type, data[pos : pos + length]))
            pos += length
        else:
            raise AssertionError(f"unexpected wire type {wire_type} for field {number}")
    return fields


def lease(ttl: timedelta, max_ttl: timedelta) -> backend_pb2.LeaseOptions:
    options = backend_pb2.LeaseOptions(
        TTL=int(ttl.total_seconds()) * 10**9,
        MaxTTL=int(max_ttl.total_seconds()) * 10**9,
        renewable=True,
    )
    options.issue_time.FromDatetime(ISSUED)
    return options


def test_handle_request_args_with_nested_secret() -> None:
    request = backend_pb2.Request(
        id="2b1f0c9e",
        operation="renew",
        path="creds/reader",
        data=json.dumps({"ttl": "1h"}),
        secret=backend_pb2.Secret(
            lease_options=lease(timedelta(hours=1), timedelta(days=1)),
            internal_data=json.dumps({"secret_type": "litellm_key", "token": "hash"}),
            lease_id="litellm/creds/reader/abc",
        ),
        headers={"X-Request-Id": backend_pb2.Header(header=["a", "b"])},
        mount_point="litellm/",
        connection=backend_pb2.Connection(remote_addr="127.0.0.1", peer_certificates_raw=[b"\x30"]),
    )
    args = backend_pb2.HandleRequestArgs(storage_id=0, request=request)

    parsed = round_trip(args)

    secret = parsed.request.secret
    assert secret.lease_options.TTL == HOUR_NS
    assert secret.lease_options.MaxTTL == 24 * HOUR_NS
    assert secret.lease_options.issue_time.ToDatetime(tzinfo=UTC) == ISSUED
    assert json.loads(secret.internal_data)["secret_type"] == "litellm_key"
    assert list(parsed.request.headers["X-Request-Id"].header) == ["a", "b"]
    # Request is field 2 of HandleRequestArgs and Secret field 6 of Request, as on the servers.
    ((number, _, request_bytes),) = wire_fields(args.SerializeToString())
    assert number == 2
    assert isinstance(request_bytes, bytes)
    assert 6 in [n for n, _, _ in wire_fields(request_bytes)]


def test_lease_options_durations_and_issue_time_on_the_wire() -> None:
    options = lease(timedelta(minutes=1), timedelta(hours=2))
    options.increment = 30 * 10**9

    parsed = round_trip(options)

    assert parsed.issue_time.seconds == int(ISSUED.timestamp())
    assert parsed.issue_time.nanos == ISSUED.microsecond * 1000
    fields = wire_fields(options.SerializeToString())
    assert [(n, w) for n, w, _ in fields] == [(1, 0), (2, 0), (3, 0), (4, 2), (5, 0)]
    values = {n: v for n, _, v in fields}
    assert values[1] == 60 * 10**9, "TTL travels in nanoseconds"
    assert values[3] == 30 * 10**9
    assert values[5] == 2 * HOUR_NS


def test_map_fields_round_trip() -> None:
    setup = round_trip(
        backend_pb2.SetupArgs(broker_id=1, Config={"plugin_name": "litellm", "": "empty key"})
    )
    assert dict(setup.Config) == {"plugin_name": "litellm", "": "empty key"}

    requirement = round_trip(
        identity_pb2.MFARequirement(
            mfa_request_id="r1",
            mfa_constraints={
                "totp": identity_pb2.MFAConstraintAny(
                    any=[identity_pb2.MFAMethodID(type="totp", id="m1", uses_passcode=True)]
                )
            },
        )
    )
    assert requirement.mfa_constraints["totp"].any[0].uses_passcode

    auth = round_trip(
        backend_pb2.Auth(
            metadata={"role": "reader"},
            alias=identity_pb2.Alias(name="alice", metadata={"team": "a"}),
            lease_options=lease(timedelta(hours=1), timedelta(hours=4)),
        )
    )
    assert auth.alias.metadata["team"] == "a"

    token = round_trip(backend_pb2.TokenEntry(meta={"k": "v"}, internal_meta={"i": "j"}))
    assert dict(token.internal_meta) == {"i": "j"}


def test_google_struct_and_nested_enum_fields() -> None:
    metadata = struct_pb2.Struct()
    metadata.update({"count": 2, "tags": ["a", "b"]})
    event = round_trip(event_pb2.EventData(id="e1", metadata=metadata, entity_ids=["x"]))
    assert event.metadata["tags"] == ["a", "b"]

    stdio = round_trip(grpc_stdio_pb2.StdioData(channel=grpc_stdio_pb2.StdioData.STDERR, data=b"!"))
    assert stdio.channel == 2

    conn = round_trip(
        grpc_broker_pb2.ConnInfo(
            service_id=1,
            network="unix",
            address="/tmp/plugin1",
            knock=grpc_broker_pb2.ConnInfo.Knock(knock=True, ack=True),
        )
    )
    assert conn.knock.ack


def view_without_txn() -> type[Message]:
    """StorageGetArgs as a server without OpenBao's `txn` field (Vault) declares it."""
    file = descriptor_pb2.FileDescriptorProto(name="vault_view.proto", package="vault_view")
    file.message_type.add(name="StorageGetArgs").field.add(
        name="key",
        number=1,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
        label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("vault_view.StorageGetArgs"))


def test_field_unknown_to_one_server_is_skipped_by_it() -> None:
    sent = backend_pb2.StorageGetArgs(key="config", txn="tx-1")

    received = view_without_txn().FromString(sent.SerializeToString())

    assert getattr(received, "key") == "config"  # noqa: B009 - dynamic class, no static attribute
    # Kept as an unknown field and forwarded unchanged, never an error.
    assert backend_pb2.StorageGetArgs.FromString(received.SerializeToString()).txn == "tx-1"


# -- fuzzing -------------------------------------------------------------------------------------

text = st.text(max_size=40)
int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
uint32 = st.integers(min_value=0, max_value=2**32 - 1)

headers = st.dictionaries(
    text, st.builds(backend_pb2.Header, header=st.lists(text, max_size=3)), max_size=3
)
timestamps = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
)


@st.composite
def lease_options(draw: st.DrawFn) -> backend_pb2.LeaseOptions:
    options = backend_pb2.LeaseOptions(
        TTL=draw(int64), MaxTTL=draw(int64), increment=draw(int64), renewable=draw(st.booleans())
    )
    if draw(st.booleans()):
        options.issue_time.FromDatetime(draw(timestamps))
    return options


requests = st.builds(
    backend_pb2.Request,
    id=text,
    operation=st.sampled_from(["read", "list", "create", "update", "delete", "renew", "revoke"]),
    path=text,
    data=text,
    secret=st.builds(
        backend_pb2.Secret, lease_options=lease_options(), internal_data=text, lease_id=text
    ),
    headers=headers,
    client_token_remaining_uses=int64,
    requires_snapshot_id=text,
    connection=st.builds(
        backend_pb2.Connection,
        remote_port=st.integers(min_value=-(2**31), max_value=2**31 - 1),
        peer_certificates_raw=st.lists(st.binary(max_size=16), max_size=3),
    ),
)


@given(storage_id=uint32, request=requests)
def test_any_handle_request_args_round_trips(storage_id: int, request: backend_pb2.Request) -> None:
    args = backend_pb2.HandleRequestArgs(storage_id=storage_id, request=request)
    parsed = round_trip(args)
    assert parsed.request.secret.lease_options.TTL == request.secret.lease_options.TTL
    assert dict(parsed.request.headers) == dict(request.headers)


@given(data=st.binary(max_size=256))
def test_parsing_arbitrary_bytes_fails_only_with_decode_error(data: bytes) -> None:
    for message_type in (backend_pb2.HandleRequestArgs, backend_pb2.SetupArgs):
        try:
            parsed = message_type.FromString(data)
        except DecodeError:
            continue
        # Whatever parsed must serialize and parse back to the same message.
        assert message_type.FromString(parsed.SerializeToString()) == parsed


@pytest.mark.parametrize(
    ("message", "field", "number"),
    [
        (backend_pb2.Request, "requires_snapshot_id", 21),
        (backend_pb2.Response, "mount_type", 8),
        (backend_pb2.StoragePutArgs, "txn", 2),
        (backend_pb2.Paths, "allow_snapshot_read", 8),
        (backend_pb2.Connection, "peer_certificates_raw", 5),
    ],
)
def test_single_server_fields_are_present(message: type[Message], field: str, number: int) -> None:
    assert message.DESCRIPTOR.fields_by_name[field].number == number
