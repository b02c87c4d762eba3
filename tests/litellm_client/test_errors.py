"""Classification of every error shape (docs/litellm-api.md §6), on bodies the real proxy sent."""

from __future__ import annotations

import builtins
import json
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from litellm_client import (
    AliasConflictError,
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    EnterpriseFeatureError,
    ExpiredKeyError,
    InvalidDurationError,
    InvalidKeyError,
    KeyBlockedError,
    LiteLLMError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    RequestValidationError,
    ServerError,
    TransportError,
    error_from_response,
)
from litellm_client._envelope import parse_envelope, unwrap_message
from litellm_client.errors import classify_response, transport_error

ENTERPRISE_TAIL = (
    " You must be a LiteLLM Enterprise user to use this feature. If you have a license please set "
    "`LITELLM_LICENSE` in your env. Get a 7 day trial key here: https://www.litellm.ai/enterprise#trial."
    " \\nPricing: https://www.litellm.ai/#pricing"
)


def envelope_a(message: str, type_: str | None, param: str | None, status: int) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": str(status)}}


# (status, body, class, unwrapped message, type, param), all observed on LiteLLM 1.106.12.
CASES: list[tuple[int, Any, type[LiteLLMError], str, str | None, str | None]] = [
    (
        404,
        envelope_a("{'error': 'No keys found'}", "internal_server_error", None, 404),
        NotFoundError,
        "No keys found",
        "internal_server_error",
        None,
    ),
    (
        404,
        envelope_a("Key not found in database", "not_found_error", "key", 404),
        NotFoundError,
        "Key not found in database",
        "not_found_error",
        "key",
    ),
    (404, {"detail": "Not Found"}, NotFoundError, "Not Found", None, None),
    (
        400,
        envelope_a(
            "Key with alias 'a' already exists. Unique key aliases across all keys are required.",
            "bad_request_error",
            "key_alias",
            400,
        ),
        AliasConflictError,
        "Key with alias 'a' already exists. Unique key aliases across all keys are required.",
        "bad_request_error",
        "key_alias",
    ),
    (
        400,
        envelope_a(
            "Multiple keys share key_alias='x', so it cannot be used as an identifier.",
            "bad_request_error",
            "key_alias",
            400,
        ),
        AliasConflictError,
        "Multiple keys share key_alias='x', so it cannot be used as an identifier.",
        "bad_request_error",
        "key_alias",
    ),
    (
        500,
        envelope_a("Invalid duration format", "internal_server_error", None, 500),
        InvalidDurationError,
        "Invalid duration format",
        "internal_server_error",
        None,
    ),
    (
        500,
        envelope_a(
            "Unsupported duration unit, passed duration: 30", "internal_server_error", None, 500
        ),
        InvalidDurationError,
        "Unsupported duration unit, passed duration: 30",
        "internal_server_error",
        None,
    ),
    (
        400,
        envelope_a("Authentication Error, Invalid duration format", "auth_error", "None", 400),
        InvalidDurationError,
        "Authentication Error, Invalid duration format",
        "auth_error",
        None,
    ),
    (
        400,
        envelope_a(
            "{'error': \"Invalid budget_duration 'bogus'. Use a format like '1h', '24h', '7d', or "
            "'30d'.\"}",
            "internal_server_error",
            None,
            400,
        ),
        InvalidDurationError,
        "Invalid budget_duration 'bogus'. Use a format like '1h', '24h', '7d', or '30d'.",
        "internal_server_error",
        None,
    ),
    (
        400,
        envelope_a(
            "{'error': 'max_budget must be a non-negative finite number. Received: -5.0'}",
            "auth_error",
            "None",
            400,
        ),
        BadRequestError,
        "max_budget must be a non-negative finite number. Received: -5.0",
        "auth_error",
        None,
    ),
    (
        400,
        envelope_a("Invalid key format.", "bad_request_error", "key", 400),
        BadRequestError,
        "Invalid key format.",
        "bad_request_error",
        "key",
    ),
    (
        422,
        {
            "detail": [
                {
                    "type": "float_parsing",
                    "loc": ["body", "max_budget"],
                    "msg": "Input should be a valid number, unable to parse string as a number",
                }
            ]
        },
        RequestValidationError,
        "max_budget: Input should be a valid number, unable to parse string as a number",
        None,
        None,
    ),
    (
        422,
        {
            "detail": [
                {
                    "type": "value_error",
                    "loc": ["body"],
                    "msg": "Value error, either key or key_alias must be provided",
                }
            ]
        },
        RequestValidationError,
        "body: Value error, either key or key_alias must be provided",
        None,
        None,
    ),
    (
        422,
        envelope_a(
            "Budget has been exceeded! Key=probe (sk-...oAoQ) Current cost: 0.048, "
            "Max budget: 0.0001",
            "budget_exceeded",
            None,
            422,
        ),
        BudgetExceededError,
        "Budget has been exceeded! Key=probe (sk-***) Current cost: 0.048, Max budget: 0.0001",
        "budget_exceeded",
        None,
    ),
    (
        429,
        envelope_a(
            "Rate limit exceeded for api_key: 129d6f. Limit type: requests.",
            "throttling_error",
            None,
            429,
        ),
        RateLimitError,
        "Rate limit exceeded for api_key: 129d6f. Limit type: requests.",
        "throttling_error",
        None,
    ),
    (
        401,
        envelope_a("Authentication Error, No api key passed in.", "auth_error", "None", 401),
        AuthenticationError,
        "Authentication Error, No api key passed in.",
        "auth_error",
        None,
    ),
    (
        401,
        envelope_a(
            "Authentication Error, Invalid proxy server token passed. Received API Key = sk-..., "
            "Key Hash (Token) =b50d7c. Unable to find token in cache",
            "token_not_found_in_db",
            "key",
            401,
        ),
        InvalidKeyError,
        "Authentication Error, Invalid proxy server token passed. Received API Key = sk-***,"
        " Key Hash (Token) =b50d7c. Unable to find token in cache",
        "token_not_found_in_db",
        "key",
    ),
    (
        401,
        envelope_a(
            "Authentication Error - Expired Key. Key Expiry time 2026-11-27 03:38:44.953000+00:00",
            "expired_key",
            "sk-...408a",
            401,
        ),
        ExpiredKeyError,
        "Authentication Error - Expired Key. Key Expiry time 2026-11-27 03:38:44.953000+00:00",
        "expired_key",
        "sk-***",
    ),
    (
        401,
        envelope_a(
            "Authentication Error, Key is blocked. Update via `/key/unblock` if you're an admin.",
            "auth_error",
            "None",
            401,
        ),
        KeyBlockedError,
        "Authentication Error, Key is blocked. Update via `/key/unblock` if you're an admin.",
        "auth_error",
        None,
    ),
    (
        401,
        envelope_a(
            "Authentication Error, Only proxy admin can be used to generate, delete, update info "
            "for new keys/users/teams. Route=/key/generate. Your role=unknown.",
            "auth_error",
            "None",
            401,
        ),
        PermissionDeniedError,
        "Authentication Error, Only proxy admin can be used to generate, delete, update info for "
        "new keys/users/teams. Route=/key/generate. Your role=unknown.",
        "auth_error",
        None,
    ),
    (
        403,
        {
            "detail": "Virtual key is not allowed to call this route. Only allowed to call routes: "
            "['llm_api_routes']. Tried to call route: /key/generate"
        },
        PermissionDeniedError,
        "Virtual key is not allowed to call this route. Only allowed to call routes: "
        "['llm_api_routes']. Tried to call route: /key/generate",
        None,
        None,
    ),
    (
        403,
        envelope_a(
            "The requested model 'fake-other' is not available for this API key.",
            "key_model_access_denied",
            "model",
            403,
        ),
        PermissionDeniedError,
        "The requested model 'fake-other' is not available for this API key.",
        "key_model_access_denied",
        "model",
    ),
    (
        403,
        envelope_a(
            "{'error': 'This feature is only available for LiteLLM Enterprise users: tags."
            + ENTERPRISE_TAIL
            + "'}",
            "auth_error",
            "None",
            403,
        ),
        EnterpriseFeatureError,
        "This feature is only available for LiteLLM Enterprise users: tags."
        + ENTERPRISE_TAIL.replace("\\n", "\n"),
        "auth_error",
        None,
    ),
    (
        500,
        envelope_a(
            "Regenerating Virtual Keys is an Enterprise feature," + ENTERPRISE_TAIL,
            "internal_server_error",
            None,
            500,
        ),
        EnterpriseFeatureError,
        "Regenerating Virtual Keys is an Enterprise feature," + ENTERPRISE_TAIL,
        "internal_server_error",
        None,
    ),
    (
        500,
        envelope_a(
            "Invalid model_max_budget: You must have an enterprise license to set "
            "model_max_budget.",
            "internal_server_error",
            None,
            500,
        ),
        EnterpriseFeatureError,
        "Invalid model_max_budget: You must have an enterprise license to set model_max_budget.",
        "internal_server_error",
        None,
    ),
    (
        500,
        {"error": {"message": "Internal server error", "type": "internal_server_error"}},
        ServerError,
        "Internal server error",
        "internal_server_error",
        None,
    ),
    (
        503,
        {"status": "shutting_down"},
        TransportError,
        'unexpected answer, none of the proxy\'s error shapes: \'{"status": "shutting_down"}\'',
        None,
        None,
    ),
]


def _response(status: int, body: Any, method: str = "POST", path: str = "/key/x") -> httpx.Response:
    request = httpx.Request(method, f"http://proxy.test{path}?key=abc")
    return httpx.Response(status, content=json.dumps(body).encode(), request=request)


@pytest.mark.parametrize(("status", "body", "cls", "message", "type_", "param"), CASES)
def test_classification(
    status: int,
    body: Any,
    cls: type[LiteLLMError],
    message: str,
    type_: str | None,
    param: str | None,
) -> None:
    error = error_from_response(_response(status, body))
    assert type(error) is cls
    assert error.status == status
    assert error.message == message
    assert error.type == type_
    assert error.param == param
    assert error.method == "POST"
    assert error.path == "/key/x"
    assert str(error).startswith(f"POST /key/x -> HTTP {status}")
    assert message in str(error)
    assert "?key=" not in str(error)


def test_dict_repr_message_keeps_the_raw_text() -> None:
    error = error_from_response(_response(404, CASES[0][1]))
    assert error.raw_message == "{'error': 'No keys found'}"
    assert error.message == "No keys found"
    assert error.body == CASES[0][1]


def test_validation_detail_is_kept() -> None:
    error = error_from_response(_response(422, CASES[11][1]))
    assert isinstance(error, RequestValidationError)
    assert error.detail == CASES[11][1]["detail"]


def test_html_from_a_gateway_is_a_transport_error_with_its_status() -> None:
    request = httpx.Request("GET", "http://proxy.test/key/info")
    response = httpx.Response(502, content=b"<html>Bad Gateway</html>", request=request)
    error = error_from_response(response)
    assert type(error) is TransportError
    assert error.status == 502
    assert error.retryable
    assert error.maybe_processed
    assert "Bad Gateway" in error.message


def test_retry_after_and_call_id_are_read_from_headers() -> None:
    request = httpx.Request("GET", "http://proxy.test/key/info")
    response = httpx.Response(
        429,
        json=CASES[14][1],
        headers={"retry-after": "60", "x-litellm-call-id": "call-1"},
        request=request,
    )
    error = error_from_response(response)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 60.0
    assert error.request_id == "call-1"
    assert not error.maybe_processed  # a 429 means nothing was done


def test_refusals_are_not_marked_as_possibly_processed() -> None:
    for status, body, cls, *_ in CASES:
        error = error_from_response(_response(status, body))
        assert error.maybe_processed is (cls in (ServerError, TransportError))


def test_response_without_request_is_classified_without_location() -> None:
    error = error_from_response(httpx.Response(404, json={"detail": "Not Found"}))
    assert isinstance(error, NotFoundError)
    assert str(error) == "HTTP 404: Not Found"


@pytest.mark.parametrize(
    ("exc", "cls", "maybe_processed"),
    [
        (httpx.ConnectError("refused"), TransportError, False),
        (httpx.ConnectTimeout("slow connect"), RequestTimeoutError, False),
        (httpx.PoolTimeout("pool"), RequestTimeoutError, False),
        (httpx.ReadTimeout("slow read"), RequestTimeoutError, True),
        (httpx.WriteTimeout("slow write"), RequestTimeoutError, True),
        (httpx.RemoteProtocolError("closed"), TransportError, True),
        (httpx.ReadError("reset"), TransportError, True),
    ],
)
def test_network_failures(
    exc: httpx.TransportError, cls: type[LiteLLMError], maybe_processed: bool
) -> None:
    error = transport_error(exc, method="GET", path="/key/info")
    assert type(error) is cls
    assert error.status is None
    assert error.retryable
    assert error.maybe_processed is maybe_processed
    assert str(error).startswith(f"GET /key/info: no answer ({type(exc).__name__})")


def test_client_timeout_is_also_the_builtin_timeout() -> None:
    error = transport_error(httpx.ReadTimeout("t"), method="GET", path="/key/info")
    assert isinstance(error, builtins.TimeoutError)
    assert isinstance(error, TransportError)
    assert isinstance(error, LiteLLMError)
    assert RequestTimeoutError is not builtins.TimeoutError


def test_star_import_does_not_shadow_the_builtin_timeout() -> None:
    namespace: dict[str, Any] = {}
    exec("from litellm_client import *", namespace)  # noqa: S102 - the point of the test
    assert "TimeoutError" not in namespace
    assert namespace["RequestTimeoutError"] is RequestTimeoutError


@pytest.mark.parametrize(
    ("raw", "unwrapped"),
    [
        ("{'error': 'No keys found'}", "No keys found"),
        ("{'message': 'inner'}", "inner"),
        ("{'error': {'nested': 1}}", "{'error': {'nested': 1}}"),
        ("{__import__('os').system('true')}", "{__import__('os').system('true')}"),
        ("{'error': 'x'", "{'error': 'x'"),
        ("plain text", "plain text"),
        ("{" * 5000 + "}" * 5000, "{" * 5000 + "}" * 5000),
        ("{[" * 3000 + "]}" * 3000, "{[" * 3000 + "]}" * 3000),
    ],
)
def test_unwrap_message_is_safe_and_falls_back_to_the_raw_text(raw: str, unwrapped: str) -> None:
    assert unwrap_message(raw) == unwrapped


@given(st.text(max_size=200))
def test_unwrap_round_trips_any_dict_repr_message(text: str) -> None:
    assert unwrap_message(repr({"error": text})) == text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(
    status=st.integers(min_value=300, max_value=599),
    body=json_values
    | st.fixed_dictionaries({"error": json_values})
    | st.fixed_dictionaries({"detail": json_values}),
)
def test_any_json_error_body_is_classified_without_crashing(status: int, body: Any) -> None:
    content = json.dumps(body).encode()
    error = classify_response(status, content, httpx.Headers(), method="GET", path="/key/info")
    assert isinstance(error, LiteLLMError)
    assert error.status == status
    assert str(error).startswith(f"GET /key/info -> HTTP {status}")
    envelope = parse_envelope(body)
    assert isinstance(error, TransportError) is (envelope is None)


@given(st.binary(max_size=200), st.integers(min_value=400, max_value=599))
def test_any_bytes_are_classified_without_crashing(content: bytes, status: int) -> None:
    error = classify_response(status, content, httpx.Headers(), method="GET", path="/x")
    assert isinstance(error, LiteLLMError)
    assert error.status == status
