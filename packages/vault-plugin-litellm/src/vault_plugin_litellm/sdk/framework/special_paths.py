"""Checking special paths when a backend is declared, by the host's own rules.

OpenBao refuses the whole mount when an ``unauthenticated`` entry misuses a wildcard
(``internal/vault/routing/router.go``), an error found only when an operator enables the
plugin. ``root`` entries are matched exactly or by a trailing ``*`` prefix only, so a
misplaced ``*`` or any ``+`` there silently protects nothing. Both are refused here, when
the backend is built.
"""

from __future__ import annotations

from vault_plugin_litellm.sdk.logical import SpecialPaths


def _wildcard_error(kind: str, path: str, problem: str) -> ValueError:
    return ValueError(f"{kind} special path {path!r}: invalid use of wildcards ({problem})")


def _plus_next_to_non_slash(path: str) -> bool:
    for index, char in enumerate(path):
        if char != "+":
            continue
        before = path[index - 1] if index > 0 else "/"
        after = path[index + 1] if index + 1 < len(path) else "/"
        if before != "/" or after != "/":
            return True
    return False


def _check_star(kind: str, path: str) -> None:
    if path.count("*") > 1:
        raise _wildcard_error(kind, path, "only one '*' is allowed")
    if "+*" in path:
        raise _wildcard_error(kind, path, "'+*' is not allowed")
    if "*" in path and not path.endswith("*"):
        raise _wildcard_error(kind, path, "'*' is only allowed at the end of a path")


def validate_special_paths(paths: SpecialPaths) -> None:
    """Raise :class:`ValueError` naming the first entry the host would refuse or could
    never match."""
    for path in paths.unauthenticated:
        _check_star("unauthenticated", path)
        if _plus_next_to_non_slash(path):
            raise _wildcard_error(
                "unauthenticated", path, "'+' must stand for a whole segment, between slashes"
            )
    for path in paths.root:
        _check_star("root", path)
        if "+" in path:
            raise _wildcard_error(
                "root", path, "root paths match exactly or by a trailing '*'; '+' is not a wildcard"
            )
