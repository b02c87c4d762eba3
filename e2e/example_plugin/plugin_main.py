"""The example plugin's executable entry point (what the launcher script calls).

The backend module is named by string so that it is imported at the first ``Setup``, after the
handshake line is out: the host waits for that line, not for the backend.
"""

from __future__ import annotations

from vault_plugin_litellm import __version__
from vault_plugin_litellm.sdk.plugin import serve

# The runtime's own version: the example is how the runtime is proven on a real server.
VERSION = f"v{__version__}"


def main() -> int:
    return serve("e2e.example_plugin.backend:factory", version=VERSION)
