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
    seconds=st.integers(min_value=0, max_value=int(MAX_DURATION.total_seconds())),
    micros=st.integers(min_value=0, max_value=999_999),
)
def test_timedelta_is_sent_as_whole_seconds_rounded_down(seconds: int, micros: int) -> None:
    sent = format_duration(timedelta(seconds=seconds, microseconds=micros))
    assert sent == f"{seconds}s"
    assert parse_duration(sent) == timedelta(seconds=seconds)


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
    # Forms the proxy mis-reads or refuses (section 5): trailing text, no unit, fractions,
    # upper case, months, aliases, signs and spaces, zero with another unit.
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


@given(count=st.integers(min_value=1, max_value=1200), unit=st.sampled_from([*UNIT_SECONDS, "mo"]))
def test_budget_durations_allow_months(count: int, unit: str) -> None:
    text = f"{count}{unit}"
    if unit != "mo" and not _fits(count, unit):
        return
    assert format_budget_duration(text) == text


@pytest.mark.parametrize(
    "value", ["0s", "monthly", "1x", "30", timedelta(0), timedelta(seconds=-5)]
)
def test_budget_durations_refuse_zero_and_misread_forms(value: str | timedelta) -> None:
    with pytest.raises(InvalidDurationError, match=r"^budget_duration: "):
        format_budget_duration(value)


def test_budget_duration_from_timedelta() -> None:
    assert format_budget_duration(timedelta(days=30)) == "2592000s"
