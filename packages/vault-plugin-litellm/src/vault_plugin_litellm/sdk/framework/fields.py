"""Field declarations: a path's schema and the UI hints that go into OpenAPI."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .coercion import FieldConversionError, FieldConverter, field_converter, zero_value
from .field_type import FieldType


@dataclass(frozen=True, slots=True, kw_only=True)
class DisplayAttributes:
    """Hints for UIs and documentation generators (``x-vault-displayAttrs``).

    The ``operation_*`` parts build OpenAPI operation ids (prefix-verb-suffix) and are not
    emitted themselves. A ``|`` in ``operation_suffix`` gives one suffix per path variant
    when the pattern forks (``x?``, ``a|b``).
    """

    name: str = ""
    description: str = ""
    value: Any = None
    sensitive: bool = False
    navigation: bool = False
    item_type: str = ""
    group: str = ""
    action: str = ""
    operation_prefix: str = ""
    operation_verb: str = ""
    operation_suffix: str = ""
    edit_type: str = ""

    def to_openapi(self) -> dict[str, Any] | None:
        """The JSON form without operation hints, or ``None`` when nothing is left."""
        out: dict[str, Any] = {}
        for key, value in (
            ("name", self.name),
            ("description", self.description),
            ("value", self.value),
            ("sensitive", self.sensitive),
            ("navigation", self.navigation),
            ("itemType", self.item_type),
            ("group", self.group),
            ("action", self.action),
            ("editType", self.edit_type),
        ):
            if value:
                out[key] = value
        return out or None


@dataclass(frozen=True, slots=True)
class FieldSchema:
    """One declared field of a path.

    ``default`` is converted with the field's own rules when the path is declared (so a
    duration default may be ``"1h"``), and a default that does not convert is refused
    there rather than at request time. ``required`` is documentation only, as in Go: the
    framework never enforces it. ``query`` marks fields sent in the query string (OpenAPI).
    """

    type: FieldType
    description: str = ""
    default: Any = None
    required: bool = False
    deprecated: bool = False
    query: bool = False
    allowed_values: Sequence[Any] = ()
    display_attrs: DisplayAttributes | None = None
    converter: FieldConverter = field(init=False, repr=False, compare=False)
    """The type's conversion function (:func:`~.coercion.convert` for this type)."""
    _default_value: Any = field(init=False, repr=False, compare=False, default=None)
    _mutable_default: bool = field(init=False, repr=False, compare=False, default=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "converter", field_converter(self.type))
        if self.default is None:
            value = zero_value(self.type)
        else:
            try:
                converted, is_set = self.converter(self.default)
            except FieldConversionError as exc:
                raise ValueError(
                    f"default {self.default!r} is not a valid {self.type.label}: {exc.message}"
                ) from None
            value = converted if is_set else zero_value(self.type)
        object.__setattr__(self, "_default_value", value)
        object.__setattr__(self, "_mutable_default", isinstance(value, list | dict))

    def default_or_zero(self) -> Any:
        """The converted default, or the type's zero value; a fresh copy if mutable."""
        if self._mutable_default:
            return copy.deepcopy(self._default_value)
        return self._default_value
