"""The example plugin's executable entry point (what the launcher script calls).

The backend module is named by string so that it is imported at the first ``Setup``, after the
handshake line is out: the host waits for that line, not for the backend.
"""

from __future__ import annotations

from vault_plugin_litellm.sdk.plugin import serve

VERSION = "v0.1.0"


def main() -> int:
    return serve("e2e.example_plugin.backend:factory", version=VERSION)
