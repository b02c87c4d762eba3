"""The typed keyword arguments (params.py) and the request models (models.py) describe the same
fields twice, once for type checkers and once for validation: same names, same types."""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

import pytest
from litellm_client import models, params
from pydantic import BaseModel

PAIRS = [
    (params.KeySettingsParams, models._KeySettings),
    (params.GenerateKeyParams, models.GenerateKeyRequest),
    (params.UpdateKeyParams, models.UpdateKeyRequest),
    (params.RegenerateKeyParams, models.RegenerateKeyRequest),
]


def shape(tp: Any) -> Any:
    """A type with validation metadata dropped and the read-only containers a caller may pass
    (``Sequence``, ``Mapping``) equated with what the model holds (``list``, ``dict``)."""
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        return shape(args[0])
    if origin in (Union, types.UnionType):
        members: set[Any] = set()
        for arg in args:
            inner = shape(arg)
            members |= inner if isinstance(inner, frozenset) else {inner}
        return frozenset(members)
    if origin in (list, Sequence):
        return ("list", shape(args[0]))
    if origin in (dict, Mapping):
        return ("dict", shape(args[0]), shape(args[1]))
    if origin is Literal:
        return ("literal", frozenset(args))
    return tp


def model_types(model: type[BaseModel]) -> dict[str, Any]:
    hints = get_type_hints(model, include_extras=True)
    return {name: shape(hints[name]) for name in model.model_fields}


def params_types(typed_dict: type) -> dict[str, Any]:
    return {name: shape(tp) for name, tp in get_type_hints(typed_dict).items()}


@pytest.mark.parametrize(("typed_dict", "model"), PAIRS, ids=lambda t: t.__name__)
def test_params_and_models_name_the_same_fields_with_the_same_types(
    typed_dict: type, model: type[BaseModel]
) -> None:
    expected, declared = model_types(model), params_types(typed_dict)
    assert sorted(declared) == sorted(expected), "the two lists of fields differ"
    differing = {name: (declared[name], expected[name]) for name in expected}
    assert {k: v for k, v in differing.items() if v[0] != v[1]} == {}


def test_every_keyword_may_be_left_out() -> None:
    for typed_dict, _ in PAIRS:
        assert not typed_dict.__required_keys__, typed_dict.__name__


def test_the_comparison_sees_a_type_that_differs() -> None:
    class Drifted(typing.TypedDict, total=False):
        models: Sequence[int] | None

    assert params_types(Drifted)["models"] != model_types(models.GenerateKeyRequest)["models"]
