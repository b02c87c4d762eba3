"""Fixtures of the sdk.goplugin tests (helpers that play the host are in hostside.py)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator

import pytest
from vault_plugin_litellm.sdk.goplugin import tls

from .hostside import go_plugin_host_identity


@pytest.fixture(scope="session")
def p521_host() -> tls.Identity:
    return go_plugin_host_identity()


@pytest.fixture(scope="session")
def plugin_identity() -> tls.Identity:
    return tls.generate_identity()


@pytest.fixture
def sock_dir() -> Iterator[str]:
    """A short directory for unix sockets (their paths are limited to about 100 bytes)."""
    path = tempfile.mkdtemp(prefix="sdkp", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)
