"""``python -m e2e.litellm_standin [--port N] [--master-key K] [--model NAME:IN:OUT ...] [...]``.

Prints ``export LITELLM_URL=... LITELLM_MASTER_KEY=...`` (so ``eval "$(...)"`` works when run in
the background with its output redirected) and serves until interrupted or terminated.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from e2e.litellm_standin.catalog import DEFAULT_MODELS, parse_model_option
from e2e.litellm_standin.server import StandIn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m e2e.litellm_standin",
        description="Serve an in-memory LiteLLM 1.106.12 stand-in on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: a free one)")
    parser.add_argument(
        "--master-key", default=None, help="master key, starting with sk- (default: random)"
    )
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME[:IN[:OUT]]",
        help="serve this model, priced per token (repeatable; default: fake-gpt and fake-other)",
    )
    parser.add_argument(
        "--spend-write-interval",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long spend takes to show in /key/info, as the proxy's batch writes (default 10)",
    )
    parser.add_argument(
        "--disable-custom-api-keys",
        action="store_true",
        help="refuse caller-chosen raw keys on generate, as general_settings does (403)",
    )
    parser.add_argument("--verbose", action="store_true", help="log each request (path only)")
    args = parser.parse_args(argv)
    try:
        models = [parse_model_option(text) for text in args.model] or list(DEFAULT_MODELS)
        proxy = StandIn(
            master_key=args.master_key,
            models=models,
            port=args.port,
            spend_write_interval=args.spend_write_interval,
            disable_custom_api_keys=args.disable_custom_api_keys,
        )
    except ValueError as exc:
        parser.error(str(exc))
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    url = proxy.start()
    print(f"export LITELLM_URL={url} LITELLM_MASTER_KEY={proxy.master_key}", flush=True)
    try:
        while not stop.wait(1):
            pass
    finally:
        proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
