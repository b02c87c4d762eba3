"""Every package says its licence, and every built wheel and sdist carries the notice."""

from __future__ import annotations

import subprocess
import tarfile
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from e2e.uv_tool import find_uv

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(p.parent for p in (ROOT / "packages").glob("*/pyproject.toml"))
NOTICE = (ROOT / "LICENSE").read_text()


def test_the_notice_names_the_licence_and_where_it_is_published() -> None:
    assert NOTICE.startswith("SPDX-License-Identifier: Apache-2.0\n")
    assert "https://www.apache.org/licenses/LICENSE-2.0" in NOTICE


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_each_package_declares_the_licence_and_holds_the_notice(package: Path) -> None:
    project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    assert (package / "LICENSE").read_text() == NOTICE


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    uv = find_uv()
    assert uv is not None, "uv is needed to build: run the tests with `uv run` or `make test`"
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [uv, "build", "--all-packages", "--quiet", "--out-dir", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return out


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_the_built_artefacts_carry_the_notice(built: Path, package: Path) -> None:
    stem = package.name.replace("-", "_")
    (wheel_path,) = built.glob(f"{stem}-*.whl")
    with zipfile.ZipFile(wheel_path) as wheel:
        (notice,) = [n for n in wheel.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        assert wheel.read(notice).decode() == NOTICE
        (metadata_name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(wheel.read(metadata_name).decode())
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]

    (sdist_path,) = built.glob(f"{stem}-*.tar.gz")
    with tarfile.open(sdist_path) as sdist:
        (member,) = [
            m for m in sdist.getmembers() if m.name.count("/") == 1 and m.name.endswith("/LICENSE")
        ]
        extracted = sdist.extractfile(member)
        assert extracted is not None
        assert extracted.read().decode() == NOTICE
