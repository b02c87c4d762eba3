"""pb messages to and from sdk.logical: durations in ns, JSON in strings, issue times, errors."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vault_plugin_litellm.sdk.logical import (
    BadRequestError,
    CodedError,
    InternalError,
    InvalidRequestError,
    LeaseOptions,
    LogicalError,
    Operation,
    PermissionDeniedError,
    Response,
    Secret,
    UnrecoverableError,
    UnsupportedOperationError,
    UnsupportedPathError,
    UserError,
    WrapInfo,
)
from vault_plugin_litellm.sdk.plugin import translate
from vault_plugin_proto.pb import backend_pb2 as pb

INT64 = 2**63 - 1
# Durations whose nanoseconds fit the int64 fields (Go's time.Duration).
durations = st.timedeltas(
    min_value=timedelta(microseconds=-(INT64 // 1000)),
    max_value=timedelta(microseconds=INT64 // 1000),
)
aware_times = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=5, minutes=30))]
    ),
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=10), json_values, max_size=5)


def test_durations_are_nanoseconds() -> None:
    assert translate.timedelta_to_ns(timedelta(seconds=60)) == 60_000_000_000
    assert translate.timedelta_to_ns(timedelta(hours=768)) == 768 * 3600 * 10**9
    assert translate.timedelta_to_ns(timedelta(microseconds=-1)) == -1000
    assert translate.ns_to_timedelta(90 * 10**9) == timedelta(seconds=90)
    assert translate.ns_to_timedelta(1_999) == timedelta(microseconds=1)  # below 1 µs is dropped
    assert translate.ns_to_timedelta(0) == timedelta(0)


@given(durations)
def test_timedelta_to_ns_and_back_is_exact(value: timedelta) -> None:
    ns = translate.timedelta_to_ns(value)
    assert isinstance(ns, int)
    assert -INT64 - 1 <= ns <= INT64
    assert translate.ns_to_timedelta(ns) == value


@given(st.integers(-(INT64 // 1000), INT64 // 1000))
def test_whole_microseconds_of_ns_are_exact(us: int) -> None:
    assert translate.timedelta_to_ns(translate.ns_to_timedelta(us * 1000)) == us * 1000


@given(aware_times)
def test_timestamps_round_trip(value: datetime) -> None:
    ts = translate.datetime_to_timestamp(value)
    back = translate.timestamp_to_datetime(ts)
    assert back == value
    assert back.tzinfo == UTC


def test_naive_datetimes_are_utc() -> None:
    ts = translate.datetime_to_timestamp(datetime(2026, 1, 2, 3, 4, 5, 678901))
    assert (ts.seconds, ts.nanos) == (
        int(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()),
        678_901_000,
    )


def test_issue_time_is_always_set() -> None:
    before = datetime.now(UTC)
    msg = translate.lease_options_to_proto(LeaseOptions(ttl=timedelta(seconds=5)))
    after = datetime.now(UTC)
    assert msg.HasField("issue_time")
    assert before - timedelta(seconds=1) <= translate.timestamp_to_datetime(msg.issue_time) <= after
    fixed = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert (
        translate.timestamp_to_datetime(
            translate.lease_options_to_proto(LeaseOptions(issue_time=fixed)).issue_time
        )
        == fixed
    )
    # Also inside a secret in a response, and on wrap info.
    response = translate.response_to_proto(
        Response(data={}, secret=Secret(), wrap_info=WrapInfo(ttl=timedelta(seconds=1)))
    )
    assert response.secret.lease_options.HasField("issue_time")
    assert response.wrap_info.HasField("creation_time")
    assert response.wrap_info.TTL == 10**9


def test_incoming_lease_without_issue_time() -> None:
    assert translate.lease_options_from_proto(pb.LeaseOptions(TTL=5)).issue_time is None


@settings(max_examples=150)
@given(durations, durations, st.booleans(), durations, aware_times)
def test_lease_options_round_trip(
    ttl: timedelta, max_ttl: timedelta, renewable: bool, increment: timedelta, issued: datetime
) -> None:
    opts = LeaseOptions(
        ttl=ttl, max_ttl=max_ttl, renewable=renewable, increment=increment, issue_time=issued
    )
    wire = pb.LeaseOptions.FromString(translate.lease_options_to_proto(opts).SerializeToString())
    assert translate.lease_options_from_proto(wire) == opts


@settings(max_examples=150)
@given(json_objects, st.text(max_size=30), durations, aware_times)
def test_secret_round_trip(
    internal: dict[str, Any], lease_id: str, ttl: timedelta, issued: datetime
) -> None:
    secret = Secret(
        lease_options=LeaseOptions(ttl=ttl, issue_time=issued),
        internal_data=internal,
        lease_id=lease_id,
    )
    wire = translate.secret_to_proto(secret)
    assert wire.internal_data != ""
    back = translate.secret_from_proto(pb.Secret.FromString(wire.SerializeToString()))
    assert back == secret


@pytest.mark.parametrize("text", ["", "null", " null ", "{}"])
def test_empty_data(text: str) -> None:
    assert translate.decode_object(text, "request data") == {}


@pytest.mark.parametrize(
    ("text", "kind"),
    [("[1, 2]", "list"), ("1", "int"), ('"s"', "str"), ("true", "bool"), ("1.5", "float")],
)
def test_non_object_data_is_a_bad_request(text: str, kind: str) -> None:
    with pytest.raises(
        BadRequestError, match=f"request data must be a JSON object, got {kind}"
    ) as info:
        translate.decode_object(text, "request data")
    assert info.value.err_type == 4


@pytest.mark.parametrize("text", ["{", "{'a': 1}", "nul", '{"a": 1} x'])
def test_invalid_json_is_a_bad_request(text: str) -> None:
    with pytest.raises(BadRequestError, match="secret internal data is not valid JSON"):
        translate.decode_object(text, "secret internal data")


@pytest.mark.parametrize(("depth", "key"), [(2_000, "junk"), (20_000, 'say "hi" \\')])
def test_data_nested_deeper_than_the_decoder_goes_names_the_field(depth: int, key: str) -> None:
    # The host passes on bodies nested up to 10,000 levels (the limit of Go's decoder).
    text = f'{{"a": [1], {json.dumps(key)}: ' + "[" * depth + "]" * depth + ', "b": "[[{\\"["}'
    with pytest.raises(BadRequestError) as info:
        translate.decode_object(text, "request data")
    assert info.value.message == (
        f"request data nests {depth + 1} levels deep in field {json.dumps(key)}; at most "
        f"{translate.MAX_JSON_DEPTH} are accepted"
    )
    assert info.value.err_type == 4


def test_the_depth_limit_is_exact_and_does_not_depend_on_the_stack() -> None:
    limit = translate.MAX_JSON_DEPTH
    at_limit = '{"a": ' + "[" * (limit - 1) + "]" * (limit - 1) + "}"
    decoded = translate.decode_object(at_limit, "request data")
    assert translate.deepest_field(json.dumps(decoded)) == ("a", limit)
    beyond = '{"a": ' + "[" * limit + "]" * limit + "}"
    with pytest.raises(BadRequestError, match=f"nests {limit + 1} levels deep"):
        translate.decode_object(beyond, "request data")
    # Many brackets side by side are no depth at all.
    wide = '{"a": [' + ",".join(["[]"] * (limit * 4)) + "]}"
    assert len(translate.decode_object(wide, "request data")["a"]) == limit * 4


def _depth(value: Any) -> int:
    if isinstance(value, dict | list):
        children = value.values() if isinstance(value, dict) else value
        return 1 + max((_depth(v) for v in children), default=0)
    return 0


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=20,
)


@settings(max_examples=200)
@given(st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=5))
def test_deepest_field_agrees_with_a_recursive_walk(document: dict[str, Any]) -> None:
    deepest = max(document.values(), key=_depth, default=None)
    field = None
    if document and _depth(deepest) > 0:
        field = next(k for k, v in document.items() if _depth(v) == _depth(deepest))
    expected_depth = 1 + max((_depth(v) for v in document.values()), default=0)
    assert translate.deepest_field(json.dumps(document)) == (field, expected_depth)


def test_request_fields() -> None:
    issued = datetime(2026, 1, 1, tzinfo=UTC)
    msg = pb.Request(
        id="req-1",
        operation="renew",
        path="creds/r1",
        data='{"a": 1, "n": null}',
        secret=pb.Secret(
            lease_options=pb.LeaseOptions(
                TTL=30 * 10**9,
                increment=10 * 10**9,
                issue_time=translate.datetime_to_timestamp(issued),
            ),
            internal_data='{"secret_type": "t"}',
            lease_id="mount/creds/r1/abc",
        ),
        client_token="hash",
        display_name="token-x",
        mount_point="ns1/my-mount/",
        mount_type="tiny",
        mount_accessor="acc",
        entity_id="e1",
        unauthenticated=True,
        ReplicationCluster="c1",
        headers={"X-Thing": pb.Header(header=["a", "b"])},
        wrap_info=pb.RequestWrapInfo(TTL=60 * 10**9, format="jwt", seal_wrap=True),
        connection=pb.Connection(remote_addr="10.0.0.1", remote_port=4321),
    )
    req = translate.request_from_proto(msg, Operation.RENEW)
    assert (req.operation, req.path, req.id, req.data) == (
        Operation.RENEW,
        "creds/r1",
        "req-1",
        {"a": 1, "n": None},
    )
    assert req.secret is not None
    assert req.secret.lease_options.ttl == timedelta(seconds=30)
    assert req.secret.lease_options.increment == timedelta(seconds=10)
    assert req.secret.lease_options.issue_time == issued
    assert req.secret.internal_data == {"secret_type": "t"}
    assert req.secret.lease_id == "mount/creds/r1/abc"
    assert (req.client_token, req.display_name, req.mount_point, req.mount_type) == (
        "hash",
        "token-x",
        "ns1/my-mount/",
        "tiny",
    )
    assert (req.mount_accessor, req.entity_id, req.unauthenticated, req.replication_cluster) == (
        "acc",
        "e1",
        True,
        "c1",
    )
    assert req.headers == {"X-Thing": ["a", "b"]}
    assert req.wrap_info is not None
    assert req.wrap_info.ttl == timedelta(seconds=60)
    assert req.wrap_info.seal_wrap
    assert req.connection is not None
    assert (
        req.connection.remote_addr,
        req.connection.remote_port,
    ) == ("10.0.0.1", 4321)


def test_request_without_optional_parts() -> None:
    req = translate.request_from_proto(
        pb.Request(operation="read", path="", data="null"), Operation.READ
    )
    assert (req.data, req.secret, req.headers, req.wrap_info, req.connection) == (
        {},
        None,
        {},
        None,
        None,
    )


def test_response_fields_and_json() -> None:
    msg = translate.response_to_proto(
        Response(
            data={"b": 1, "a": [1.5, None, "ü"]},
            redirect="/v1/x",
            warnings=["w1"],
            headers={"X-A": ["1", "2"]},
        )
    )
    assert msg.data == '{"b":1,"a":[1.5,null,"\\u00fc"]}'
    assert json.loads(msg.data) == {"b": 1, "a": [1.5, None, "ü"]}
    assert (msg.redirect, list(msg.warnings), list(msg.headers["X-A"].header)) == (
        "/v1/x",
        ["w1"],
        ["1", "2"],
    )
    assert not msg.HasField("secret")
    assert not msg.HasField("wrap_info")
    assert translate.response_to_proto(Response()).data == "null"  # never ""
    assert translate.response_to_proto(Response(data={})).data == "{}"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_response_data_refuses_nan_and_infinity(bad: float) -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        translate.response_to_proto(Response(data={"x": [bad]}))
    with pytest.raises(ValueError, match="not JSON compliant"):
        translate.secret_to_proto(Secret(internal_data={"x": bad}))


def test_response_data_must_be_serialisable() -> None:
    with pytest.raises(TypeError):
        translate.response_to_proto(Response(data={"x": object()}))


@settings(max_examples=100)
@given(json_objects)
def test_response_data_round_trips_through_json(data: dict[str, Any]) -> None:
    assert json.loads(translate.response_to_proto(Response(data=data)).data) == data


@pytest.mark.parametrize(
    ("error", "err_type", "err_code"),
    [
        (LogicalError("plain"), 0, 0),
        (UserError("user"), 1, 0),
        (InternalError("internal"), 2, 0),
        (CodedError(418, "teapot"), 3, 418),
        (BadRequestError("bad"), 4, 0),
        (UnsupportedOperationError(), 5, 0),
        (UnsupportedPathError(), 6, 0),
        (InvalidRequestError(), 7, 0),
        (PermissionDeniedError(), 8, 0),
        (UnrecoverableError("gone"), 10, 0),
    ],
)
def test_errors_to_proto(error: LogicalError, err_type: int, err_code: int) -> None:
    msg = translate.error_to_proto(error)
    assert (msg.err_type, msg.err_msg, msg.err_code) == (err_type, error.message, err_code)


def test_plain_error() -> None:
    msg = translate.plain_error("something failed")
    assert (msg.err_type, msg.err_msg, msg.err_code) == (0, "something failed", 0)
