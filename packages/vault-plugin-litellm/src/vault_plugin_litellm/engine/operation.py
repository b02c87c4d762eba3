"""How the engine declares operations that change something."""

from __future__ import annotations

from vault_plugin_litellm.sdk.framework import OperationFunc, PathOperation


def changing(
    callback: OperationFunc, summary: str, *, callback_checks_forwarding: bool = False
) -> PathOperation:
    """An operation that writes storage, issues a lease or changes the proxy.

    Such an operation must run on the active node: on a standby (OpenBao's read-enabled
    standbys, Vault's performance standbys and secondaries) the framework refuses it with the
    host's read-only error, and the host forwards the request to the active node. With
    ``callback_checks_forwarding`` the callback makes that check itself, alongside its first
    storage write, and before it touches the proxy.
    """
    return PathOperation(
        callback,
        summary=summary,
        forward_performance_standby=True,
        forward_performance_secondary=True,
        callback_checks_forwarding=callback_checks_forwarding,
    )
