from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

import litellm_client

PACKAGE = Path(litellm_client.__file__).parent
PYPROJECT = PACKAGE.parents[1] / "pyproject.toml"


def test_version_matches_the_distribution() -> None:
    assert litellm_client.__version__ == importlib.metadata.version("litellm-client")
    assert tomllib.loads(PYPROJECT.read_text())["project"]["version"] == litellm_client.__version__


def test_depends_on_httpx_and_pydantic_only() -> None:
    requires = importlib.metadata.requires("litellm-client") or []
    names = sorted(r.split(">")[0].split("<")[0].split("=")[0].strip() for r in requires)
    assert names == ["httpx", "pydantic"]


def test_marked_as_typed() -> None:
    assert (PACKAGE / "py.typed").is_file()


def test_every_public_name_resolves() -> None:
    for name in litellm_client.__all__:
        assert getattr(litellm_client, name) is not None
    assert issubclass(litellm_client.RequestTimeoutError, TimeoutError)
