"""The repository explains itself: comments cite its own docs/, never notes kept elsewhere.

Someone who clones the repository has ``docs/`` and nothing else, so a comment that justifies
code with "the protocol notes §8" or a path outside the checkout explains nothing. Every
``§`` citation must name a document of ``docs/`` (or an RFC) and land on a heading there.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
THIS_FILE = Path(__file__).resolve().relative_to(ROOT).as_posix()

CHECKED_SUFFIXES = frozenset({".py", ".pyi", ".md", ".toml", ".yml", ".yaml", ".proto", ".cfg"})
CHECKED_NAMES = frozenset({"Makefile"})
# CI infrastructure may use the shared LiteLLM proxy launcher beside the checkout; nothing else
# may read or cite anything outside the repository.
MAY_USE_SHARED_CHECKOUT = frozenset({".ci/run"})

# Material that lives outside the repository, and the ways people have cited it.
OUTSIDE = [
    (re.compile(r"shared/(?:docs|reference)\b", re.I), "a path outside the repository"),
    (re.compile(r"/work/"), "an absolute path of the development machine"),
    (re.compile(r"\b(?:protocol|api|reference|closing|design)\s+notes?\b", re.I), "outside notes"),
    (re.compile(r"\bnotes?\s*,?\s*(?:§|sections?\s+\d)", re.I), "outside notes"),
    (
        re.compile(r"(?<![\w-])(?:plugin-protocol|design|compat)\.md\b|\bcheck_descriptor\.py\b"),
        "a document that is not in the repository",
    ),
    (re.compile(r"\bsections?\s+\d", re.I), "a section number without its document"),
]
SHARED_CHECKOUT = re.compile(r"\.\./shared\b|\bSHARED_DIR\b|shared/litellm-proxy\b", re.I)

# A document name, an RFC, or a section sign. A § belongs to the document or RFC named last
# before it: in a module, anywhere above (one that cites "RFC 9113 §8" in its first line may say
# "§8.1" further down); in docs/, on the same line, and otherwise to the document itself.
TOKEN = re.compile(
    r"(?:docs/)?(?P<doc>[\w-]+\.md)\b|(?P<rfc>\bRFC\s?\d+)|§\s?(?P<section>\d+(?:\.\d+)*)"
)
HEADING = re.compile(r"^#{1,6}\s+(?P<number>\d+(?:\.\d+)*)\.?\s")


def _checked(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    if path == THIS_FILE:
        return False
    return (
        name in CHECKED_NAMES
        or path.startswith(".ci/")
        or any(name.endswith(suffix) for suffix in CHECKED_SUFFIXES)
    )


def repository_files() -> list[str]:
    """Tracked files plus new ones not ignored (what a commit would hold), repo-relative."""
    result = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        pytest.fail(f"git ls-files failed in {ROOT}: {result.stderr.strip()}")
    return sorted(p for p in result.stdout.splitlines() if _checked(p) and (ROOT / p).is_file())


def doc_sections() -> dict[str, set[str]]:
    """The numbered headings of each document in docs/."""
    sections: dict[str, set[str]] = {}
    for doc in DOCS.glob("*.md"):
        numbers = set()
        for line in doc.read_text(encoding="utf-8").splitlines():
            match = HEADING.match(line)
            if match:
                numbers.add(match["number"])
        sections[doc.name] = numbers
    return sections


def citation_problems(path: str, text: str, sections: dict[str, set[str]]) -> Iterator[str]:
    """What is wrong with the ``§`` citations in ``text``, one message per problem."""
    own = path.rsplit("/", 1)[-1] if path.startswith("docs/") else ""
    target: str | None = own
    for number, line in enumerate(text.splitlines(), 1):
        if own:
            target = own
        for token in TOKEN.finditer(line):
            if token["doc"]:
                target = token["doc"]
            elif token["rfc"]:
                target = None
            elif target is None:
                continue  # a section of an RFC
            elif not target:
                yield f"{path}:{number}: §{token['section']} names no document: {line.strip()}"
            elif target not in sections:
                yield f"{path}:{number}: §{token['section']} of {target}, not a docs/ file"
            elif token["section"] not in sections[target]:
                yield f"{path}:{number}: docs/{target} has no §{token['section']}"


def outside_references(path: str, text: str) -> Iterator[str]:
    for number, line in enumerate(text.splitlines(), 1):
        for pattern, what in OUTSIDE:
            if pattern.search(line):
                yield f"{path}:{number}: {what}: {line.strip()}"
        if path not in MAY_USE_SHARED_CHECKOUT and SHARED_CHECKOUT.search(line):
            yield f"{path}:{number}: reaches outside the checkout: {line.strip()}"


def test_docs_exist_with_numbered_sections() -> None:
    sections = doc_sections()
    for name in ("go-plugin-protocol.md", "host-behaviour.md", "litellm-api.md"):
        assert len(sections.get(name, ())) >= 10, f"docs/{name} is missing or has no sections"
    assert (DOCS / "README.md").is_file()


def test_nothing_points_outside_the_repository() -> None:
    problems: list[str] = []
    for path in repository_files():
        text = (ROOT / path).read_text(encoding="utf-8", errors="replace")
        problems += outside_references(path, text)
    assert not problems, "cite docs/ instead:\n" + "\n".join(problems)


def test_every_section_citation_resolves() -> None:
    sections = doc_sections()
    problems: list[str] = []
    for path in repository_files():
        text = (ROOT / path).read_text(encoding="utf-8", errors="replace")
        problems += citation_problems(path, text, sections)
    assert not problems, "\n".join(problems)


# The checks themselves, on the kinds of text they exist to catch.
@pytest.mark.parametrize(
    "line",
    [
        "# the rules are in the protocol notes, §10",
        '"""Classified as section 6.3 of the API notes orders it."""',
        "see shared/docs/plugin-protocol.md",
        "    shared = Path(__file__).parents[3] / '../shared/reference'",
        "figures in the project's closing notes",
        "(section 4.5)",
        "reads /work/shared/reference/protocol/union.json",
    ],
)
def test_outside_references_are_caught(line: str) -> None:
    assert list(outside_references("pkg/module.py", line))


def test_the_shared_checkout_is_allowed_only_to_ci() -> None:
    line = 'SHARED=${SHARED_DIR:-$ROOT/../shared}; "$SHARED/litellm-proxy/up"'
    assert list(outside_references(".ci/run", line)) == []
    assert list(outside_references("e2e/helper.py", line))


def test_citations_are_checked_against_headings() -> None:
    sections = {"litellm-api.md": {"6", "6.3"}, "host-behaviour.md": {"3", "3.3"}}
    good = "rules (docs/litellm-api.md §6.3); resolve-path: docs/host-behaviour.md §3.3, §3"
    assert list(citation_problems("pkg/a.py", good, sections)) == []
    assert list(citation_problems("pkg/a.py", "HTTP/2 frames (RFC 9113 §4, §6)", sections)) == []
    assert list(citation_problems("docs/host-behaviour.md", "see §3.3", sections)) == []
    in_docs = "as litellm-api.md §6 says\nand §3.3 here"  # the other doc's name ends with its line
    assert list(citation_problems("docs/host-behaviour.md", in_docs, sections)) == []
    assert list(citation_problems("pkg/a.py", "see docs/litellm-api.md §7", sections))
    assert list(citation_problems("pkg/a.py", "budgets (§8)", sections))
    assert list(citation_problems("pkg/a.py", "see README.md §2", sections))
    rfc_module = '"""Fields (RFC 9113 §8.2).\n\nA malformed request (§8.1.1) is reset."""'
    assert list(citation_problems("pkg/a.py", rfc_module, sections)) == []
    after_doc = "resolve-path: docs/host-behaviour.md §3\nthe trap (§3.3), and (§9)"
    assert [
        p.split(": ", 1)[1][:20] for p in citation_problems("pkg/a.py", after_doc, sections)
    ] == ["docs/host-behaviour."]
