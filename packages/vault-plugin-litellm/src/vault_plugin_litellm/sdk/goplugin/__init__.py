"""HashiCorp go-plugin, protocol v5, from the plugin side: handshake, AutoMTLS, broker,
controller, stdio and health. Knows nothing of paths or backends (see ``sdk.plugin``)."""

from .broker import Broker, BrokerError, ConnInfo
from .lifecycle import Lifecycle
from .runner import PluginContext, main, serve

__all__ = ["Broker", "BrokerError", "ConnInfo", "Lifecycle", "PluginContext", "main", "serve"]
