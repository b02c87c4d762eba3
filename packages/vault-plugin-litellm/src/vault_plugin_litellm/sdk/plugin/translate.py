"""``pb`` messages to and from ``sdk.logical``: the conventions that bite live here.

Durations on the wire are Go ``time.Duration`` nanoseconds; JSON travels in string fields and
must never be ``""`` (``"null"`` stands for no data); every lease needs an ``issue_time``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from vault_plugin_proto.pb import backend_pb2 as pb

from ..logical import (
    BadRequestError,
    Connection,
    LeaseOptions,
    LogicalError,
    Operation,
    Request,
    RequestWrapInfo,
    Response,
    Secret,
    WrapInfo,
    encode_json,
    utcnow,
)
from ..logical.errors import ErrType

_NS_PER_US = 1_000


def ns_to_timedelta(ns: int) -> timedelta:
    return timedelta(microseconds=ns // _NS_PER_US)


def timedelta_to_ns(value: timedelta) -> int:
    return ((value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds) * _NS_PER_US


def timestamp_to_datetime(ts: Timestamp) -> datetime:
    return datetime.fromtimestamp(ts.seconds, UTC) + timedelta(microseconds=ts.nanos // 1000)


def datetime_to_timestamp(value: datetime) -> Timestamp:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    ts = Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


MAX_JSON_DEPTH = 512
"""Deepest nesting of JSON data the plugin decodes. Go's decoder (the host's) goes to 10,000
levels and the host passes such bodies on; Python's recursive decoder would stop somewhere
below its recursion limit, which depends on the stack in use at the time. A fixed bound,
checked before decoding, makes the answer the same every time."""


def decode_object(text: str, what: str) -> dict[str, Any]:
    """A JSON object from a string field; ``""`` and ``"null"`` mean empty."""
    if not text or text == "null":
        return {}
    # Counting brackets is a fast upper bound on the depth: only a body with more of them
    # than the limit needs the exact (linear) measurement.
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH:
        field, depth = deepest_field(text)
        if depth > MAX_JSON_DEPTH:
            where = (
                f" in field {json.dumps(field, ensure_ascii=False)}" if field is not None else ""
            )
            raise BadRequestError(
                f"{what} nests {depth} levels deep{where}; at most {MAX_JSON_DEPTH} are accepted"
            )
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise BadRequestError(f"{what} is not valid JSON: {exc}") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequestError(f"{what} must be a JSON object, got {type(value).__name__}")
    return value


# Strings (skipped whole, escapes included) and the tokens that change or reveal nesting.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}:]', re.DOTALL)


def deepest_field(text: str) -> tuple[str | None, int]:
    """The top-level key of a JSON object whose value nests deepest, and that depth (the
    document's own depth, with no key, when it is not an object). Linear in ``text`` and
    without recursion, for documents too deep to decode."""
    depth = deepest = 0
    field: str | None = None
    current: str | None = None
    last_string = '""'
    top_is_object = text.lstrip().startswith("{")
    for match in _JSON_TOKEN.finditer(text):
        lexeme = match.group()
        if lexeme in ("[", "{"):
            depth += 1
            if depth > deepest:
                deepest, field = depth, current
        elif lexeme in ("]", "}"):
            depth -= 1
        elif lexeme == ":":
            if depth == 1 and top_is_object:
                current = _key_text(last_string)
        else:
            last_string = lexeme
    return (field if top_is_object else None), deepest


def _key_text(literal: str) -> str:
    try:
        return str(json.loads(literal))
    except ValueError:  # an escape JSON does not know: the decoder refuses it anyway
        return literal[1:-1]


# -- leases and secrets ---------------------------------------------------------------------
def lease_options_from_proto(msg: pb.LeaseOptions) -> LeaseOptions:
    return LeaseOptions(
        ttl=ns_to_timedelta(msg.TTL),
        max_ttl=ns_to_timedelta(msg.MaxTTL),
        renewable=msg.renewable,
        increment=ns_to_timedelta(msg.increment),
        issue_time=timestamp_to_datetime(msg.issue_time) if msg.HasField("issue_time") else None,
    )


def lease_options_to_proto(opts: LeaseOptions) -> pb.LeaseOptions:
    return pb.LeaseOptions(
        TTL=timedelta_to_ns(opts.ttl),
        MaxTTL=timedelta_to_ns(opts.max_ttl),
        renewable=opts.renewable,
        increment=timedelta_to_ns(opts.increment),
        # Without it the host fails the whole request ("proto: invalid nil Timestamp").
        issue_time=datetime_to_timestamp(opts.issue_time or utcnow()),
    )


def secret_from_proto(msg: pb.Secret) -> Secret:
    return Secret(
        lease_options=lease_options_from_proto(msg.lease_options),
        internal_data=decode_object(msg.internal_data, "secret internal data"),
        lease_id=msg.lease_id,
    )


def secret_to_proto(secret: Secret) -> pb.Secret:
    return pb.Secret(
        lease_options=lease_options_to_proto(secret.lease_options),
        internal_data=encode_json(secret.internal_data),
        lease_id=secret.lease_id,
    )


# -- requests and responses -----------------------------------------------------------------
def request_from_proto(msg: pb.Request, operation: Operation) -> Request:
    req = Request(
        operation=operation,
        path=msg.path,
        data=decode_object(msg.data, "request data"),
        id=msg.id,
        client_token=msg.client_token,
        client_token_accessor=msg.client_token_accessor,
        display_name=msg.display_name,
        mount_point=msg.mount_point,
        mount_type=msg.mount_type,
        mount_accessor=msg.mount_accessor,
        entity_id=msg.entity_id,
        policy_override=msg.policy_override,
        unauthenticated=msg.unauthenticated,
        replication_cluster=msg.ReplicationCluster,
    )
    if msg.HasField("secret"):
        req.secret = secret_from_proto(msg.secret)
    if msg.headers:
        req.headers = {name: list(value.header) for name, value in msg.headers.items()}
    if msg.HasField("wrap_info"):
        req.wrap_info = RequestWrapInfo(
            ttl=ns_to_timedelta(msg.wrap_info.TTL),
            format=msg.wrap_info.format,
            seal_wrap=msg.wrap_info.seal_wrap,
        )
    if msg.HasField("connection"):
        req.connection = Connection(
            remote_addr=msg.connection.remote_addr, remote_port=msg.connection.remote_port
        )
    return req


def _wrap_info_to_proto(info: WrapInfo) -> pb.ResponseWrapInfo:
    return pb.ResponseWrapInfo(
        TTL=timedelta_to_ns(info.ttl),
        token=info.token,
        accessor=info.accessor,
        creation_time=datetime_to_timestamp(utcnow()),
        format=info.format,
        creation_path=info.creation_path,
        seal_wrap=info.seal_wrap,
    )


def response_to_proto(resp: Response) -> pb.Response:
    msg = pb.Response(
        data="null" if resp.data is None else encode_json(resp.data),
        redirect=resp.redirect,
        warnings=resp.warnings,
    )
    if resp.secret is not None:
        msg.secret.CopyFrom(secret_to_proto(resp.secret))
    if resp.wrap_info is not None:
        msg.wrap_info.CopyFrom(_wrap_info_to_proto(resp.wrap_info))
    for name, values in resp.headers.items():
        msg.headers[name].header.extend(values)
    return msg


def error_to_proto(exc: LogicalError) -> pb.ProtoError:
    return pb.ProtoError(err_type=int(exc.err_type), err_msg=exc.message, err_code=exc.code)


def plain_error(message: str) -> pb.ProtoError:
    return pb.ProtoError(err_type=int(ErrType.UNKNOWN), err_msg=message)
