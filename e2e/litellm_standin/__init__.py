"""An in-project stand-in for the LiteLLM 1.106.12 proxy, for fast tests and the demo.

It serves the key-management API, health checks and mock ``/chat/completions`` from memory on
127.0.0.1, answering with the real proxy's status codes, error envelopes, field defaults and
timestamp formats (docs/litellm-api.md). It is no substitute for the live suite against a
real proxy: :mod:`e2e.litellm_standin.parity` compares the two.

    with StandIn(master_key="sk-...") as proxy:
        LiteLLMClient(proxy.url, proxy.master_key)

``python -m e2e.litellm_standin`` serves until killed and prints the environment to use it.
"""

from e2e.litellm_standin.catalog import DEFAULT_MODELS, Model
from e2e.litellm_standin.server import StandIn

__all__ = ["DEFAULT_MODELS", "Model", "StandIn"]
