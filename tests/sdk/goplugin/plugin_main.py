"""A plugin process with only go-plugin's own services, started by the process tests.

``SDK_TEST_BROKER_DEADLINE`` shortens how long the runtime waits for the host's broker stream,
so a test can watch a process that never gets one give up.
"""

from __future__ import annotations

import os
import sys

from vault_plugin_litellm.sdk.goplugin import PluginContext, main, runner


def register(ctx: PluginContext) -> None:
    # After the handshake takes stdout over, a stray print must land on stderr.
    print("registered services")


if __name__ == "__main__":
    if deadline := os.environ.get("SDK_TEST_BROKER_DEADLINE"):
        runner.BROKER_STREAM_DEADLINE = float(deadline)
    sys.exit(main(register))
