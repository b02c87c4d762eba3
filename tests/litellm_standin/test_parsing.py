"""Input parsing: the proxy's duration rules and request bodies, fuzzed with hypothesis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from e2e.litellm_standin.context import Context
from e2e.litellm_standin.durations import (
    DurationError,
    budget_duration_error,
    duration_seconds,
    next_budget_reset,
)
from e2e.litellm_standin.server import dispatch

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
MESSAGES = ("Invalid duration format", "Unsupported duration unit, passed duration: ")


@given(st.integers(min_value=0, max_value=10**9), st.sampled_from(sorted(UNITS)), st.text())
def test_a_number_and_unit_count_whatever_follows_unless_it_is_o(
    value: int, unit: str, tail: str
) -> None:
    text = f"{value}{unit}{tail}"
    if unit == "m" and tail.startswith("o"):
        return  # "mo" is calendar months
    assert duration_seconds(text) == value * UNITS[unit]


@given(st.text())
def test_any_text_parses_or_fails_with_the_proxys_message(text: str) -> None:
    outcome: int | str
    try:
        outcome = duration_seconds(text)
    except DurationError as exc:
        outcome = str(exc)
    if isinstance(outcome, str):
        assert outcome.startswith(MESSAGES)
    else:
        assert outcome >= 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "Invalid duration format"),
        ("-1", "Invalid duration format"),
        (" 1h", "Invalid duration format"),
        ("", "Invalid duration format"),
        ("30", "Unsupported duration unit, passed duration: 30"),
        ("1x", "Unsupported duration unit, passed duration: 1x"),
        ("1.5h", "Unsupported duration unit, passed duration: 1.5h"),
        ("10M", "Unsupported duration unit, passed duration: 10M"),
    ],
)
def test_refused_durations(text: str, message: str) -> None:
    with pytest.raises(DurationError) as caught:
        duration_seconds(text)
    assert str(caught.value) == message


def test_word_aliases_and_months() -> None:
    assert duration_seconds("Hourly") == 3600
    assert duration_seconds("daily") == 86_400
    assert duration_seconds("weekly") == 7 * 86_400
    assert 28 * 86_400 <= duration_seconds("1mo") <= 31 * 86_400 + 3600


@pytest.mark.parametrize("text", ["0s", "bogus", "2mo", "", "1x"])
def test_budget_durations_refused(text: str) -> None:
    assert budget_duration_error(text) == (
        f"Invalid budget_duration '{text}'. Use a format like '1h', '24h', '7d', or '30d'."
    )


@pytest.mark.parametrize("text", ["30d", "1mo", "7d", "1h", "daily", "1hour", "90s"])
def test_budget_durations_accepted(text: str) -> None:
    assert budget_duration_error(text) is None


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
def test_budget_resets_snap_to_boundaries_after_now(moment: datetime) -> None:
    now = moment.replace(tzinfo=UTC)
    hourly = next_budget_reset("1h", now)
    assert now < hourly <= now + timedelta(hours=1)
    assert (hourly.minute, hourly.second, hourly.microsecond) == (0, 0, 0)
    monthly = next_budget_reset("30d", now)
    assert monthly > now
    assert (monthly.day, monthly.hour, monthly.minute) == (1, 0, 0)
    weekly = next_budget_reset("7d", now)
    assert now < weekly <= now + timedelta(days=7)
    assert weekly.weekday() == 0
    assert (weekly.hour, weekly.minute) == (0, 0)
    daily = next_budget_reset("1d", now)
    assert now < daily <= now + timedelta(days=1)
    assert daily.time().isoformat() == "00:00:00"


@given(st.binary(max_size=200))
def test_any_management_body_gets_a_proxy_answer(raw: bytes) -> None:
    context = Context(master_key="sk-fuzz-master-key", models={})
    headers = {"content-type": "application/json", "authorization": "Bearer sk-fuzz-master-key"}
    answer = dispatch(context, "POST", "/key/generate", headers, raw)
    assert answer.status in (200, 400, 403, 422, 500)
    assert isinstance(answer.body, dict)
    assert "error" in answer.body or "detail" in answer.body or "key" in answer.body


@given(st.binary(max_size=200))
def test_any_completion_body_gets_a_proxy_answer(raw: bytes) -> None:
    context = Context(master_key="sk-fuzz-master-key", models={})
    headers = {"authorization": "Bearer sk-fuzz-master-key"}
    answer = dispatch(context, "POST", "/chat/completions", headers, raw)
    assert answer.status in (400, 500)
    assert isinstance(answer.body, dict)
    error = answer.body["error"]
    assert error["type"] in ("invalid_request_error", "internal_server_error")


@given(
    st.dictionaries(
        st.sampled_from(["key", "x-litellm-api-key", "authorization", "x-api-key", "api-key"]),
        st.text(max_size=40),
    )
)
def test_any_credential_headers_get_an_auth_answer(headers: dict[str, str]) -> None:
    context = Context(master_key="sk-fuzz-master-key", models={})
    answer = dispatch(context, "GET", "/key/list", headers, b"")
    assert answer.status in (200, 401)
    if answer.status == 401:
        assert isinstance(answer.body, dict)
        assert answer.body["error"]["type"] in ("auth_error", "token_not_found_in_db")
