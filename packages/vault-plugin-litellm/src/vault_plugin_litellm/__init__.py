"""An OpenBao / HashiCorp Vault secrets engine for LiteLLM virtual keys, and the Python plugin
runtime it is built on (``vault_plugin_litellm.sdk``).

Importing this package imports nothing else: a plugin's start-up time is spent before the
host's handshake deadline, so heavy modules load only where they are used.
"""

__version__ = "0.1.0"
