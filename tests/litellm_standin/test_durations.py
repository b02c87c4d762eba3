"""Duration parsing and budget resets, against what LiteLLM 1.106.12 was seen to do."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.litellm_standin.durations import budget_duration_error, expiry, next_reset
from tests.support.litellm_standin.errors import NotModelled

# A key made on Friday 2026-11-27 at 04:57 UTC (packages/litellm-client/README.md, budget table).
FRIDAY = datetime(2026, 11, 27, 4, 57, tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "reset"),
    [
        ("30d", datetime(2026, 12, 1, tzinfo=UTC)),
        ("1mo", datetime(2026, 12, 1, tzinfo=UTC)),
        ("7d", datetime(2026, 11, 30, tzinfo=UTC)),
        ("1w", datetime(2026, 11, 30, tzinfo=UTC)),
        ("1d", datetime(2026, 11, 28, tzinfo=UTC)),
        ("24h", datetime(2026, 11, 28, tzinfo=UTC)),
        ("3d", datetime(2026, 11, 30, tzinfo=UTC)),
        ("2w", datetime(2026, 12, 11, tzinfo=UTC)),
        ("12h", datetime(2026, 11, 27, 12, tzinfo=UTC)),
        ("36h", datetime(2026, 11, 28, 12, tzinfo=UTC)),
        ("48h", datetime(2026, 11, 28, tzinfo=UTC)),
        ("720h", datetime(2026, 11, 28, tzinfo=UTC)),
        ("90m", datetime(2026, 11, 27, 5, 30, tzinfo=UTC)),
        ("43200m", datetime(2026, 11, 28, 4, tzinfo=UTC)),
        ("2592000s", datetime(2026, 11, 28, 4, 57, tzinfo=UTC)),
    ],
)
def test_budget_resets_snap_as_the_proxy_does(period: str, reset: datetime) -> None:
    assert budget_duration_error(period) is None
    assert next_reset(period, FRIDAY) == reset


@pytest.mark.parametrize("period", ["0s", "2mo", "30", "bogus", "", "-1d"])
def test_budget_periods_the_proxy_refuses(period: str) -> None:
    assert budget_duration_error(period) == (
        f"Invalid budget_duration '{period}'. Use a format like '1h', '24h', '7d', or '30d'."
    )


def test_expiry_errors_are_the_proxys_words() -> None:
    with pytest.raises(ValueError, match=r"^Invalid duration format$"):
        expiry("abc", FRIDAY)
    with pytest.raises(ValueError, match=r"^Unsupported duration unit, passed duration: 30$"):
        expiry("30", FRIDAY)
    with pytest.raises(NotModelled):
        expiry("1mo", FRIDAY)
    assert expiry("1hour", FRIDAY) == datetime(2026, 11, 27, 5, 57, tzinfo=UTC)


@given(st.text(max_size=12) | st.from_regex(r"\A\d{1,12}(mo|[smhdwx]|hour|)\Z"))
def test_any_period_is_refused_or_resets_later(period: str) -> None:
    if budget_duration_error(period) is None:
        assert next_reset(period, FRIDAY) > FRIDAY
    with contextlib.suppress(ValueError, OverflowError, NotModelled):
        assert expiry(period, FRIDAY) >= FRIDAY
