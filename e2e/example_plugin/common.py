"""What several path groups share: the name field and the event log the tests read."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from vault_plugin_litellm.sdk.framework import FieldSchema, FieldType

VERSION = "0.1.0"
REVOCATION_LOG_ENV = "EXAMPLE_PLUGIN_REVOCATION_LOG"

NAME = FieldSchema(FieldType.STRING, "Name of the entry.", required=True)


async def record_event(event: dict[str, Any]) -> None:
    """Append one JSON line to the file ``EXAMPLE_PLUGIN_REVOCATION_LOG`` names, if any: the
    tests see revocations at expiry and at unmount there, when the storage is already gone."""
    target = os.environ.get(REVOCATION_LOG_ENV)
    if not target:
        return
    line = json.dumps(event, separators=(",", ":")) + "\n"

    def append() -> None:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(line)

    await asyncio.to_thread(append)
