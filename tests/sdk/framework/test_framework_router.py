"""Routing: Go pattern translation, full matches, ASCII classes, order, captures; fuzzed."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from vault_plugin_litellm.sdk.framework import (
    FieldData,
    Path,
    Router,
    generic_name_regex,
    generic_name_with_at_regex,
    go_regex_to_python,
    match_all_regex,
    optional_generic_name_regex,
    optional_param_regex,
    path_append,
)
from vault_plugin_litellm.sdk.framework.router import anchored, literal_prefix
from vault_plugin_litellm.sdk.logical import Operation, Request, Response


async def _noop(req: Request, data: FieldData) -> Response | None:
    return None


def _path(pattern: str) -> Path:
    return Path(pattern=pattern, operations={Operation.READ: _noop})


def _routes(router: Router, request_path: str) -> tuple[str, dict[str, str]] | None:
    routed = router.route(request_path)
    return None if routed is None else (routed[0].path.pattern, routed[1])


def test_go_character_class_with_hyphen_after_escape_compiles() -> None:
    go_name = r"(?P<name>\w(([\w-.]+)?\w)?)"
    translated = go_regex_to_python(go_name)
    assert translated == r"(?P<name>\w(([\w\-.]+)?\w)?)"
    router = Router([_path("roles/" + go_name)])
    assert _routes(router, "roles/a-b.c") == ("roles/" + go_name, {"name": "a-b.c"})


def test_translation_of_other_go_spellings() -> None:
    assert go_regex_to_python(r"a\z") == r"a\Z"
    assert go_regex_to_python(r"(?<id>\d+)") == r"(?P<id>\d+)"
    assert go_regex_to_python(r"(?<=a)b") == r"(?<=a)b"
    assert go_regex_to_python(r"[\w-]") == r"[\w-]"  # hyphen before "]" is already literal
    assert go_regex_to_python(r"[]\w-.]") == r"[]\w\-.]"


def test_patterns_match_in_full_not_as_a_prefix_or_before_a_newline() -> None:
    router = Router([_path("config")])
    assert _routes(router, "config") is not None
    assert _routes(router, "config/x") is None
    assert _routes(router, "xconfig") is None
    assert _routes(router, "config\n") is None
    router = Router([_path("^config$")])
    assert _routes(router, "config\n") is None


def test_word_class_is_ascii_only() -> None:
    router = Router([_path("kv/" + generic_name_regex("name"))])
    assert _routes(router, "kv/abc_1") is not None
    assert _routes(router, "kv/é") is None
    assert _routes(router, "kv/\u0661") is None


def test_declaration_order_decides() -> None:
    router = Router([_path("kv/special"), _path("kv/" + generic_name_regex("name"))])
    assert _routes(router, "kv/special") == ("kv/special", {})
    reversed_router = Router([_path("kv/" + generic_name_regex("name")), _path("kv/special")])
    routed = _routes(reversed_router, "kv/special")
    assert routed is not None
    assert routed[1] == {"name": "special"}


def test_unmatched_optional_capture_is_empty_string() -> None:
    router = Router([_path("roles" + optional_generic_name_regex("name") + "/?")])
    assert _routes(router, "roles")[1] == {"name": ""}  # type: ignore[index]
    assert _routes(router, "roles/")[1] == {"name": ""}  # type: ignore[index]
    assert _routes(router, "roles/r1")[1] == {"name": "r1"}  # type: ignore[index]


def test_helpers() -> None:
    assert re.fullmatch(go_regex_to_python(optional_param_regex("rest")), "/a/b") is not None
    assert re.fullmatch(go_regex_to_python(match_all_regex("all")), "") is not None
    assert re.fullmatch(generic_name_with_at_regex("user"), "a@b.c", re.ASCII) is not None
    assert re.fullmatch(generic_name_regex("user"), "a@b", re.ASCII) is None
    first, second = [_path("a")], [_path("b"), _path("c")]
    assert [p.pattern for p in path_append(first, second)] == ["a", "b", "c"]


def test_bad_patterns_fail_at_declaration() -> None:
    with pytest.raises(ValueError, match="does not compile"):
        Router([_path("roles/(")])
    with pytest.raises(ValueError, match="empty"):
        Path(pattern="")


@pytest.mark.parametrize(
    ("pattern", "prefix"),
    [
        ("config", "config"),
        ("^config$", "config"),
        ("kv/(?P<name>.+)", "kv/"),
        ("kvs?/x", "kv"),
        ("kv*", "k"),
        ("kv+", "kv"),
        ("a|b", ""),
        ("(?i)config", ""),
        ("x(a|b)", "x"),
        (r"[|]ab", ""),
    ],
)
def test_literal_prefix(pattern: str, prefix: str) -> None:
    assert literal_prefix(pattern) == prefix


def test_anchored_shows_the_route_as_go_does() -> None:
    assert anchored("kv/?") == "^kv/?$"
    assert anchored("^kv$") == "^kv$"


_GENERIC_NAME = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?")
_segments = st.text(alphabet="ab_-.Z9/é\n ", max_size=12)


@given(_segments)
def test_fuzz_generic_name_route_agrees_with_a_plain_predicate(tail: str) -> None:
    router = Router([_path("kv/" + generic_name_regex("name")), _path("kv/?")])
    routed = router.route("kv/" + tail)
    if tail == "":
        assert routed is not None
        assert routed[0].path.pattern == "kv/?"
    elif _GENERIC_NAME.fullmatch(tail):
        assert routed is not None
        assert routed[1] == {"name": tail}
    else:
        assert routed is None


@given(
    st.lists(st.sampled_from(["a", "b", "c", "a/b", "x"]), min_size=1, max_size=5, unique=True),
    _segments,
)
def test_fuzz_first_declared_match_wins(literals: list[str], request_path: str) -> None:
    catch_all = "(?P<rest>.*)"
    router = Router([_path(literal) for literal in literals] + [_path(catch_all)])
    routed = router.route(request_path)
    if request_path in literals:
        assert routed is not None
        assert routed[0].path.pattern == request_path
    elif "\n" in request_path:
        assert routed is None  # "." does not match a newline, as in Go
    else:
        assert routed is not None
        assert routed[1] == {"rest": request_path}


@given(st.text(alphabet="abc/.-_\n", max_size=10), st.text(alphabet="abc/.-_", max_size=6))
def test_fuzz_prefix_filter_never_hides_a_match(request_path: str, literal: str) -> None:
    pattern = re.escape(literal) + "(?P<x>.*)" if literal else "(?P<x>.*)"
    router = Router([_path(pattern)])
    expected = re.fullmatch(pattern, request_path, re.ASCII)
    routed = router.route(request_path)
    assert (routed is None) == (expected is None)
