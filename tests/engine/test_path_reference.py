"""docs/paths.md is what the engine declares: regenerated from the path definitions, never stale."""

from __future__ import annotations

import difflib
from pathlib import Path as FilePath

import pytest
from vault_plugin_litellm.engine import reference
from vault_plugin_litellm.engine.backend import LiteLLMBackend
from vault_plugin_litellm.sdk.framework import Backend, FieldSchema, FieldType, Path
from vault_plugin_litellm.sdk.logical import Operation, Request, Response

ROOT = FilePath(__file__).resolve().parents[2]
PATHS_MD = ROOT / "docs" / "paths.md"


def test_docs_paths_md_is_what_the_generator_writes() -> None:
    expected = reference.render_engine()
    current = PATHS_MD.read_text(encoding="utf-8") if PATHS_MD.is_file() else ""
    if current != expected:
        diff = "".join(
            list(
                difflib.unified_diff(
                    current.splitlines(keepends=True),
                    expected.splitlines(keepends=True),
                    "docs/paths.md",
                    "generated",
                )
            )[:60]
        )
        pytest.fail(
            f"docs/paths.md is out of date: run `{reference.REGENERATE}` "
            f"({reference.REGENERATE_DIRECT})\n{diff}"
        )


def test_every_path_field_and_operation_of_the_engine_is_documented() -> None:
    backend = LiteLLMBackend()
    text = reference.render(backend)
    routes = {"config", "creds/<name>", "roles", "roles/<name>", "rotate-root", "tidy"}
    assert {reference._route(p) for p in backend.paths} == routes
    for route in routes:
        assert f"## `{route}`" in text.replace("&lt;", "<").replace("&gt;", ">")
    for path in backend.paths:
        for name, schema in path.fields.items():
            rows = [line for line in text.splitlines() if line.startswith(f"| `{name}` |")]
            assert rows, name
            assert any(" ".join(schema.description.split())[:40] in row for row in rows), name
        for operation, handler in path.handlers.items():
            assert f"| {operation.value} |" in text
            assert handler.summary in text
    assert "### Secret type `litellm_key`" in text
    assert "`bao lease renew" in text


async def _noop(req: Request, data: object) -> Response | None:
    return None


def _backend(description: str, default: object = None) -> Backend:
    return Backend(
        help_text="A <test> backend.",
        paths=[
            Path(
                pattern="things/(?P<name>\\w+)",
                fields={
                    "name": FieldSchema(FieldType.STRING, "The thing.", required=True),
                    "size": FieldSchema(FieldType.INT, description, required=True),
                    "wait": FieldSchema(FieldType.DURATION_SECOND, "How long.", default=default),
                },
                operations={Operation.READ: _noop, Operation.LIST: _noop},
                help_synopsis="Things.",
                help_description="Each thing under things/<name> is a thing.",
            )
        ],
    )


def test_the_reference_follows_the_definitions_it_is_given() -> None:
    text = reference.render(_backend("Size | in bytes.", default="90m"))
    row = next(line for line in text.splitlines() if line.startswith("| `size` |"))
    # A pipe would split the table cell; a required body field says so.
    assert row.endswith("| body | integer | — | Required. Size \\| in bytes. |")
    assert "| `name` | path | string | — | The thing. |" in text
    assert "| `wait` | body | duration (seconds, or `90s`, `10m`, `1h`) | `1h30m` |" in text
    # Angle brackets in help are shown, not taken for HTML tags.
    assert "under things/&lt;name&gt; is a thing" in text
    assert "A &lt;test&gt; backend." in text
    assert "`bao list litellm/things/<name>`" in text
    changed = reference.render(_backend("Size in kilobytes.", default="90m"))
    assert changed != text
    assert "Size in kilobytes." in changed


def test_the_command_writes_and_checks_the_file(
    tmp_path: FilePath, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "paths.md"
    assert reference.main(["--check", str(target)]) == 1  # missing
    target.write_text("stale\n", encoding="utf-8")
    assert reference.main(["--check", str(target)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert reference.main([str(target)]) == 0
    assert target.read_text(encoding="utf-8") == reference.render_engine()
    assert reference.main(["--check", str(target)]) == 0
