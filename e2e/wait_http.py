"""Wait until a URL answers 200: ``python -m e2e.wait_http URL [--timeout S]``."""

from __future__ import annotations

import argparse
import sys
import time
import urllib.request


def wait(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310  (a test URL)
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(2)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--timeout", type=float, default=180)
    args = parser.parse_args(argv)
    if wait(args.url, args.timeout):
        return 0
    print(f"{args.url} did not answer 200 within {args.timeout:.0f} s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
