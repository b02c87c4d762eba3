"""Plugin executables for the tests, the demo and the benchmarks."""

from __future__ import annotations

from pathlib import Path

from vault_plugin_litellm.sdk.launcher import Launcher, write_launcher

from .openbao import ROOT, Bao, register_plugin

EXAMPLE_ENTRY = "e2e.example_plugin.plugin_main:main"
EXAMPLE_NAME = "example-kv"


def install_example_plugin(plugin_dir: Path, name: str = EXAMPLE_NAME) -> Launcher:
    """The example backend's launcher; the repository root goes on its ``sys.path``."""
    return write_launcher(plugin_dir, name, EXAMPLE_ENTRY, sys_path=[str(ROOT)])


def register_example_plugin(bao: Bao, plugin_dir: Path, name: str = EXAMPLE_NAME) -> Launcher:
    launcher = install_example_plugin(plugin_dir, name)
    register_plugin(bao, name, launcher.sha256, launcher.command)
    return launcher
