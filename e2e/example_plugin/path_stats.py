"""``const``, ``stats``, and the two special paths ``public/ping`` and ``admin/reset-stats``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vault_plugin_litellm.sdk.framework import FieldData, Path
from vault_plugin_litellm.sdk.logical import Operation, Request, Response

from .common import VERSION

if TYPE_CHECKING:
    from .backend import ExampleBackend


async def read_const(req: Request, data: FieldData) -> Response:
    return Response(data={"const": True, "plugin": "example", "version": VERSION})


async def ping(req: Request, data: FieldData) -> Response:
    return Response(data={"pong": True, "unauthenticated": req.unauthenticated})


def stats_paths(backend: ExampleBackend) -> list[Path]:
    async def read_stats(req: Request, data: FieldData) -> Response:
        return Response(
            data={
                "ticks": backend.ticks,
                "renewals": backend.renewals,
                "revocations": backend.revocations,
                "wal_rollbacks": backend.wal_rollbacks,
                "wal_min_age": int(backend.wal_rollback_min_age.total_seconds()),
            }
        )

    async def reset_stats(req: Request, data: FieldData) -> None:
        backend.ticks = backend.renewals = backend.revocations = backend.wal_rollbacks = 0

    return [
        Path(
            pattern="const",
            operations={Operation.READ: read_const},
            help_synopsis="Fixed data, answered without storage.",
            help_description="Returns the same data on every read; used for benchmarks.",
        ),
        Path(
            pattern="stats",
            operations={Operation.READ: read_stats},
            help_synopsis="Counters of this plugin process.",
        ),
        Path(
            pattern="public/ping",
            operations={Operation.READ: ping},
            help_synopsis="Answers without a token (an unauthenticated special path).",
        ),
        Path(
            pattern="admin/reset-stats",
            operations={Operation.UPDATE: reset_stats},
            help_synopsis="Reset the counters; needs sudo (a root special path).",
        ),
    ]
