"""Retry policy, generate's no-second-key rule and delete's "No keys found" after a lost answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st
from litellm_client import (
    AliasConflictError,
    Backoff,
    BadRequestError,
    BudgetExceededError,
    EnterpriseFeatureError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    TransportError,
    hash_key,
)
from litellm_client.retry import parse_retry_after

if TYPE_CHECKING:
    from tests.litellm_client.conftest import Harness, MakeHarness

RAW = "sk-custom-retry-key-0123456789"
TOKEN = hash_key(RAW)


def envelope(status: int, message: str, type_: str, param: str | None) -> dict[str, Any]:
    """An error body of shape A, as the proxy writes it."""
    return {"error": {"message": message, "type": type_, "param": param, "code": str(status)}}


SERVER_ERROR = httpx.Response(
    500, json={"error": {"message": "Internal server error", "type": "internal_server_error"}}
)
NO_KEYS_FOUND = httpx.Response(
    404,
    json=envelope(404, "{'error': 'No keys found'}", "internal_server_error", None),
)
THROTTLED = envelope(429, "Rate limit exceeded", "throttling_error", None)


def info_answer(samples: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {"key": TOKEN, "info": {**samples["info"]["info"], **changes}}


async def test_server_errors_are_retried_with_exponential_backoff(
    api: Harness, router: respx.MockRouter
) -> None:
    route = router.get("/key/info").mock(side_effect=[SERVER_ERROR] * 3)
    error = await api.fails("key_info", TOKEN)
    assert isinstance(error, ServerError)
    assert route.call_count == 3
    assert error.attempts == 3
    assert api.sleeps == [0.5, 1.0]
    assert str(error).endswith("[after 3 attempts]")


async def test_a_retry_that_succeeds_returns_the_answer(
    api: Harness, router: respx.MockRouter, samples: dict[str, Any]
) -> None:
    route = router.get("/key/info").mock(
        side_effect=[
            httpx.ConnectError("refused"),
            SERVER_ERROR,
            httpx.Response(200, json=samples["info"]),
        ]
    )
    info = await api.call("key_info", TOKEN)
    assert info.status == "active"
    assert route.call_count == 3


@pytest.mark.parametrize("max_retries", [0, 1, 4])
async def test_max_retries_is_the_limit(
    make_api: MakeHarness, router: respx.MockRouter, max_retries: int
) -> None:
    api = make_api(max_retries=max_retries)
    route = router.post("/key/block").mock(side_effect=httpx.ConnectError("refused"))
    error = await api.fails("block_key", TOKEN)
    assert isinstance(error, TransportError)
    assert route.call_count == max_retries + 1 == error.attempts
    assert len(api.sleeps) == max_retries


async def test_backoff_is_capped_and_jittered(
    make_api: MakeHarness, router: respx.MockRouter
) -> None:
    api = make_api(max_retries=6, backoff=Backoff(initial=1, maximum=4, jitter=0.5))
    router.get("/health/readiness").mock(side_effect=[SERVER_ERROR] * 7)
    await api.fails("health")
    ceilings = [1, 2, 4, 4, 4, 4]
    assert len(api.sleeps) == len(ceilings)
    for slept, ceiling in zip(api.sleeps, ceilings, strict=True):
        assert ceiling * 0.5 <= slept <= ceiling


async def test_retry_after_seconds_is_honoured(
    api: Harness, router: respx.MockRouter, samples: dict[str, Any]
) -> None:
    router.get("/key/info").mock(
        side_effect=[
            httpx.Response(429, json=THROTTLED, headers={"retry-after": "7"}),
            httpx.Response(200, json=samples["info"]),
        ]
    )
    await api.call("key_info", TOKEN)
    assert api.sleeps == [7.0]


async def test_retry_after_date_within_the_cap_is_honoured(
    make_api: MakeHarness, router: respx.MockRouter, samples: dict[str, Any]
) -> None:
    api = make_api(backoff=Backoff(max_retry_after=7200))
    later = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    router.get("/key/info").mock(
        side_effect=[
            httpx.Response(503, json=SERVER_ERROR.json(), headers={"retry-after": later}),
            httpx.Response(200, json=samples["info"]),
        ]
    )
    await api.call("key_info", TOKEN)
    assert len(api.sleeps) == 1
    assert 3500 < api.sleeps[0] <= 3600


@pytest.mark.parametrize("retry_after", ["31", "3600", "date"])
async def test_a_retry_after_beyond_the_cap_is_not_waited_for(
    make_api: MakeHarness, router: respx.MockRouter, retry_after: str
) -> None:
    # Retrying at the cap, before the proxy's time, would only be refused again.
    api = make_api(backoff=Backoff(max_retry_after=30))
    if retry_after == "date":
        retry_after = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    route = router.get("/key/info").mock(
        side_effect=[httpx.Response(429, json=THROTTLED, headers={"retry-after": retry_after})] * 3
    )
    error = await api.fails("key_info", TOKEN)
    assert isinstance(error, RateLimitError)
    assert error.retry_after is not None
    assert error.retry_after > 30
    assert route.call_count == 1
    assert error.attempts == 1
    assert api.sleeps == []


async def test_a_retry_after_at_the_cap_is_waited_for(
    make_api: MakeHarness, router: respx.MockRouter, samples: dict[str, Any]
) -> None:
    api = make_api(backoff=Backoff(max_retry_after=30))
    router.get("/key/info").mock(
        side_effect=[
            httpx.Response(429, json=THROTTLED, headers={"retry-after": "30"}),
            httpx.Response(200, json=samples["info"]),
        ]
    )
    await api.call("key_info", TOKEN)
    assert api.sleeps == [30.0]


async def test_rate_limit_exhausts_retries(api: Harness, router: respx.MockRouter) -> None:
    router.post("/key/update").mock(side_effect=[httpx.Response(429, json=THROTTLED)] * 3)
    error = await api.fails("update_key", TOKEN, max_budget=1)
    assert isinstance(error, RateLimitError)
    assert error.attempts == 3


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (
            400,
            envelope(400, "Invalid key format.", "bad_request_error", "key"),
            BadRequestError,
        ),
        (404, NO_KEYS_FOUND.json(), NotFoundError),
        (
            422,
            envelope(422, "Budget has been exceeded!", "budget_exceeded", None),
            BudgetExceededError,
        ),
        (
            429,
            envelope(429, "Budget has been exceeded!", "budget_exceeded", None),
            BudgetExceededError,
        ),
        (
            500,
            envelope(
                500,
                "Regenerating Virtual Keys is an Enterprise feature, You must "
                "be a LiteLLM Enterprise user to use this feature.",
                "internal_server_error",
                None,
            ),
            EnterpriseFeatureError,
        ),
    ],
)
async def test_refusals_are_not_retried(
    api: Harness, router: respx.MockRouter, status: int, body: Any, cls: type[Exception]
) -> None:
    route = router.post("/key/block").respond(status, json=body)
    error = await api.fails("block_key", TOKEN)
    assert type(error) is cls
    assert route.call_count == 1
    assert api.sleeps == []


async def test_timeouts_raise_the_client_timeout_error(
    api: Harness, router: respx.MockRouter
) -> None:
    router.get("/key/info").mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(TimeoutError) as caught:  # the builtin catches it
        await api.call("key_info", TOKEN)
    assert isinstance(caught.value, RequestTimeoutError)
    assert caught.value.attempts == 3


# --- generate_key: never a second key ------------------------------------------------------------

CUSTOM_KEYS_DISABLED = httpx.Response(
    403,
    # As a real 1.106.12 proxy with general_settings.disable_custom_api_keys answered.
    json=envelope(
        403,
        "{'error': 'Custom API key values are disabled by your administrator. Keys must be "
        "auto-generated.'}",
        "internal_server_error",
        None,
    ),
)
NOT_IN_DATABASE = httpx.Response(
    404, json=envelope(404, "Key not found in database", "not_found_error", "key")
)


def alias_taken(alias: str) -> httpx.Response:
    return httpx.Response(
        400,
        json=envelope(
            400,
            f"Key with alias '{alias}' already exists. Unique key aliases across all keys are "
            "required.",
            "bad_request_error",
            "key_alias",
        ),
    )


def sent_key(route: respx.Route, index: int) -> Any:
    return json.loads(route.calls[index].request.content).get("key")


def is_client_made(raw: Any) -> bool:
    return isinstance(raw, str) and raw.startswith("sk-") and len(raw) == 3 + 43


async def test_generate_without_a_key_sends_one_and_recovers_by_its_token(
    api: Harness, router: respx.MockRouter, samples: dict[str, Any]
) -> None:
    generate = router.post("/key/generate").mock(side_effect=httpx.ReadTimeout("lost"))
    info = router.get("/key/info").respond(200, json=info_answer(samples, key_alias="mine"))
    listing = router.get("/key/list")
    key = await api.call("generate_key", key_alias="mine", models=["fake-gpt"])
    raw = sent_key(generate, 0)
    assert is_client_made(raw)
    assert generate.call_count == 1
    assert info.calls.last.request.url.params["key"] == hash_key(raw)
    assert not listing.called
    assert key.recovered
    assert key.key == raw  # usable: the client made it, so it still knows it


async def test_every_attempt_of_one_generate_carries_the_same_key(
    api: Harness, router: respx.MockRouter, samples: dict[str, Any]
) -> None:
    # A retry with the same raw key cannot mint a second key beside a late-landing first attempt:
    # the proxy upserts custom keys by their token.
    generate = router.post("/key/generate").mock(
        side_effect=[
            SERVER_ERROR,
            httpx.ReadTimeout("lost"),
            httpx.Response(200, json=samples["generated"]),
            httpx.Response(200, json=samples["generated"]),
        ]
    )
    info = router.get("/key/info").mock(return_value=NOT_IN_DATABASE)
    key = await api.call("generate_key", key_alias="vault-x")
    keys = [sent_key(generate, i) for i in range(3)]
    assert is_client_made(keys[0])
    assert keys == [keys[0]] * 3
    assert info.call_count == 2
    assert {c.request.url.params["key"] for c in info.calls} == {hash_key(keys[0])}
    assert not key.recovered
    # Each call makes its own key.
    await api.call("generate_key", key_alias="vault-y")
    assert is_client_made(sent_key(generate, 3))
    assert sent_key(generate, 3) != keys[0]


async def test_generate_never_adopts_a_key_found_by_its_alias(
    api: Harness, router: respx.MockRouter
) -> None:
    # The first answer is lost, but the attempt was really refused: another caller's key holds the
    # alias. Only a key with this call's token counts as this call's key.
    generate = router.post("/key/generate").mock(
        side_effect=[httpx.ReadTimeout("lost"), alias_taken("shared")]
    )
    info = router.get("/key/info").mock(return_value=NOT_IN_DATABASE)
    listing = router.get("/key/list").respond(
        200,
        json={
            "keys": [{"token": "f" * 64, "key_alias": "shared"}],
            "total_count": 1,
            "current_page": 1,
            "total_pages": 1,
        },
    )
    error = await api.fails("generate_key", key_alias="shared")
    assert isinstance(error, AliasConflictError)
    assert error.maybe_processed  # the first attempt's fate is still open
    assert generate.call_count == 2
    assert info.call_count == 2
    assert not listing.called


async def test_generate_recognises_a_late_landing_first_attempt(
    api: Harness, router: respx.MockRouter, samples: dict[str, Any]
) -> None:
    # Attempt 1 times out; the probe finds nothing yet; attempt 2 collides with the key attempt 1
    # created meanwhile; the second probe finds it by its token.
    generate = router.post("/key/generate").mock(
        side_effect=[httpx.ReadTimeout("lost"), alias_taken("vault-y")]
    )
    router.get("/key/info").mock(
        side_effect=[NOT_IN_DATABASE, httpx.Response(200, json=info_answer(samples))]
    )
    key = await api.call("generate_key", key_alias="vault-y")
    assert generate.call_count == 2
    assert sent_key(generate, 1) == sent_key(generate, 0)
    assert key.recovered
    assert key.key == sent_key(generate, 0)


async def test_a_first_alias_conflict_is_not_probed(api: Harness, router: respx.MockRouter) -> None:
    router.post("/key/generate").mock(return_value=alias_taken("z"))
    info = router.get("/key/info")
    error = await api.fails("generate_key", key_alias="z")
    assert isinstance(error, AliasConflictError)
    assert not error.maybe_processed
    assert not info.called


@pytest.mark.parametrize(
    "first",
    [httpx.ConnectError("refused"), httpx.Response(429, json=THROTTLED), httpx.PoolTimeout("pool")],
)
async def test_generate_is_retried_when_the_proxy_certainly_did_nothing(
    api: Harness, router: respx.MockRouter, samples: dict[str, Any], first: Any
) -> None:
    route = router.post("/key/generate").mock(
        side_effect=[first, httpx.Response(200, json=samples["generated"])]
    )
    info = router.get("/key/info")
    key = await api.call("generate_key")
    assert route.call_count == 2
    assert not info.called
    assert not key.recovered


async def test_a_later_refusal_still_says_an_earlier_attempt_may_have_landed(
    api: Harness, router: respx.MockRouter
) -> None:
    router.post("/key/generate").mock(
        side_effect=[httpx.ReadTimeout("lost"), *[httpx.Response(429, json=THROTTLED)] * 2]
    )
    router.get("/key/info").mock(return_value=NOT_IN_DATABASE)
    error = await api.fails("generate_key")
    assert isinstance(error, RateLimitError)
    assert error.attempts == 3
    assert error.maybe_processed


async def test_generate_with_custom_key_recovers_a_key_whose_answer_was_lost(
    api: Harness, router: respx.MockRouter, samples: dict[str, Any]
) -> None:
    generate = router.post("/key/generate").mock(side_effect=httpx.ReadTimeout("lost"))
    info = router.get("/key/info").respond(200, json=info_answer(samples, key_alias="mine"))
    key = await api.call("generate_key", key=RAW, key_alias="mine", models=["fake-gpt"])
    assert generate.call_count == 1
    assert sent_key(generate, 0) == RAW
    assert info.calls.last.request.url.params["key"] == TOKEN
    assert key.recovered
    assert key.key == RAW
    assert key.token == TOKEN
    assert key.key_alias == "mine"


async def test_generate_with_custom_key_retries_when_the_key_is_absent(
    api: Harness, router: respx.MockRouter, samples: dict[str, Any]
) -> None:
    generate = router.post("/key/generate").mock(
        side_effect=[SERVER_ERROR, httpx.Response(200, json=samples["generated"])]
    )
    router.get("/key/info").mock(return_value=NOT_IN_DATABASE)
    key = await api.call("generate_key", key=RAW)
    assert generate.call_count == 2
    assert sent_key(generate, 1) == RAW
    assert not key.recovered
    assert api.sleeps == [0.5]


async def test_generate_with_custom_key_retries_when_only_a_deleted_key_had_it(
    api: Harness, router: respx.MockRouter, samples: dict[str, Any]
) -> None:
    generate = router.post("/key/generate").mock(
        side_effect=[httpx.ReadTimeout("lost"), httpx.Response(200, json=samples["generated"])]
    )
    router.get("/key/info").respond(200, json=info_answer(samples, status="deleted"))
    key = await api.call("generate_key", key=RAW)
    assert generate.call_count == 2
    assert not key.recovered


# --- generate_key when the proxy refuses custom keys ----------------------------------------------


async def test_refused_custom_keys_fall_back_to_a_key_the_proxy_makes(
    api: Harness, router: respx.MockRouter, samples: dict[str, Any]
) -> None:
    generate = router.post("/key/generate").mock(
        side_effect=[CUSTOM_KEYS_DISABLED, httpx.Response(200, json=samples["generated"])]
    )
    key = await api.call("generate_key", key_alias="a", models=["fake-gpt"])
    first = json.loads(generate.calls[0].request.content)
    second = json.loads(generate.calls[1].request.content)
    assert is_client_made(first.pop("key"))
    assert second == first == {"key_alias": "a", "models": ["fake-gpt"]}
    assert key.key == samples["generated"]["key"]
    assert not key.recovered
    assert api.sleeps == []


@pytest.mark.parametrize(
    "lost", [httpx.ReadTimeout("lost"), SERVER_ERROR, httpx.Response(200, text="<html>")]
)
async def test_the_fallback_is_never_retried_after_an_answer_that_may_be_lost(
    api: Harness, router: respx.MockRouter, lost: Any
) -> None:
    generate = router.post("/key/generate").mock(side_effect=[CUSTOM_KEYS_DISABLED, lost, lost])
    info = router.get("/key/info")
    listing = router.get("/key/list")
    error = await api.fails("generate_key", key_alias="a")
    assert error.maybe_processed
    assert error.path == "/key/generate"
    assert generate.call_count == 2
    assert not info.called
    assert not listing.called
    assert api.sleeps == []


async def test_the_fallback_is_retried_when_the_proxy_certainly_did_nothing(
    api: Harness, router: respx.MockRouter, samples: dict[str, Any]
) -> None:
    generate = router.post("/key/generate").mock(
        side_effect=[
            CUSTOM_KEYS_DISABLED,
            httpx.ConnectError("refused"),
            httpx.Response(200, json=samples["generated"]),
        ]
    )
    key = await api.call("generate_key")
    assert generate.call_count == 3
    assert sent_key(generate, 2) is None
    assert key.token == samples["generated"]["token"]


async def test_a_callers_own_key_is_never_swapped_for_another(
    api: Harness, router: respx.MockRouter
) -> None:
    generate = router.post("/key/generate").mock(return_value=CUSTOM_KEYS_DISABLED)
    error = await api.fails("generate_key", key=RAW)
    assert isinstance(error, PermissionDeniedError)
    assert error.status == 403
    assert "Custom API key values are disabled" in error.message
    assert not error.maybe_processed
    assert generate.call_count == 1


async def test_generate_probes_even_with_no_retries_left(
    make_api: MakeHarness, router: respx.MockRouter, samples: dict[str, Any]
) -> None:
    api = make_api(max_retries=0)
    router.post("/key/generate").mock(side_effect=httpx.ReadTimeout("lost"))
    router.get("/key/info").respond(200, json=info_answer(samples))
    key = await api.call("generate_key", key=RAW)
    assert key.recovered
    assert key.key == RAW


async def test_generate_raises_the_original_error_when_the_probe_fails(
    api: Harness, router: respx.MockRouter
) -> None:
    generate = router.post("/key/generate").mock(side_effect=httpx.ReadTimeout("lost"))
    router.get("/key/info").mock(side_effect=httpx.ConnectError("down"))
    error = await api.fails("generate_key", key=RAW)
    assert isinstance(error, RequestTimeoutError)
    assert error.path == "/key/generate"
    assert isinstance(error.__cause__, TransportError)
    assert error.__cause__.path == "/key/info"
    assert generate.call_count == 1


async def test_regenerate_is_not_retried_after_a_lost_answer(
    api: Harness, router: respx.MockRouter
) -> None:
    route = router.post("/key/regenerate").mock(side_effect=httpx.ReadTimeout("lost"))
    await api.fails("regenerate_key", TOKEN)
    assert route.call_count == 1


async def test_regenerate_with_new_key_recovers(
    api: Harness, router: respx.MockRouter, samples: dict[str, Any]
) -> None:
    router.post("/key/regenerate").mock(side_effect=httpx.ReadTimeout("lost"))
    info = router.get("/key/info").respond(200, json=info_answer(samples))
    key = await api.call("regenerate_key", "e" * 64, new_key=RAW)
    assert info.calls.last.request.url.params["key"] == TOKEN
    assert key.recovered
    assert key.key == RAW


# --- delete_keys: "No keys found" ----------------------------------------------------------------


async def test_no_keys_found_on_the_first_attempt_is_not_found(
    api: Harness, router: respx.MockRouter
) -> None:
    route = router.post("/key/delete").mock(side_effect=[NO_KEYS_FOUND])
    error = await api.fails("delete_keys", [TOKEN])
    assert isinstance(error, NotFoundError)
    assert error.message == "No keys found"
    assert route.call_count == 1


async def test_no_keys_found_after_a_lost_answer_counts_as_deleted(
    api: Harness, router: respx.MockRouter
) -> None:
    route = router.post("/key/delete").mock(side_effect=[httpx.ReadTimeout("lost"), NO_KEYS_FOUND])
    result = await api.call("delete_keys", [TOKEN])
    assert result.none_found
    assert result.deleted_keys == []
    assert route.call_count == 2


async def test_no_keys_found_after_a_refused_connection_is_still_not_found(
    api: Harness, router: respx.MockRouter
) -> None:
    # The first attempt never reached the proxy, so it cannot have deleted anything.
    router.post("/key/delete").mock(side_effect=[httpx.ConnectError("refused"), NO_KEYS_FOUND])
    error = await api.fails("delete_keys", [TOKEN])
    assert isinstance(error, NotFoundError)


async def test_missing_ok_counts_no_keys_found_as_done(
    api: Harness, router: respx.MockRouter
) -> None:
    router.post("/key/delete").mock(side_effect=[NO_KEYS_FOUND])
    result = await api.call("delete_keys", [TOKEN], missing_ok=True)
    assert result.none_found


async def test_other_404s_stay_errors_even_with_missing_ok(
    api: Harness, router: respx.MockRouter
) -> None:
    router.post("/key/delete").respond(404, json={"detail": "Not Found"})
    error = await api.fails("delete_keys", [TOKEN], missing_ok=True)
    assert isinstance(error, NotFoundError)
    assert error.message == "Not Found"


# --- timing rules ---------------------------------------------------------------------------------


@given(
    retry=st.integers(min_value=1, max_value=30),
    rand=st.floats(min_value=0, max_value=1),
    jitter=st.floats(min_value=0, max_value=1),
)
def test_backoff_delay_bounds(retry: int, rand: float, jitter: float) -> None:
    backoff = Backoff(initial=0.5, maximum=8, jitter=jitter)
    delay = backoff.delay(retry, rand=lambda: rand)
    ceiling = min(0.5 * 2 ** (retry - 1), 8)
    assert ceiling * (1 - jitter) <= delay <= ceiling


@given(st.floats(min_value=-1e6, max_value=1e6))
def test_retry_after_is_capped_and_never_negative(seconds: float) -> None:
    backoff = Backoff(max_retry_after=60)
    delay = backoff.delay(1, retry_after=seconds)
    assert 0 <= delay <= 60
    assert backoff.waits_for(seconds) is (seconds <= 60)
    if backoff.waits_for(seconds):
        assert delay == max(seconds, 0.0)


def test_parse_retry_after_forms() -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert parse_retry_after("60", now) == 60.0
    assert parse_retry_after(" 1.5 ", now) == 1.5
    assert parse_retry_after("Fri, 27 Nov 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Fri, 27 Nov 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("-5", now) == 0.0
    for bad in (None, "", "soon", "nan", "inf"):
        assert parse_retry_after(bad, now) is None


@pytest.mark.parametrize(
    "kwargs", [{"initial": -1}, {"maximum": -1}, {"max_retry_after": -1}, {"jitter": 1.5}]
)
def test_backoff_refuses_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="Backoff"):
        Backoff(**kwargs)
