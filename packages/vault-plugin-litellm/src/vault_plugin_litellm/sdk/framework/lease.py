"""Lease TTL arithmetic as the host applies it, and the stock renew handler.

The host, not the plugin, has the last word on a lease's TTL: it runs Go's
``framework.CalculateTTL`` over what the plugin returns, both when the lease is created
and on every renewal (``internal/vault/request_handling.go``, ``expiration.go``).
:func:`calculate_ttl` reproduces it so that a backend can predict the granted TTL and the
in-process harness can grant the same TTLs and warnings the host would.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta

from vault_plugin_litellm.sdk.logical import LogicalError, Request, Response, SystemView, utcnow

from .field_data import FieldData
from .goparse import human_duration
from .path import OperationFunc


class LeaseTTLError(LogicalError):
    """No valid TTL exists (the lease is past its maximum, or the maximum is not positive)."""


def _whole_seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


async def calculate_ttl(
    system_view: SystemView,
    *,
    increment: timedelta = timedelta(0),
    backend_ttl: timedelta = timedelta(0),
    period: timedelta = timedelta(0),
    backend_max_ttl: timedelta = timedelta(0),
    explicit_max_ttl: timedelta = timedelta(0),
    start_time: datetime | None = None,
    now: datetime | None = None,
) -> tuple[timedelta, list[str]]:
    """The TTL to grant, and any warnings, in whole seconds as the host computes them.

    Asks the system view for the mount's limits (:func:`mount_ttls`), then applies
    :func:`compute_ttl`.
    """
    mount_default, mount_max = await mount_ttls(
        system_view, increment=increment, backend_ttl=backend_ttl, period=period
    )
    return compute_ttl(
        mount_default=mount_default,
        mount_max=mount_max,
        increment=increment,
        backend_ttl=backend_ttl,
        period=period,
        backend_max_ttl=backend_max_ttl,
        explicit_max_ttl=explicit_max_ttl,
        start_time=start_time,
        now=now,
    )


async def mount_ttls(
    system_view: SystemView,
    *,
    increment: timedelta = timedelta(0),
    backend_ttl: timedelta = timedelta(0),
    period: timedelta = timedelta(0),
) -> tuple[timedelta, timedelta]:
    """The mount's default and maximum lease TTL, for :func:`compute_ttl` over the same
    ``increment``, ``backend_ttl`` and ``period``.

    The default is asked for only when none of the three is positive: :func:`compute_ttl`
    uses it in no other case (zero is returned instead), and each question is a round trip
    to the host. Both questions go out together.
    """
    if period > timedelta(0) or increment > timedelta(0) or backend_ttl > timedelta(0):
        return timedelta(0), await system_view.max_lease_ttl()
    default, maximum = await asyncio.gather(
        system_view.default_lease_ttl(), system_view.max_lease_ttl()
    )
    return default, maximum


def compute_ttl(
    *,
    mount_default: timedelta,
    mount_max: timedelta,
    increment: timedelta = timedelta(0),
    backend_ttl: timedelta = timedelta(0),
    period: timedelta = timedelta(0),
    backend_max_ttl: timedelta = timedelta(0),
    explicit_max_ttl: timedelta = timedelta(0),
    start_time: datetime | None = None,
    now: datetime | None = None,
) -> tuple[timedelta, list[str]]:
    """:func:`calculate_ttl` over known mount limits, without asking the host.

    The maximum is ``mount_max``, lowered by a positive ``backend_max_ttl`` or
    ``explicit_max_ttl``. The TTL is the first positive of ``increment``, ``backend_ttl``
    and ``mount_default`` (or ``period``, capped to the maximum), and is capped to what
    remains of the maximum since ``start_time`` (default: now).
    """
    now = _whole_seconds(now or utcnow())
    start = now if start_time is None else _whole_seconds(start_time)
    max_ttl = mount_max
    if timedelta(0) < backend_max_ttl < max_ttl:
        max_ttl = backend_max_ttl
    if timedelta(0) < explicit_max_ttl < max_ttl:
        max_ttl = explicit_max_ttl
    if max_ttl <= timedelta(0):
        raise LeaseTTLError("max TTL must be greater than zero")

    warnings: list[str] = []
    max_valid_time: datetime | None
    if period > timedelta(0):
        if period > max_ttl:
            warnings.append(
                f'period of "{human_duration(period)}" exceeded the effective max_ttl of '
                f'"{human_duration(max_ttl)}"; period value is capped accordingly'
            )
            period = max_ttl
        ttl = period
        max_valid_time = start + explicit_max_ttl if explicit_max_ttl > timedelta(0) else None
    else:
        if increment > timedelta(0):
            ttl = increment
        elif backend_ttl > timedelta(0):
            ttl = backend_ttl
        else:
            ttl = mount_default
        max_valid_time = start + max_ttl

    if max_valid_time is not None:
        max_valid_ttl = max_valid_time - now
        if max_valid_ttl <= timedelta(0):
            raise LeaseTTLError("past the max TTL, cannot renew")
        if max_valid_ttl < ttl:
            warnings.append(
                f'TTL of "{human_duration(ttl)}" exceeded the effective max_ttl of '
                f'"{human_duration(max_valid_ttl)}"; TTL value is capped accordingly'
            )
            ttl = max_valid_ttl
    return ttl, warnings


def lease_extend(
    backend_increment: timedelta = timedelta(0), backend_max: timedelta = timedelta(0)
) -> OperationFunc:
    """A renew handler that hands the lease back with this TTL and maximum.

    The host then applies :func:`calculate_ttl` with the client's increment (which wins
    over ``backend_increment``) and the lease's issue time, so nothing is computed here;
    zero values mean "the mount's". The request's issue time is kept, because the host
    requires one on every secret it receives.
    """

    async def renew(req: Request, data: FieldData) -> Response | None:
        if req.secret is None:
            raise LogicalError("no lease options for request")
        options = dataclasses.replace(
            req.secret.lease_options,
            ttl=backend_increment,
            max_ttl=backend_max,
            issue_time=req.secret.lease_options.issue_time or utcnow(),
        )
        secret = dataclasses.replace(req.secret, lease_options=options)
        return Response(secret=secret)

    return renew
