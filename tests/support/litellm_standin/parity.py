"""Compare the stand-in with a real LiteLLM proxy, call by call.

    LITELLM_URL=http://127.0.0.1:4000 LITELLM_MASTER_KEY=sk-... \\
        uv run python -m tests.support.litellm_standin.parity [--scenario NAME ...]

Every scenario in :mod:`~tests.support.litellm_standin.scenarios` runs against the real proxy,
then against a fresh stand-in set to the real proxy's version (read from its
``x-litellm-version`` header). Each answer is reduced to its status, a few headers and its JSON
body, with run-specific values (keys, tokens, aliases, ids) replaced by placeholders and
timestamps by their format, and the two reductions are compared in full. Differences listed in
``scenarios.TOLERATED`` are reported with their reason; any other difference makes the exit
status 1. Keys and users the scenarios create on the real proxy are deleted at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.litellm_standin.server import VERSIONS, StandIn

_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.(\d+))?(Z|[+-]\d\d:\d\d)")
_PLAIN_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d| UTC)")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HEX64 = re.compile(r"\b[0-9a-f]{64}\b")
_COMPARED_HEADERS = ("content-type", "retry-after", "rate_limit_type")


def _stamp_kind(match: re.Match[str]) -> str:
    # Only the style counts: whether a fraction prints as milliseconds or microseconds depends
    # on the clock (a stored value is truncated to ms, and ms whose last digits are 0 drop them).
    return "<ts Z>" if match.group(2) == "Z" else "<ts offset>"


@dataclass
class Names:
    """Run-specific values and the placeholders they are compared under."""

    prefix: str
    values: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, value: str | None, kind: str) -> None:
        if value and value not in self.values:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.values[value] = f"<{kind}{self.counts[kind]}>"

    def text(self, value: str) -> str:
        for known in sorted(self.values, key=len, reverse=True):
            value = value.replace(known, self.values[known])
        value = value.replace(self.prefix, "<p>")
        value = _TIMESTAMP.sub(_stamp_kind, value)
        value = _PLAIN_TIME.sub("<time>", value)
        return _HEX64.sub("<hex>", _UUID.sub("<uuid>", value))

    def reduce(self, value: object, ignore: frozenset[str] = frozenset()) -> object:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, float):
            return round(value, 9)
        if isinstance(value, list):
            return [self.reduce(item, ignore) for item in value]
        if isinstance(value, dict):
            return {
                self.text(str(k)): "<ignored>" if k in ignore else self.reduce(v, ignore)
                for k, v in value.items()
            }
        return value


@dataclass(frozen=True)
class Observation:
    label: str
    status: int
    headers: Mapping[str, str]
    body: object


class Session:
    """One target: a base URL, its master key, and what the scenario saw there."""

    def __init__(self, url: str, master_key: str, names: Names) -> None:
        self.master_key = master_key
        self.names = names
        # No connection reuse: the real proxy may drop a connection after a 500.
        self.http = httpx.Client(
            base_url=url, timeout=30, limits=httpx.Limits(max_keepalive_connections=0)
        )
        self.observations: list[Observation] = []
        self.tokens: set[str] = set()
        self.users: set[str] = set()
        names.add(master_key, "master")

    def alias(self, label: str) -> str:
        return f"{self.names.prefix}{label}"

    def custom_key(self, label: str) -> str:
        raw = f"sk-{self.names.prefix}{label}-{uuid.uuid4().hex[:12]}"
        self.register_raw(raw)
        return raw

    def call(
        self,
        label: str,
        method: str,
        path: str,
        *,
        key: str | None = None,
        json: object = None,
        content: bytes | None = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        ignore: frozenset[str] = frozenset(),
    ) -> Any:
        """Send one request (``key`` defaults to the master key; "" sends no credential) and
        return its decoded JSON body (None if it has none)."""
        sent = dict(headers or {})
        credential = self.master_key if key is None else key
        if credential:
            sent.setdefault("Authorization", f"Bearer {credential}")
        if json is not None:
            response = self.http.request(method, path, json=json, params=params, headers=sent)
        else:
            response = self.http.request(method, path, content=content, params=params, headers=sent)
        body = _decoded(response)
        self._learn(body)
        compared = {
            name: self.names.text(response.headers[name].split(";")[0])
            for name in _COMPARED_HEADERS
            if name in response.headers
        }
        reduced = self.names.reduce(body if body is not None else response.text, ignore)
        self.observations.append(Observation(label, response.status_code, compared, reduced))
        return body

    def _learn(self, body: Any) -> None:
        """Register minted keys, so both targets' values map to the same placeholders."""
        if isinstance(body, dict) and isinstance(body.get("key"), str):
            if body["key"].startswith("sk-"):
                self.register_raw(body["key"])
            token = body.get("token") or body.get("token_id")
            if isinstance(token, str):
                self.tokens.add(token)
                self.register_raw_token(token)
            if isinstance(body.get("user_role"), str) and isinstance(body.get("user_id"), str):
                self.users.add(body["user_id"])

    def register_raw(self, raw: str) -> None:
        self.names.add(raw, "raw")
        self.names.add(f"sk-...{raw[-4:]}", "name")
        self.names.add(f"{raw[:4]}****{raw[-4:]}", "masked")
        self.register_raw_token(hashlib.sha256(raw.encode()).hexdigest())

    def register_raw_token(self, token: str) -> None:
        self.names.add(token, "tok")
        self.names.add(f"sk-...{token[-4:]}", "tokname")
        self.names.add(f"{token[:4]}****{token[-4:]}", "tokmasked")

    def cleanup(self) -> None:
        auth = {"Authorization": f"Bearer {self.master_key}"}
        params: dict[str, str | int] = {"key_alias": self.names.prefix, "size": 100}
        params["substring_matching"] = "true"
        found = _decoded(self.http.get("/key/list", params=params, headers=auth))
        if isinstance(found, dict):
            self.tokens.update(t for t in found.get("keys", []) if isinstance(t, str))
        for user in self.users:
            owned = _decoded(self.http.get("/key/list", params={"user_id": user}, headers=auth))
            if isinstance(owned, dict):
                self.tokens.update(t for t in owned.get("keys", []) if isinstance(t, str))
        if self.tokens:
            self.http.post("/key/delete", json={"keys": sorted(self.tokens)}, headers=auth)
        if self.users:
            # Not modelled by the stand-in (501 there); on the real proxy it removes the users.
            self.http.post("/user/delete", json={"user_ids": sorted(self.users)}, headers=auth)


def _decoded(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


Scenario = Callable[[Session], None]


@dataclass(frozen=True)
class Difference:
    scenario: str
    label: str
    where: str
    real: object
    standin: object


def _diff(path: str, real: object, standin: object) -> Iterator[tuple[str, object, object]]:
    if isinstance(real, dict) and isinstance(standin, dict):
        for name in sorted(set(real) | set(standin)):
            left, right = real.get(name, "<absent>"), standin.get(name, "<absent>")
            yield from _diff(f"{path}.{name}", left, right)
    elif isinstance(real, list) and isinstance(standin, list) and len(real) == len(standin):
        for index, (left, right) in enumerate(zip(real, standin, strict=True)):
            yield from _diff(f"{path}[{index}]", left, right)
    elif real != standin:
        yield path, real, standin


def compare(scenario: str, real: list[Observation], standin: list[Observation]) -> list[Difference]:
    found: list[Difference] = []
    for index in range(max(len(real), len(standin))):
        left = real[index] if index < len(real) else None
        right = standin[index] if index < len(standin) else None
        if left is None or right is None or left.label != right.label:
            # The two runs took different paths; nothing after this point lines up.
            labels = [o.label if o is not None else "<none>" for o in (left, right)]
            found.append(Difference(scenario, labels[0], "sequence", *labels))
            break
        if left.status != right.status:
            # Field-by-field differences between an error and a success say nothing more.
            texts = [f"{o.status} {str(o.body)[:400]}" for o in (left, right)]
            found.append(Difference(scenario, left.label, "status", *texts))
            continue
        for where, a, b in _diff("headers", dict(left.headers), dict(right.headers)):
            found.append(Difference(scenario, left.label, where, a, b))
        for where, a, b in _diff("body", left.body, right.body):
            found.append(Difference(scenario, left.label, where, a, b))
    return found


def run_scenario(scenario: Scenario, url: str, master_key: str, prefix: str) -> list[Observation]:
    session = Session(url, master_key, Names(prefix))
    try:
        scenario(session)
    except Exception as exc:  # a crash is itself a difference worth seeing
        session.observations.append(Observation("<crash>", 0, {}, f"{type(exc).__name__}: {exc}"))
    finally:
        try:
            session.cleanup()
        finally:
            session.http.close()
    return session.observations


def proxy_version(url: str, master_key: str) -> str:
    """The real proxy's release, from the header its (mock, free) completions carry."""
    answer = httpx.post(
        f"{url}/chat/completions",
        headers={"Authorization": f"Bearer {master_key}"},
        json={"model": "fake-gpt", "messages": [{"role": "user", "content": "version?"}]},
        timeout=30,
    )
    return str(answer.headers.get("x-litellm-version", f"unknown (HTTP {answer.status_code})"))


def main(argv: list[str] | None = None) -> int:
    from tests.support.litellm_standin.scenarios import SCENARIOS, tolerated

    parser = argparse.ArgumentParser(prog="python -m tests.support.litellm_standin.parity")
    parser.add_argument("--scenario", action="append", default=[], help="run only these")
    args = parser.parse_args(argv)
    url = os.environ.get("LITELLM_URL", "").rstrip("/")
    master_key = os.environ.get("LITELLM_MASTER_KEY", "")
    if not url or not master_key:
        print("parity: set LITELLM_URL and LITELLM_MASTER_KEY to a real proxy", file=sys.stderr)
        return 2
    unknown = set(args.scenario) - set(SCENARIOS)
    if unknown:
        print(f"parity: unknown scenario(s) {sorted(unknown)}; known: {sorted(SCENARIOS)}")
        return 2
    version = proxy_version(url, master_key)
    if version not in VERSIONS:
        print(f"parity: the proxy at {url} is LiteLLM {version}; the stand-in models {VERSIONS}")
        return 2
    chosen = {n: s for n, s in SCENARIOS.items() if not args.scenario or n in args.scenario}
    unexplained: list[Difference] = []
    explained: list[tuple[Difference, str]] = []
    calls = 0
    with StandIn(master_key=master_key, version=version) as standin:
        for name, scenario in chosen.items():
            prefix = f"parity-{uuid.uuid4().hex[:8]}-"
            real = run_scenario(scenario, url, master_key, prefix)
            fake = run_scenario(scenario, standin.url, master_key, prefix)
            calls += len(real)
            crashes = [o for o in (*real, *fake) if o.label == "<crash>"]
            unexplained += [Difference(name, o.label, "scenario", o.body, "") for o in crashes]
            for difference in compare(name, real, fake):
                reason = tolerated(version, difference)
                if reason is None:
                    unexplained.append(difference)
                else:
                    explained.append((difference, reason))
    for difference, reason in explained:
        print(f"tolerated {difference.scenario}/{difference.label} {difference.where}: {reason}")
    for difference in unexplained:
        print(
            f"DIFFERENT {difference.scenario}/{difference.label} {difference.where}:\n"
            f"    real:     {difference.real!r}\n    stand-in: {difference.standin!r}"
        )
    print(
        f"parity with LiteLLM {version} at {url}: {len(chosen)} scenarios, {calls} requests, "
        f"{len(unexplained)} unexplained differences, {len(explained)} tolerated"
    )
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
