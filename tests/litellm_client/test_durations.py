from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from litellm_client import (
    InvalidDurationError,
    format_budget_duration,
    format_duration,
    parse_duration,
)
from litellm_client.durations import MAX_DURATION, UNIT_SECONDS

units = st.sampled_from(sorted(UNIT_SECONDS))


def _fits(count: int, unit: str) -> bool:
    return count * UNIT_SECONDS[unit] <= MAX_DURATION.total_seconds()


@given(count=st.integers(min_value=1, max_value=10**6), unit=units)
def test_valid_strings_are_sent_unchanged_and_parse_to_their_length(count: int, unit: str) -> None:
    text = f"{count}{unit}"
    if not _fits(count, unit):
        with pytest.raises(InvalidDurationError, match="at most 36500 days"):
            format_duration(text)
        return
    assert format_duration(text) == text
    assert parse_duration(text) == timedelta(seconds=count * UNIT_SECONDS[unit])


@given(
    seconds=st.integers(min_value=1, max_value=int(MAX_DURATION.total_seconds())),
    micros=st.integers(min_value=0, max_value=999_999),
)
def test_timedelta_is_sent_as_whole_seconds_rounded_down(seconds: int, micros: int) -> None:
    sent = format_duration(timedelta(seconds=seconds, microseconds=micros))
    assert sent == f"{seconds}s"
    assert parse_duration(sent) == timedelta(seconds=seconds)


@given(micros=st.integers(min_value=1, max_value=999_999))
def test_a_positive_timedelta_under_a_second_is_one_second_not_zero(micros: int) -> None:
    # "0s" would expire the key at once; nobody asking for half a second means that.
    assert format_duration(timedelta(microseconds=micros)) == "1s"


def test_a_zero_timedelta_still_expires_at_once() -> None:
    assert format_duration(timedelta(0)) == "0s"


@given(st.text(max_size=30))
def test_any_text_is_either_accepted_verbatim_or_refused_naming_the_field(text: str) -> None:
    number, unit = text[:-1], text[-1:]
    acceptable = text == "0s" or (
        number.isascii()
        and number.isdigit()
        and not number.startswith("0")
        and unit in UNIT_SECONDS
        and _fits(int(number), unit)
    )
    if acceptable:
        assert format_duration(text, field="grace_period") == text
        return
    with pytest.raises(InvalidDurationError, match=r"^grace_period: ") as caught:
        format_duration(text, field="grace_period")
    assert caught.value.param == "grace_period"
    assert caught.value.status is None
    assert not caught.value.maybe_processed


@pytest.mark.parametrize(
    "value",
    # Forms the proxy mis-reads or refuses (docs/litellm-api.md §5): trailing text, no unit,
    # fractions, upper case, months, aliases, signs and spaces, zero with another unit.
    [
        "1hour",
        "30",
        "1x",
        "1.5h",
        "10M",
        "1mo",
        "monthly",
        "-1",
        " 1h",
        "1h ",
        "0m",
        "01h",
        "",
        "h",
    ],
)
def test_forms_the_proxy_would_misread_are_refused(value: str) -> None:
    with pytest.raises(InvalidDurationError, match=r"^duration: .*'3600s'"):
        format_duration(value)


@pytest.mark.parametrize("value", [3600, 1.5, None, b"1h", ["1h"]])
def test_non_duration_types_are_refused(value: object) -> None:
    with pytest.raises(InvalidDurationError, match=r"datetime\.timedelta"):
        format_duration(value)  # type: ignore[arg-type]


def test_negative_timedelta_is_refused() -> None:
    with pytest.raises(InvalidDurationError, match="non-negative"):
        format_duration(timedelta(seconds=-1))


def test_durations_beyond_the_proxy_date_range_are_refused() -> None:
    format_duration(MAX_DURATION)
    with pytest.raises(InvalidDurationError, match="at most 36500 days"):
        format_duration(MAX_DURATION + timedelta(seconds=1))
    with pytest.raises(InvalidDurationError):
        format_duration("99999999999d")


@given(count=st.integers(min_value=1, max_value=1200), unit=st.sampled_from(sorted(UNIT_SECONDS)))
def test_budget_durations_take_every_unit_string(count: int, unit: str) -> None:
    text = f"{count}{unit}"
    if not _fits(count, unit):
        return
    assert format_budget_duration(text) == text


@pytest.mark.parametrize("months", ["2mo", "3mo", "12mo", "01mo", "0mo"])
def test_budget_durations_take_one_month_only(months: str) -> None:
    # The proxy answers 400 "Invalid budget_duration" for any month count but 1 (observed).
    assert format_budget_duration("1mo") == "1mo"
    with pytest.raises(
        InvalidDurationError, match=r"^budget_duration: .*'1mo' \(the proxy"
    ) as caught:
        format_budget_duration(months)
    assert caught.value.param == "budget_duration"


@pytest.mark.parametrize(
    "value", ["0s", "monthly", "1x", "30", timedelta(0), timedelta(seconds=-5), "1mo "]
)
def test_budget_durations_refuse_zero_and_misread_forms(value: str | timedelta) -> None:
    with pytest.raises(InvalidDurationError, match=r"^budget_duration: "):
        format_budget_duration(value)


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        (timedelta(days=30), "30d"),  # the proxy's monthly period: resets on the 1st
        (timedelta(days=7), "7d"),  # resets on Monday
        (timedelta(weeks=2), "14d"),
        (timedelta(days=1), "1d"),
        (timedelta(hours=36), "36h"),
        (timedelta(hours=1), "1h"),
        (timedelta(minutes=90), "90m"),
        (timedelta(seconds=61), "61s"),
        (timedelta(days=1, seconds=1), "86401s"),
        (timedelta(days=30, microseconds=999_999), "30d"),  # whole seconds, rounded down
    ],
)
def test_budget_duration_timedelta_in_its_largest_exact_unit(value: timedelta, sent: str) -> None:
    assert format_budget_duration(value) == sent


@given(seconds=st.integers(min_value=1, max_value=int(MAX_DURATION.total_seconds())))
def test_budget_duration_timedelta_keeps_its_length(seconds: int) -> None:
    sent = format_budget_duration(timedelta(seconds=seconds))
    count, unit = int(sent[:-1]), sent[-1]
    assert unit in ("d", "h", "m", "s")
    assert count * UNIT_SECONDS[unit] == seconds
    larger = [u for u in ("d", "h", "m", "s") if UNIT_SECONDS[u] > UNIT_SECONDS[unit]]
    assert all(seconds % UNIT_SECONDS[u] for u in larger)  # no larger unit holds it exactly
