"""Plugin executables: the one file the host runs, and its catalog checksum.

The host execs exactly one file from its plugin directory and checks that file's SHA-256 before
every start. A Python plugin is therefore a small script whose shebang names the interpreter of
the environment the plugin is installed in, with ``-I``: the host passes its whole environment
on, and a ``PYTHONPATH`` or ``PYTHONHOME`` there would otherwise hijack or break the plugin.
The checksum covers only this script, not the environment it points at.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Linux reads at most this much of a "#!" line (BINPRM_BUF_SIZE before 5.1 kernels).
SHEBANG_LIMIT = 127


class LauncherError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Launcher:
    path: Path
    sha256: str

    @property
    def command(self) -> str:
        """The catalog ``command``: a bare file name inside the plugin directory."""
        return self.path.name


def sha256_file(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def render(entry: str, *, python: str, sys_path: Sequence[str] = ()) -> str:
    """The script text for ``entry`` (``"module:function"``, called with no arguments)."""
    module, sep, func = entry.partition(":")
    if not sep or not module.replace(".", "").replace("_", "").isalnum() or not func.isidentifier():
        raise LauncherError(f"entry must look like 'package.module:function', got {entry!r}")
    shebang = f"#!{python} -I"
    if len(shebang) > SHEBANG_LIMIT or " " in python:
        raise LauncherError(
            f"interpreter path {python!r} cannot be used in a #! line (spaces, or longer than "
            f"{SHEBANG_LIMIT - 5} characters); create the environment at a shorter path"
        )
    lines = [
        shebang,
        "# Started by OpenBao / Vault as a plugin. The catalog holds this file's SHA-256:",
        "# re-register the plugin after any change to it.",
        "import sys",
    ]
    if sys_path:
        lines.append(f"sys.path[:0] = {list(sys_path)!r}")
    lines += [f"from {module} import {func}", f"sys.exit({func}())", ""]
    return "\n".join(lines)


def write_launcher(
    directory: str | os.PathLike[str],
    name: str,
    entry: str,
    *,
    python: str | None = None,
    sys_path: Sequence[str] = (),
) -> Launcher:
    """Write (or replace) the executable ``directory/name`` and return its checksum.

    The file must sit directly in the host's plugin directory: the host refuses paths outside
    it, including symlinks that lead elsewhere.
    """
    if not name or "/" in name or name in (".", ".."):
        raise LauncherError(f"plugin file name must be a plain file name, got {name!r}")
    text = render(entry, python=python or sys.executable, sys_path=sys_path)
    path = Path(directory) / name
    tmp = path.with_name(f".{name}.tmp")
    tmp.write_text(text)
    tmp.chmod(0o755)
    os.replace(tmp, path)  # atomic: a host starting the plugin never sees half a file
    return Launcher(path, sha256_file(path))
