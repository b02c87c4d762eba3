"""An in-memory stand-in for the LiteLLM proxy, for fast tests and the demo.

It serves what the client, the secrets engine and the demo call (key management, ``/user/new``,
the health checks and non-streaming mock ``/chat/completions``) on 127.0.0.1, with the real
proxy's status codes, error envelopes, field sets and timestamp formats, for LiteLLM 1.106.12 and
1.108.5 (``version=``). Anything else (another route, a field it does not model, a request from a
caller it does not model) is refused with 501 ``standin_not_modelled`` rather than guessed.

:mod:`tests.support.litellm_standin.parity` compares it with a real proxy, call by call; CI runs
that against both versions.

    with StandIn(master_key="sk-...") as proxy:
        LiteLLMClient(proxy.url, proxy.master_key)
"""

from tests.support.litellm_standin.context import DEFAULT_MODELS, Model
from tests.support.litellm_standin.server import VERSIONS, StandIn

__all__ = ["DEFAULT_MODELS", "VERSIONS", "Model", "StandIn"]
