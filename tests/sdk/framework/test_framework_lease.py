"""The host's TTL arithmetic (CalculateTTL) and the stock renew handler."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from vault_plugin_litellm.sdk.framework import (
    FieldData,
    LeaseTTLError,
    calculate_ttl,
    compute_ttl,
    lease_extend,
    mount_ttls,
)
from vault_plugin_litellm.sdk.logical import (
    LeaseOptions,
    LogicalError,
    Operation,
    Request,
    Secret,
    StaticSystemView,
)

NOW = datetime(2030, 1, 1, 12, 0, 0, 500000, tzinfo=UTC)
HOUR = timedelta(hours=1)


def view(default: timedelta = HOUR, maximum: timedelta = 4 * HOUR) -> StaticSystemView:
    return StaticSystemView(default_ttl=default, max_ttl=maximum)


async def test_mount_default_when_nothing_else_is_given() -> None:
    assert await calculate_ttl(view(), now=NOW) == (HOUR, [])


async def test_backend_ttl_then_increment_take_precedence() -> None:
    ttl, _ = await calculate_ttl(view(), backend_ttl=2 * HOUR, now=NOW)
    assert ttl == 2 * HOUR
    ttl, _ = await calculate_ttl(view(), increment=3 * HOUR, backend_ttl=2 * HOUR, now=NOW)
    assert ttl == 3 * HOUR


async def test_ttl_is_capped_to_the_mount_max_with_the_host_warning() -> None:
    ttl, warnings = await calculate_ttl(view(), backend_ttl=10 * HOUR, now=NOW)
    assert ttl == 4 * HOUR
    assert warnings == [
        'TTL of "10h" exceeded the effective max_ttl of "4h"; TTL value is capped accordingly'
    ]


async def test_backend_max_lowers_the_mount_max_but_never_raises_it() -> None:
    ttl, _ = await calculate_ttl(view(), backend_ttl=3 * HOUR, backend_max_ttl=2 * HOUR, now=NOW)
    assert ttl == 2 * HOUR
    ttl, _ = await calculate_ttl(view(), backend_ttl=5 * HOUR, backend_max_ttl=8 * HOUR, now=NOW)
    assert ttl == 4 * HOUR


async def test_renewal_is_capped_by_the_time_left_since_issue() -> None:
    issued = NOW - 3 * HOUR - timedelta(minutes=30)
    ttl, warnings = await calculate_ttl(view(), increment=HOUR, start_time=issued, now=NOW)
    assert ttl == timedelta(minutes=30)
    assert warnings == [
        'TTL of "1h" exceeded the effective max_ttl of "30m"; TTL value is capped accordingly'
    ]


async def test_past_the_max_cannot_renew() -> None:
    with pytest.raises(LeaseTTLError, match="past the max TTL, cannot renew"):
        await calculate_ttl(view(), start_time=NOW - 5 * HOUR, now=NOW)


async def test_non_positive_max_is_an_error() -> None:
    with pytest.raises(LeaseTTLError, match="max TTL must be greater than zero"):
        await calculate_ttl(view(maximum=timedelta(0)), now=NOW)


async def test_period_is_capped_to_the_max() -> None:
    ttl, warnings = await calculate_ttl(view(), period=6 * HOUR, now=NOW)
    assert ttl == 4 * HOUR
    assert warnings == [
        'period of "6h" exceeded the effective max_ttl of "4h"; period value is capped accordingly'
    ]


@given(
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=1, max_value=10**6),
    st.integers(min_value=0, max_value=10**6),
)
async def test_granted_ttl_never_outlives_the_max(
    increment: int, backend: int, maximum: int, age: int
) -> None:
    system = view(default=HOUR, maximum=timedelta(seconds=maximum))
    try:
        ttl, _ = await calculate_ttl(
            system,
            increment=timedelta(seconds=increment),
            backend_ttl=timedelta(seconds=backend),
            start_time=NOW - timedelta(seconds=age),
            now=NOW,
        )
    except LeaseTTLError:
        assert age >= maximum
        return
    assert timedelta(0) < ttl <= timedelta(seconds=maximum - age)
    assert ttl.microseconds == 0


class CountingView(StaticSystemView):
    def __init__(self, default: timedelta, maximum: timedelta) -> None:
        super().__init__(default_ttl=default, max_ttl=maximum)
        self.asked: list[str] = []

    async def default_lease_ttl(self) -> timedelta:
        self.asked.append("default")
        return await super().default_lease_ttl()

    async def max_lease_ttl(self) -> timedelta:
        self.asked.append("max")
        return await super().max_lease_ttl()


@given(
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=1, max_value=10**6),
    st.integers(min_value=1, max_value=10**6),
)
async def test_mount_ttls_asks_for_the_default_only_when_it_decides_the_ttl(
    increment: int, backend: int, period: int, default: int, maximum: int
) -> None:
    system = CountingView(timedelta(seconds=default), timedelta(seconds=maximum))
    inc, ttl, per = (timedelta(seconds=s) for s in (increment, backend, period))
    mount_default, mount_max = await mount_ttls(system, increment=inc, backend_ttl=ttl, period=per)
    needed = not (increment or backend or period)
    assert sorted(system.asked) == (["default", "max"] if needed else ["max"])
    assert mount_max == timedelta(seconds=maximum)

    # Whatever was not asked for makes no difference to the TTL granted.
    def granted(mount_default: timedelta) -> tuple[timedelta, list[str]]:
        return compute_ttl(
            mount_default=mount_default,
            mount_max=mount_max,
            increment=inc,
            backend_ttl=ttl,
            period=per,
            now=NOW,
        )

    assert granted(mount_default) == granted(timedelta(seconds=default))


async def test_lease_extend_hands_back_the_lease_with_new_limits() -> None:
    issued = NOW - HOUR
    secret = Secret(
        lease_options=LeaseOptions(ttl=HOUR, renewable=True, issue_time=issued),
        internal_data={"secret_type": "x"},
    )
    renew = lease_extend(2 * HOUR, 3 * HOUR)
    request = Request(operation=Operation.RENEW, path="creds/a", secret=secret)
    response = await renew(request, FieldData({}, {}))
    assert response is not None
    assert response.secret is not None
    options = response.secret.lease_options
    assert (options.ttl, options.max_ttl, options.issue_time) == (2 * HOUR, 3 * HOUR, issued)
    assert response.secret.internal_data == {"secret_type": "x"}
    assert secret.lease_options.ttl == HOUR  # the request's secret is left alone
    with pytest.raises(LogicalError, match="no lease options"):
        await renew(Request(operation=Operation.RENEW, path="x"), FieldData({}, {}))
