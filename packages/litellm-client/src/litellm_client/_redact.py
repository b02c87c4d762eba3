"""Scrubbing of secrets from everything the client says: messages, logs and error bodies.

LiteLLM raw keys and admin keys all start with ``sk-``; the proxy sometimes echoes what it was sent,
so anything that reaches an exception or a log record goes through here first.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

REDACTED_KEY = "sk-***"

# A raw key may hold characters token_urlsafe never produces (custom keys), so the match runs to the
# next delimiter rather than stopping at the urlsafe alphabet. The look-behind keeps words such as
# "task-force" intact.
_RAW_KEY = re.compile(r"(?<![A-Za-z0-9_\-])sk-[^\s'\"`,;)\]}>]+")
_CREDENTIAL = re.compile(r"(?i)\b(bearer|basic)\s+[^\s'\"`,;)\]}>]+")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with raw keys, ``Bearer``/``Basic`` credentials and ``secrets`` masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED_KEY)
    text = _RAW_KEY.sub(REDACTED_KEY, text)
    return _CREDENTIAL.sub(lambda m: f"{m.group(1)} ***", text)


def redact_data(value: Any, secrets: Iterable[str] = ()) -> Any:
    """Apply :func:`redact` to every string inside decoded JSON."""
    secrets = tuple(secrets)
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {redact(str(k), secrets): redact_data(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_data(v, secrets) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """Masks keys in every record of the ``litellm_client`` logger, whatever code logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # A malformed record: leave it to logging's own error handling rather than raise
            # from a filter into the caller. Mask the unformatted template at least.
            record.msg = redact(str(record.msg))
            return True
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        return True
