"""The function the plugin launcher runs when OpenBao or Vault starts the plugin.

It names the engine by string, so that the engine (httpx, pydantic, the LiteLLM client) is
imported at the first mount, after the handshake line is out: the host waits for that line.
"""

from __future__ import annotations

from vault_plugin_litellm import __version__
from vault_plugin_litellm.sdk.plugin import serve

ENGINE = "vault_plugin_litellm.engine.backend:factory"
VERSION = f"v{__version__}"


def main() -> int:
    return serve(ENGINE, version=VERSION)
