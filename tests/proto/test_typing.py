"""The .pyi stubs make consumers' code type-check under mypy --strict, and catch mistakes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mypy import api

GOOD = """
from vault_plugin_proto.pb import backend_pb2


def request_path(path: str) -> str:
    args = backend_pb2.HandleRequestArgs(request=backend_pb2.Request(path=path))
    args.request.headers["X-Id"].header.append("1")
    args.request.secret.lease_options.issue_time.GetCurrentTime()
    ttl: int = args.request.secret.lease_options.TTL
    return args.request.path + str(ttl)
"""

# Each line marked "# E" must be reported by mypy; nothing else may be.
BAD = """
from vault_plugin_proto.logical import identity_pb2
from vault_plugin_proto.pb import backend_pb2

backend_pb2.Request(path=3)  # E
backend_pb2.HandleRequestArgs(request=backend_pb2.Response())  # E
backend_pb2.SetupArgs(Config={"a": 1})  # E
entity = identity_pb2.Entity()
entity.id  # E
count: str = backend_pb2.LeaseOptions().TTL  # E
"""


@pytest.fixture(scope="module")
def mypy_report(
    tmp_path_factory: pytest.TempPathFactory, readme_example: str, repo_root: Path
) -> dict[str, list[str]]:
    """mypy's messages for each checked file, with the workspace's configuration."""
    where = tmp_path_factory.mktemp("typing")
    files = {"good.py": GOOD, "bad.py": BAD, "readme_example.py": readme_example}
    for name, code in files.items():
        (where / name).write_text(code)
    stdout, stderr, _ = api.run(
        [
            "--config-file",
            str(repo_root / "pyproject.toml"),
            "--cache-dir",
            str(where / ".mypy_cache"),
            *(str(where / name) for name in files),
        ]
    )
    assert stderr == ""
    report: dict[str, list[str]] = {name: [] for name in files}
    for line in stdout.splitlines():
        name = Path(line.split(":", 1)[0]).name
        if name in report and ": error:" in line:
            report[name].append(line)
    return report


def test_correct_code_type_checks(mypy_report: dict[str, list[str]]) -> None:
    assert mypy_report["good.py"] == []


def test_readme_example_type_checks(mypy_report: dict[str, list[str]]) -> None:
    assert mypy_report["readme_example.py"] == []


def test_mistakes_are_reported(mypy_report: dict[str, list[str]]) -> None:
    expected = [n for n, line in enumerate(BAD.splitlines(), start=1) if line.endswith("# E")]
    reported = sorted(
        {int(m.group(1)) for line in mypy_report["bad.py"] if (m := re.search(r":(\d+):", line))}
    )
    assert reported == expected, "\n".join(mypy_report["bad.py"])
