"""Reading the proxy's error bodies: envelope shapes A-D (docs/litellm-api.md §6.1)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

# literal_eval cannot run code, but parsing a huge or deeply nested literal costs memory and stack;
# real dict-repr messages are a few hundred characters.
_MAX_LITERAL_LENGTH = 10_000


@dataclass(frozen=True, slots=True)
class Envelope:
    shape: str  # "A" (error object), "B" (validation list), "C" (detail string), "D" (bare 500)
    message: str
    raw_message: str
    type: str | None
    param: str | None
    detail: list[dict[str, Any]] | None = None


def unwrap_message(raw: str) -> str:
    """Return the inner text of a Python dict-repr message such as ``"{'error': 'No keys found'}"``.

    Anything that is not such a literal comes back unchanged.
    """
    text = raw.strip()
    if not (text.startswith("{") and text.endswith("}")) or len(text) > _MAX_LITERAL_LENGTH:
        return raw
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return raw
    if isinstance(value, dict):
        for name in ("error", "message", "detail"):
            inner = value.get(name)
            if isinstance(inner, str):
                return inner
    return raw


def normalise_param(param: object) -> str | None:
    """The proxy sends ``param`` as null, the string ``"None"``, a field name or a masked key."""
    if param is None or param == "None" or param == "":
        return None
    return param if isinstance(param, str) else str(param)


def _describe_validation_item(item: dict[str, Any]) -> str:
    loc = item.get("loc")
    parts = [str(p) for p in loc] if isinstance(loc, list | tuple) else []
    if len(parts) > 1 and parts[0] == "body":
        parts = parts[1:]
    where = ".".join(parts)
    msg = str(item.get("msg", "invalid value"))
    return f"{where}: {msg}" if where else msg


def parse_envelope(body: object) -> Envelope | None:
    """Return the envelope in a decoded error body, or None when the body has none of the shapes."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict) and "message" in error:
        raw = error["message"]
        raw = raw if isinstance(raw, str) else str(raw)
        error_type = error.get("type")
        shape = "A" if ("param" in error or "code" in error) else "D"
        return Envelope(
            shape=shape,
            message=unwrap_message(raw),
            raw_message=raw,
            type=error_type if isinstance(error_type, str) else None,
            param=normalise_param(error.get("param")),
        )
    detail = body.get("detail")
    if isinstance(detail, str):
        return Envelope("C", unwrap_message(detail), detail, None, None)
    if isinstance(detail, dict) and isinstance(detail.get("error"), str):
        # An HTTP exception raised with a dict detail and not rewritten by the proxy's error
        # handler (seen on /key/bulk_update): the message is under "error".
        return Envelope("C", detail["error"], detail["error"], None, None)
    if isinstance(detail, list) and detail and all(isinstance(d, dict) for d in detail):
        text = "; ".join(_describe_validation_item(d) for d in detail)
        return Envelope("B", text, text, None, None, detail=detail)
    return None
