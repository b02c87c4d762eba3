"""When the plugin process stops, and what runs before it does."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

# The host sends SIGKILL 2 s after Shutdown; leave room to reply and close sockets.
CLEANUP_BUDGET = 1.0


class Lifecycle:
    def __init__(self) -> None:
        self.stopping = asyncio.Event()
        self.reason = ""
        self._hooks: list[Callable[[], Awaitable[None]]] = []
        # Read before the handshake line goes out, not when the watcher first runs: a host
        # that reads the line and dies at once must still count as gone.
        self._parent = os.getppid()

    def request_stop(self, reason: str) -> None:
        if not self.stopping.is_set():
            self.reason = reason
            log.debug("plugin stopping: %s", reason)
            self.stopping.set()

    def on_stop(self, hook: Callable[[], Awaitable[None]]) -> None:
        self._hooks.append(hook)

    async def run_hooks(self) -> None:
        for hook in self._hooks:
            try:
                await asyncio.wait_for(hook(), CLEANUP_BUDGET)
            except Exception:
                log.exception("stop hook failed")

    async def watch_parent(self, interval: float = 1.0) -> None:
        """Stop when the host dies: an orphan would hold its socket forever."""
        while not self.stopping.is_set():
            if os.getppid() != self._parent:
                self.request_stop("the host process exited")
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), interval)

    async def expect(self, event: asyncio.Event, within: float, what: str) -> None:
        """Stop unless ``event`` happens in time (a host that failed TLS never calls again)."""
        try:
            await asyncio.wait_for(event.wait(), within)
        except TimeoutError:
            self.request_stop(f"no {what} within {within:.0f} s")
