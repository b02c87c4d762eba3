"""Logging to the host: hclog-style JSON lines on stderr, with secrets scrubbed.

The host parses each stderr line. ``@level`` must be one of trace/debug/info/warn/error, and
``@message``, ``@level`` and ``@timestamp`` must be strings: OpenBao 2.7.2 panics (and takes the
whole server down) on a non-string ``@message``. ``@timestamp`` needs exactly six fractional
digits, or the line is shown raw at DEBUG.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import sys
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, Any

_LEVELS = ((logging.ERROR, "error"), (logging.WARNING, "warn"), (logging.INFO, "info"))

# Values that must never reach a log, whatever the backend: bearer tokens and PEM private keys.
# A backend adds the shapes of its own secrets with add_redactor.
_SECRET_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=\-]+"),
    # A truncated block (no END line) is cut to the end of the text.
    re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:.*?-----END [A-Z ]*PRIVATE KEY-----|.*\Z)", re.S
    ),
)
_redactors: list[Callable[[str], str]] = []

_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)


def add_redactor(redactor: Callable[[str], str]) -> None:
    """Apply ``redactor`` (text in, text with secrets masked out) to every log line from now on.

    A backend calls this when its module is imported, with the masking of its own secrets
    (API keys of the service it manages, say); adding the same function twice has no effect.
    """
    if redactor not in _redactors:
        _redactors.append(redactor)


def redact(text: str) -> str:
    """``text`` with bearer tokens, private keys and every added redactor's secrets masked."""
    for redactor in _redactors:
        text = redactor(text)
    for pattern in _SECRET_PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + "[redacted]", text)
        else:
            text = pattern.sub("[redacted]", text)
    return text


def hclog_level(levelno: int) -> str:
    for threshold, name in _LEVELS:
        if levelno >= threshold:
            return name
    return "debug" if levelno >= logging.DEBUG else "trace"


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN or Infinity; json.dumps would drop the whole line
    if isinstance(value, str | int | float | bool) or value is None:
        return redact(value) if isinstance(value, str) else value
    return redact(str(value))


def _message(record: logging.LogRecord) -> str:
    try:
        return str(record.getMessage())
    except Exception as exc:  # bad %-arguments must not turn into non-JSON stderr text
        return f"{record.msg!r} (unformattable arguments: {type(exc).__name__}: {exc})"


class HclogFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "@level": hclog_level(record.levelno),
            "@message": redact(_message(record)),
            "@module": str(record.name),
            "@timestamp": datetime.fromtimestamp(record.created, UTC).strftime(
                "%Y-%m-%dT%H:%M:%S.%fZ"
            ),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_") and not key.startswith("@"):
                entry[key] = _jsonable(value)
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = redact("".join(traceback.format_exception(*record.exc_info)))
        return json.dumps(entry, default=str, allow_nan=False)


def configure(stream: IO[str] | None = None, level: str | None = None) -> logging.Handler:
    """Send the root logger to stderr as hclog JSON; level from ``PLUGIN_LOG_LEVEL``."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(HclogFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    name = (level or os.environ.get("PLUGIN_LOG_LEVEL") or "info").upper()
    levels = {**logging.getLevelNamesMapping(), "TRACE": 5, "WARN": logging.WARNING}
    root.setLevel(levels.get(name, logging.INFO))
    return handler
