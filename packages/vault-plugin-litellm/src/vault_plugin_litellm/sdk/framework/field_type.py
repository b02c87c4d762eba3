"""The field types a path can declare, named as Go's framework names them."""

from __future__ import annotations

from enum import Enum


class FieldType(Enum):
    """What a field accepts and what Python value it yields (see :mod:`.coercion`).

    The values are the names Go's ``ParseFieldType`` uses, so schemas written for Go
    plugins read the same.
    """

    STRING = "string"  # -> str
    LOWERCASE_STRING = "lower_case_string"  # -> str, lower-cased
    NAME_STRING = "name_string"  # -> str matching the generic name rule
    INT = "int"  # -> int
    INT64 = "int64"  # -> int
    FLOAT = "float"  # -> float
    BOOL = "bool"  # -> bool
    DURATION_SECOND = "duration_second"  # -> int seconds, never negative
    SIGNED_DURATION_SECOND = "signed_duration_second"  # -> int seconds
    MAP = "map"  # -> dict[str, Any]
    KV_PAIRS = "kv_pairs"  # -> dict[str, str]
    SLICE = "slice"  # -> list[Any]
    STRING_SLICE = "string_slice"  # -> list[str]
    COMMA_STRING_SLICE = "comma_string_slice"  # -> list[str]
    COMMA_INT_SLICE = "comma_int_slice"  # -> list[int]
    HEADER = "header"  # -> dict[str, list[str]] with canonical keys
    TIME = "time"  # -> aware UTC datetime

    @property
    def label(self) -> str:
        """The name shown in path help, as Go prints it (all slices read "slice")."""
        return _LABELS[self]

    @property
    def is_duration(self) -> bool:
        return self in (FieldType.DURATION_SECOND, FieldType.SIGNED_DURATION_SECOND)


_LABELS = {
    FieldType.STRING: "string",
    FieldType.LOWERCASE_STRING: "lowercase string",
    FieldType.NAME_STRING: "name string",
    FieldType.INT: "int",
    FieldType.INT64: "int64",
    FieldType.FLOAT: "float",
    FieldType.BOOL: "bool",
    FieldType.DURATION_SECOND: "duration (sec)",
    FieldType.SIGNED_DURATION_SECOND: "duration (sec)",
    FieldType.MAP: "map",
    FieldType.KV_PAIRS: "keypair",
    FieldType.SLICE: "slice",
    FieldType.STRING_SLICE: "slice",
    FieldType.COMMA_STRING_SLICE: "slice",
    FieldType.COMMA_INT_SLICE: "slice",
    FieldType.HEADER: "header",
    FieldType.TIME: "time",
}

# Tuples, not sets: membership of an enum member is then an identity check, with no
# (Python-level) enum hashing on every typed getter call.
STRING_TYPES = (FieldType.STRING, FieldType.LOWERCASE_STRING, FieldType.NAME_STRING)
INT_TYPES = (
    FieldType.INT,
    FieldType.INT64,
    FieldType.DURATION_SECOND,
    FieldType.SIGNED_DURATION_SECOND,
)
STRING_LIST_TYPES = (FieldType.STRING_SLICE, FieldType.COMMA_STRING_SLICE)
