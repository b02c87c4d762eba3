"""The package README's examples run as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parents[2] / "packages" / "vault-plugin-litellm" / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_the_readme_has_its_examples() -> None:
    assert len(python_blocks()) >= 4


async def test_backend_example_and_its_harness_test(capsys: pytest.CaptureFixture[str]) -> None:
    backend_code, harness_code = python_blocks()[:2]
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(backend_code, str(README), "exec"), namespace)  # noqa: S102
    exec(compile(harness_code, str(README), "exec"), namespace)  # noqa: S102
    await namespace["test_greeter"]()
    assert "revoking the token for ada" in capsys.readouterr().out


def test_launcher_example_writes_a_launcher(tmp_path: Path) -> None:
    code = python_blocks()[3].replace('"/etc/openbao/plugins"', repr(str(tmp_path)))
    namespace: dict[str, Any] = {}
    exec(compile(code, str(README), "exec"), namespace)  # noqa: S102
    script = (tmp_path / "greeter").read_text()
    first_line = script.splitlines()[0]
    assert first_line.startswith("#!")
    assert first_line.endswith(" -I")
    assert "from mypackage.plugin_main import main" in script
