"""The LiteLLM secrets engine: ``config``, ``roles/``, ``creds/``, ``rotate-root``, ``tidy``
and the ``litellm_key`` secret, on top of :mod:`vault_plugin_litellm.sdk`.

The plugin runtime imports :func:`.backend.factory` by name after the handshake, so this
package's import cost is not paid before the host hears from the plugin.
"""
