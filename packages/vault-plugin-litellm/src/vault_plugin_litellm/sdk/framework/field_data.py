"""A request's values for a path's declared fields, converted on demand.

Conversion is lazy and done once per field: the router validates only the fields present
in the request (as Go does), and handlers read the cached results, defaults or zero values.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from .coercion import FieldConversionError
from .field_type import INT_TYPES, STRING_LIST_TYPES, STRING_TYPES, FieldType
from .fields import FieldSchema


class UnknownFieldError(KeyError):
    """A handler asked for a field its path does not declare (a programming error)."""


class FieldValidationError(ValueError):
    """A present field failed conversion; ``str()`` is Go's wording, naming the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f'error converting input for field "{field}": {message}')
        self.field = field
        self.message = message


_Types = tuple[FieldType, ...]
_DURATION_TYPES: _Types = (FieldType.DURATION_SECOND, FieldType.SIGNED_DURATION_SECOND)
_FLOAT: _Types = (FieldType.FLOAT,)
_BOOL: _Types = (FieldType.BOOL,)
_TIME: _Types = (FieldType.TIME,)
_SLICE: _Types = (FieldType.SLICE,)
_INT_SLICE: _Types = (FieldType.COMMA_INT_SLICE,)
_MAP: _Types = (FieldType.MAP,)
_KV_PAIRS: _Types = (FieldType.KV_PAIRS,)
_HEADER: _Types = (FieldType.HEADER,)


class FieldData:
    """Typed access to ``raw`` (body or query values plus path captures) under ``schema``.

    Values returned for lists and maps are the converted objects themselves; a handler
    that mutates one sees the change on its next read of that field.
    """

    __slots__ = ("_cache", "raw", "schema")

    def __init__(self, raw: Mapping[str, Any], schema: Mapping[str, FieldSchema]) -> None:
        self.raw = raw
        self.schema = schema
        self._cache: dict[str, tuple[Any, bool]] = {}

    def _schema(self, key: str) -> FieldSchema:
        try:
            return self.schema[key]
        except KeyError:
            raise UnknownFieldError(f"field {key!r} is not in the schema") from None

    def _convert(self, key: str, schema: FieldSchema) -> tuple[Any, bool]:
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if key not in self.raw:
            result: tuple[Any, bool] = (None, False)
        else:
            result = schema.converter(self.raw[key])
        self._cache[key] = result
        return result

    def validate(self) -> None:
        """Convert every present, declared field; raise :class:`FieldValidationError` for
        the first that fails. Undeclared values are not looked at."""
        schema = self.schema
        for key in self.raw:
            field_schema = schema.get(key)
            if field_schema is None:
                continue
            try:
                self._convert(key, field_schema)
            except FieldConversionError as exc:
                raise FieldValidationError(key, exc.message) from None

    def get_ok_err(self, key: str) -> tuple[Any, bool]:
        """``(value, is_set)``; raises :class:`UnknownFieldError` for an undeclared field and
        :class:`~.coercion.FieldConversionError` for a value that does not convert."""
        return self._convert(key, self._schema(key))

    def get_ok(self, key: str) -> tuple[Any, bool]:
        """``(value, is_set)``; ``(None, False)`` for an undeclared or absent field."""
        schema = self.schema.get(key)
        if schema is None:
            return None, False
        return self._convert(key, schema)

    def is_set(self, key: str) -> bool:
        """Whether the request gave a value (``null`` durations and times do not count)."""
        return self.get_ok(key)[1]

    def get(self, key: str) -> Any:
        """The value if set, else the default, else the type's zero value."""
        schema = self._schema(key)
        value, is_set = self._convert(key, schema)
        return value if is_set else schema.default_or_zero()

    def get_default_or_zero(self, key: str) -> Any:
        return self._schema(key).default_or_zero()

    def get_first(self, *keys: str) -> tuple[Any, bool]:
        """The first set field among ``keys`` (e.g. a current name and deprecated aliases)."""
        for key in keys:
            value, is_set = self.get_ok(key)
            if is_set:
                return value, True
        return None, False

    def get_with_explicit_default(self, key: str, default: Any) -> Any:
        value, is_set = self.get_ok(key)
        return value if is_set else default

    def _typed(self, key: str, allowed: _Types, wanted: str) -> Any:
        schema = self._schema(key)
        if schema.type not in allowed:
            raise TypeError(f"field {key!r} is a {schema.type.label} field, not {wanted}")
        value, is_set = self._convert(key, schema)
        return value if is_set else schema.default_or_zero()

    def get_str(self, key: str) -> str:
        return cast(str, self._typed(key, STRING_TYPES, "a string"))

    def get_int(self, key: str) -> int:
        """Integers, and durations as whole seconds."""
        return cast(int, self._typed(key, INT_TYPES, "an integer"))

    def get_float(self, key: str) -> float:
        return cast(float, self._typed(key, _FLOAT, "a float"))

    def get_bool(self, key: str) -> bool:
        return cast(bool, self._typed(key, _BOOL, "a bool"))

    def get_duration(self, key: str) -> timedelta:
        return timedelta(seconds=cast(int, self._typed(key, _DURATION_TYPES, "a duration")))

    def get_time(self, key: str) -> datetime:
        return cast(datetime, self._typed(key, _TIME, "a time"))

    def get_list(self, key: str) -> list[Any]:
        return cast("list[Any]", self._typed(key, _SLICE, "a slice"))

    def get_str_list(self, key: str) -> list[str]:
        return cast("list[str]", self._typed(key, STRING_LIST_TYPES, "a string slice"))

    def get_int_list(self, key: str) -> list[int]:
        return cast("list[int]", self._typed(key, _INT_SLICE, "an int slice"))

    def get_map(self, key: str) -> dict[str, Any]:
        return cast("dict[str, Any]", self._typed(key, _MAP, "a map"))

    def get_kv(self, key: str) -> dict[str, str]:
        return cast("dict[str, str]", self._typed(key, _KV_PAIRS, "a keypair map"))

    def get_header(self, key: str) -> dict[str, list[str]]:
        return cast("dict[str, list[str]]", self._typed(key, _HEADER, "a header"))
