"""gRPC status codes, the error that carries them, and the wire forms of its headers."""

from __future__ import annotations

from enum import IntEnum
from urllib.parse import quote, unquote


class StatusCode(IntEnum):
    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16

    @classmethod
    def parse(cls, value: str) -> StatusCode:
        """The code a ``grpc-status`` value names; raises ValueError unless it is decimal.

        Strict where ``int()`` is not: no sign, spaces, underscores or non-ASCII digits. A
        well-formed code beyond the known ones is UNKNOWN, as gRPC clients read it.
        """
        if not (0 < len(value) <= 10 and value.isascii() and value.isdigit()):
            raise ValueError(f"malformed grpc-status {value[:20]!r}")
        try:
            return cls(int(value))
        except ValueError:
            return cls.UNKNOWN


class RpcError(Exception):
    """A call ended with a non-OK status (raised by clients, or by handlers to answer one)."""

    def __init__(self, code: StatusCode, message: str = "") -> None:
        super().__init__(f"{code.name}: {message}" if message else code.name)
        self.code = code
        self.message = message


# grpc-message is percent-encoded UTF-8; printable ASCII except '%' travels as is.
_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


def encode_message(message: str) -> str:
    return quote(message, safe=_SAFE, encoding="utf-8", errors="replace")


def decode_message(value: str) -> str:
    return unquote(value, encoding="utf-8", errors="replace")


_TIMEOUT_UNITS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}


def parse_timeout(value: str) -> float | None:
    """Seconds in a ``grpc-timeout`` header (``"89999987u"``), or ``None`` when malformed."""
    digits = value[:-1]
    if len(value) < 2 or len(value) > 9 or not (digits.isascii() and digits.isdigit()):
        return None
    unit = _TIMEOUT_UNITS.get(value[-1])
    return None if unit is None else int(digits) * unit


def format_timeout(seconds: float) -> str:
    """The shortest exact-enough ``grpc-timeout`` (at most 8 digits, as the spec requires)."""
    if not seconds < 3600 * 99_999_999:  # also NaN and infinity: the longest expressible
        return "99999999H"
    for unit, scale in (("n", 1e-9), ("u", 1e-6), ("m", 1e-3), ("S", 1.0), ("M", 60.0)):
        amount = max(0, int(seconds / scale))
        if amount < 100_000_000:
            return f"{amount}{unit}"
    return f"{min(99_999_999, int(seconds / 3600))}H"
