"""Routing: Go pattern translation (RE2 spellings, loud failures, the backtracking check),
full matches, ASCII classes, order, captures; fuzzed."""

from __future__ import annotations

import re
import string
import warnings
from collections.abc import Callable

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
from vault_plugin_litellm.sdk.framework.go_regex import compile_path_pattern
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


@pytest.mark.parametrize(
    "pattern",
    [
        "config",
        r"kv/(?P<name>\w+)",
        "kvs?/x",
        "kv*",
        "kv+",
        r"wal\-demo",
        r"\x41b+c",
        "(?i)Config",
        "a{2}b",
        "^x/y$",
        r"\Apath",
        "(?:ab)?c",
    ],
)
@given(data=st.data())
def test_every_match_starts_with_the_literal_prefix(pattern: str, data: st.DataObject) -> None:
    text = data.draw(st.from_regex(compile_path_pattern(pattern), fullmatch=True))
    assert text.startswith(literal_prefix(pattern))


def test_anchored_shows_the_route_as_it_is_matched() -> None:
    assert anchored("kv/?") == "^kv/?$"  # Go's spelling where it means the same
    assert anchored("^kv$") == "^kv$"
    assert anchored("foo|bar") == "^(?:foo|bar)$"  # Go: ^foo|bar$, anything starting "foo"
    assert anchored("^a|b$") == "^(?:a|b)$"
    assert anchored("(a|b)c") == "^(a|b)c$"
    assert anchored(r"price\$") == r"^price\$$"  # Go leaves an escaped "$" unanchored
    assert anchored(r"a\\$") == r"^a\\$"  # an escaped backslash, then the anchor
    assert anchored("[[:alpha:]|]x") == "^[[:alpha:]|]x$"  # "|" inside a class


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


# -- Go (RE2) spellings and the backtracking check ------------------------------------------


def _matches(pattern: str, text: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no FutureWarning about nested sets either
        router = Router([_path(pattern)])
    return router.route(text) is not None


# Characters to probe classes with: all of Latin-1 and a few beyond.
_PROBES = [chr(code) for code in range(256)] + ["\u0100", "\u212a", "\U0001f600"]

# RE2's POSIX classes, from its syntax table (ASCII only), as predicates.
_POSIX: dict[str, Callable[[str], bool]] = {
    "alnum": lambda c: c.isascii() and c.isalnum(),
    "alpha": lambda c: c.isascii() and c.isalpha(),
    "ascii": lambda c: ord(c) < 0x80,
    "blank": lambda c: c in " \t",
    "cntrl": lambda c: ord(c) < 0x20 or ord(c) == 0x7F,
    "digit": lambda c: c in string.digits,
    "graph": lambda c: 0x21 <= ord(c) <= 0x7E,
    "lower": lambda c: c in string.ascii_lowercase,
    "print": lambda c: 0x20 <= ord(c) <= 0x7E,
    "punct": lambda c: c in string.punctuation,
    "space": lambda c: c in " \t\n\v\f\r",
    "upper": lambda c: c in string.ascii_uppercase,
    "word": lambda c: c.isascii() and (c.isalnum() or c == "_"),
    "xdigit": lambda c: c in string.hexdigits,
}


@pytest.mark.parametrize("name", sorted(_POSIX))
def test_posix_classes_are_rre2s_ascii_sets(name: str) -> None:
    expected = _POSIX[name]
    router = Router([_path(f"[[:{name}:]]"), _path(f"n/[[:^{name}:]]"), _path(f"m/[^[:{name}:]]")])
    for c in _PROBES:
        assert (router.route(c) is not None) is expected(c), (name, c)
        assert (router.route("n/" + c) is not None) is not expected(c), (name, c)
        assert (router.route("m/" + c) is not None) is not expected(c), (name, c)


def test_posix_classes_combine_with_other_class_items() -> None:
    assert _matches(r"[[:digit:]x-z_]+", "12y_")
    assert not _matches(r"[[:digit:]x-z_]+", "12a")
    assert _matches(r"[[:alpha:]-]+", "a-b")  # "-" after a class is a literal, as in RE2
    assert not _matches(r"[[:alpha:]-]+", "a.b")


def test_unknown_posix_class_fails_at_declaration() -> None:
    with pytest.raises(ValueError, match=r"unknown POSIX class \[:letters:\]"):
        _path("x/[[:letters:]]")


def test_perl_space_excludes_vertical_tab_as_in_re2() -> None:
    space = set(" \t\n\f\r")
    for c in _PROBES:
        assert _matches(r"x\s", "x" + c) is (c in space), repr(c)
        assert _matches(r"x\S", "x" + c) is (c not in space), repr(c)
        assert _matches(r"x[\s,]", "x" + c) is (c in space or c == ","), repr(c)
        assert _matches(r"x[\S]", "x" + c) is (c not in space), repr(c)
        assert _matches(r"x[^\s]", "x" + c) is (c not in space), repr(c)
    assert _matches(r"[\s-z]", "-")  # the hyphen after \s stays a literal
    assert not _matches(r"[\s-z]", "a")


@pytest.mark.parametrize(
    ("pattern", "literal"), [("x{,3}", "x{,3}"), ("x{,}", "x{,}"), ("a{,2}b", "a{,2}b")]
)
def test_repeat_without_a_minimum_is_literal_text_as_in_re2(pattern: str, literal: str) -> None:
    assert _matches(pattern, literal)
    assert not _matches(pattern, "xx")
    assert not _matches(pattern, literal[0])


def test_bracket_and_doubled_operators_inside_classes_are_literals() -> None:
    assert _matches("[[]", "[")
    assert _matches("[a&&b]", "&")
    assert not _matches("[a&&b]", "c")
    assert _matches("[~~]", "~")
    assert _matches("[||]", "|")
    assert _matches("[a-z&&[^b]]", "b]")  # RE2: the class ends at the first "]"


@pytest.mark.parametrize(
    ("pattern", "inside", "outside"),
    [
        ("[!--]", ["!", "+", "-"], [".", "a"]),  # a range ending in "-"
        (r"[\w--z]", ["-", ".", ":", "a", "_"], ["!", " "]),  # "-" after \w starts a range
        ("[--/]", ["-", ".", "/"], [",", "0"]),
        ("[a-c-e]", ["a", "b", "-", "e"], ["d"]),
        (r"[\w-.]", ["a", "-", "."], ["/"]),
        (r"[]a]", ["]", "a"], ["b"]),
        (r"[^-a]", ["b", "/"], ["-", "a"]),
    ],
)
def test_hyphens_in_classes_read_as_in_re2(
    pattern: str, inside: list[str], outside: list[str]
) -> None:
    for c in inside:
        assert _matches(pattern, c), c
    for c in outside:
        assert not _matches(pattern, c), c


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        (r"x/\pL", r"bad escape \\p"),
        (r"x/\p{Greek}", r"bad escape \\p"),
        (r"x/\PL", r"bad escape \\P"),
        (r"\Qa.b\E", r"bad escape \\Q"),
        (r"(?U)a+", "unknown extension"),
        (r"x\x{41}", r"incomplete escape \\x"),
        (r"x\C", r"bad escape \\C"),
        ("a(?i)b", "global flags not at the start"),
        ("a{1001}", "more than 1000 times"),
        ("a{2,1001}", "more than 1000 times"),
        ("roles/(", "does not compile"),
    ],
)
def test_re2_syntax_python_lacks_fails_at_declaration(pattern: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as caught:
        _path(pattern)
    assert repr(pattern) in str(caught.value)


def test_documented_difference_case_folding_is_ascii_only() -> None:
    assert _matches("(?i)k", "K")
    assert not _matches("(?i)k", "\u212a")  # RE2 folds the Kelvin sign to k; Python does not


@pytest.mark.parametrize(
    "pattern",
    [
        r"x/(?P<a>(\w+\.?)+)$",
        "(a+)+",
        "(a*)*",
        "(a+)*b",
        "(?:a+){2,}",
        "(?:a+){2}",
        "((a+)?)+",
        "(?P<p>(\\w+[.-]?)*)",
        "(.+/)+",
        "(/a/\\w+)*",  # the separator occurs inside too
        "(?i)(\\w+K)+",  # K is a word character
        "(?=(a+)+)b",
        "x(?:(?:a|b)+c?)+",
        "((/\\w+)*)*",
    ],
)
def test_nested_unbounded_repetition_is_refused_at_declaration(pattern: str) -> None:
    with pytest.raises(ValueError, match="unbounded repetition") as caught:
        _path(pattern)
    message = str(caught.value)
    assert repr(pattern) in message
    assert "linear form" in message


@pytest.mark.parametrize(
    "pattern",
    [
        "kv/" + generic_name_regex("name"),
        "roles" + optional_generic_name_regex("name") + "/?",
        "users/" + generic_name_with_at_regex("user") + "/?$",
        "files" + optional_param_regex("rest"),
        "proxy/" + match_all_regex("all"),
        r"(/\w+)*",
        r"(\w+/)+",
        r"\w+(?:/\w+)*",
        r"(?:(?P<seg>/\w+))*",
        r"([^/]+/)+",
        r"(\s+x)*",
        "(a+b)*",
        "(?>a+)+",  # atomic: no backtracking into the group
        "(a+)++",  # possessive
        "(a|aa)+",  # overlapping alternatives: not detected (documented)
        ".*.*",
        "(a+)?b",
        "(?:ab)+",
    ],
)
def test_linear_patterns_and_the_framework_helpers_pass_the_check(pattern: str) -> None:
    assert isinstance(_path(pattern).regex, re.Pattern)


def test_the_check_sees_through_translated_spellings() -> None:
    with pytest.raises(ValueError, match="unbounded repetition"):
        _path(r"x/(?<n>([[:alpha:]]+\.?)+)")
    _path(r"x/(?<n>(\.[[:alpha:]]+)+)")  # a "." never matched by [[:alpha:]]: linear


_PATTERN_PIECES = [*"ab/.()?*+|[]{}2,^$-\\wsSd"]
_PATTERN_PIECES += ["[:alpha:]", "(?:", "(?P<n>", "(?<m>", "{2}", "{1,}", "&&", "(?i)"]
_PATTERN_ALPHABET = st.sampled_from(_PATTERN_PIECES)


@given(st.lists(_PATTERN_ALPHABET, max_size=14).map("".join))
def test_fuzz_patterns_compile_or_fail_with_a_value_error(pattern: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            compiled = compile_path_pattern(pattern)
        except ValueError:
            return
    assert isinstance(compiled, re.Pattern)


@given(st.text(alphabet="ab/.-_ \t\x0b\n[]{},:", max_size=10))
def test_fuzz_space_and_posix_translation_agree_with_predicates(text: str) -> None:
    router = Router(
        [
            _path(r"(?P<s>\s)"),
            _path(r"(?P<p>[[:punct:]])"),
            _path(r"(?P<w>[[:word:]]+)"),
            _path(r"(?P<rest>[^[:word:]]*)"),
        ]
    )
    routed = router.route(text)
    if len(text) == 1 and text in " \t\n\f\r":
        expected = "s"
    elif len(text) == 1 and text in string.punctuation:
        expected = "p"
    elif text and all(c.isalnum() or c == "_" for c in text):
        expected = "w"
    elif all(not (c.isalnum() or c == "_") for c in text):
        expected = "rest"
    else:
        assert routed is None
        return
    assert routed is not None
    assert list(routed[1]) == [expected]
