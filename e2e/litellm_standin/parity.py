"""Compare the stand-in with a real LiteLLM proxy, request by request.

    LITELLM_URL=http://127.0.0.1:4000 LITELLM_MASTER_KEY=sk-... \\
        uv run python -m e2e.litellm_standin.parity [--scenario NAME ...] [--show-same]

Every scenario in :mod:`e2e.litellm_standin.scenarios` runs against both targets (the real proxy
first, then a fresh stand-in). Each response is reduced to its status, a few headers and its JSON
body with the run-specific values replaced by placeholders (keys, tokens, aliases, ids) and
timestamps by their format (``<ts Z ms>``), then the two reductions are compared in full. Keys
the scenarios create on the real proxy are deleted again at the end. Exit status 1 when any
difference is found that is not listed in ``scenarios.ACCEPTED``.
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

from e2e.litellm_standin.server import StandIn

_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.(\d+))?(Z|[+-]\d\d:\d\d)")
_PLAIN_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d| UTC)")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HEX64 = re.compile(r"\b[0-9a-f]{64}\b")
_CREATED = re.compile(r'"created":\d+')
_COMPARED_HEADERS = ("content-type", "retry-after", "rate_limit_type")


def _stamp_kind(match: re.Match[str]) -> str:
    fraction, zone = match.group(1), match.group(2)
    zone = "Z" if zone == "Z" else "offset"
    # A stored value whose milliseconds are zero prints without a fraction: still "ms".
    precision = "ms" if fraction is None or fraction.endswith("000") else "us"
    return f"<ts {zone} {precision}>"


@dataclass
class Names:
    """Run-specific values and the placeholders they are compared under."""

    prefix: str
    values: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, value: str | None, kind: str) -> None:
        if not value or value in self.values:
            return
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.values[value] = f"<{kind}{self.counts[kind]}>"

    def text(self, value: str) -> str:
        for known in sorted(self.values, key=len, reverse=True):
            if known in value:
                value = value.replace(known, self.values[known])
        value = value.replace(self.prefix, "<p>")
        value = _TIMESTAMP.sub(_stamp_kind, value)
        value = _PLAIN_TIME.sub("<time>", value)
        value = _UUID.sub("<uuid>", value)
        value = _CREATED.sub('"created":<time>', value)
        return _HEX64.sub("<hex>", value)

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
    """One target: a base URL, its master key and what the scenario saw there."""

    def __init__(self, name: str, url: str, master_key: str, names: Names) -> None:
        self.name = name
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

    def close(self) -> None:
        self.http.close()

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
    ) -> httpx.Response:
        """Send one request (``key`` defaults to the master key; "" sends no credential)."""
        sent = dict(headers or {})
        credential = self.master_key if key is None else key
        if credential:
            sent.setdefault("Authorization", f"Bearer {credential}")
        if json is not None:
            response = self.http.request(method, path, json=json, params=params, headers=sent)
        else:
            response = self.http.request(method, path, content=content, params=params, headers=sent)
        self._learn(response)
        self.observations.append(self._observe(label, response, ignore))
        return response

    def _learn(self, response: httpx.Response) -> None:
        """Register minted keys, so both targets' values map to the same placeholders."""
        body = _json(response)
        if isinstance(body, dict) and isinstance(body.get("key"), str):
            raw, token = body["key"], body.get("token") or body.get("token_id")
            if raw.startswith("sk-"):
                self.register_raw(raw)
            if isinstance(token, str):
                self.tokens.add(token)
                self.register_token(token)
            if isinstance(body.get("user_role"), str) and isinstance(body.get("user_id"), str):
                self.users.add(body["user_id"])

    def _observe(self, label: str, response: httpx.Response, ignore: frozenset[str]) -> Observation:
        headers = {
            name: self.names.text(response.headers[name])
            for name in _COMPARED_HEADERS
            if name in response.headers
        }
        if "content-type" in headers:
            headers["content-type"] = headers["content-type"].split(";")[0]
        body = _json(response)
        reduced = self.names.reduce(body if body is not None else response.text, ignore)
        return Observation(label, response.status_code, headers, reduced)

    def register_raw(self, raw: str) -> None:
        self.names.add(raw, "raw")
        self.names.add(f"sk-...{raw[-4:]}", "name")
        self.names.add(f"{raw[:4]}****{raw[-4:]}", "masked")
        self.register_token(hashlib.sha256(raw.encode()).hexdigest())

    def register_token(self, token: str) -> None:
        self.names.add(token, "tok")
        self.names.add(f"sk-...{token[-4:]}", "tokname")
        self.names.add(f"{token[:4]}****{token[-4:]}", "tokmasked")

    def token_of(self, raw: str) -> str:
        token = hashlib.sha256(raw.encode()).hexdigest()
        self.register_token(token)
        return token

    def cleanup(self) -> None:
        swept = self.http.get(
            "/key/list",
            params={"key_alias": self.names.prefix, "substring_matching": "true", "size": 100},
            headers={"Authorization": f"Bearer {self.master_key}"},
        )
        found = _json(swept)
        if isinstance(found, dict):
            self.tokens.update(t for t in found.get("keys", []) if isinstance(t, str))
        auth = {"Authorization": f"Bearer {self.master_key}"}
        for token in sorted(self.tokens):
            self.http.post("/key/delete", json={"keys": [token]}, headers=auth)
        if self.users:
            self.http.post("/user/delete", json={"user_ids": sorted(self.users)}, headers=auth)


def _json(response: httpx.Response) -> Any:
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
            if name not in standin:
                yield f"{path}.{name}", real[name], "<absent>"
            elif name not in real:
                yield f"{path}.{name}", "<absent>", standin[name]
            else:
                yield from _diff(f"{path}.{name}", real[name], standin[name])
    elif isinstance(real, list) and isinstance(standin, list) and len(real) == len(standin):
        for index, (left, right) in enumerate(zip(real, standin, strict=True)):
            yield from _diff(f"{path}[{index}]", left, right)
    elif real != standin:
        yield path, real, standin


def _brief(body: object) -> str:
    text = repr(body)
    return text if len(text) <= 400 else text[:397] + "..."


def compare(scenario: str, real: list[Observation], standin: list[Observation]) -> list[Difference]:
    found: list[Difference] = []
    for index in range(max(len(real), len(standin))):
        left = real[index] if index < len(real) else None
        right = standin[index] if index < len(standin) else None
        if left is None or right is None or left.label != right.label:
            # The two runs took different paths; nothing after this point lines up.
            real_label = left.label if left is not None else "<none>"
            standin_label = right.label if right is not None else "<none>"
            found.append(Difference(scenario, real_label, "sequence", real_label, standin_label))
            break
        if left.status != right.status:
            # Field-by-field differences between an error and a success say nothing more.
            found.append(
                Difference(
                    scenario,
                    left.label,
                    "status",
                    f"{left.status} {_brief(left.body)}",
                    f"{right.status} {_brief(right.body)}",
                )
            )
            continue
        for where, a, b in _diff("headers", dict(left.headers), dict(right.headers)):
            found.append(Difference(scenario, left.label, where, a, b))
        for where, a, b in _diff("body", left.body, right.body):
            found.append(Difference(scenario, left.label, where, a, b))
    return found


def run_scenario(
    name: str, scenario: Scenario, url: str, master_key: str, prefix: str, target: str
) -> list[Observation]:
    session = Session(target, url, master_key, Names(prefix))
    try:
        scenario(session)
    except Exception as exc:  # a crash is itself a difference worth seeing
        session.observations.append(Observation("<crash>", 0, {}, f"{type(exc).__name__}: {exc}"))
    finally:
        try:
            session.cleanup()
        finally:
            session.close()
    return session.observations


def main(argv: list[str] | None = None) -> int:
    from e2e.litellm_standin.scenarios import ACCEPTED, SCENARIOS

    parser = argparse.ArgumentParser(prog="python -m e2e.litellm_standin.parity")
    parser.add_argument("--scenario", action="append", default=[], help="run only these")
    parser.add_argument("--show-same", action="store_true", help="list matching calls too")
    args = parser.parse_args(argv)
    url = os.environ.get("LITELLM_URL", "").rstrip("/")
    master_key = os.environ.get("LITELLM_MASTER_KEY", "")
    if not url or not master_key:
        print("parity: set LITELLM_URL and LITELLM_MASTER_KEY to a real proxy", file=sys.stderr)
        return 2
    chosen = {n: s for n, s in SCENARIOS.items() if not args.scenario or n in args.scenario}
    unknown = set(args.scenario) - set(SCENARIOS)
    if unknown:
        print(f"parity: unknown scenario(s) {sorted(unknown)}; known: {sorted(SCENARIOS)}")
        return 2
    differences: list[Difference] = []
    accepted: list[tuple[Difference, str]] = []
    calls = 0
    with StandIn(master_key=master_key) as standin:
        for name, scenario in chosen.items():
            prefix = f"parity-{uuid.uuid4().hex[:8]}-"
            real = run_scenario(name, scenario, url, master_key, prefix, "real")
            fake = run_scenario(name, scenario, standin.url, master_key, prefix, "standin")
            calls += len(real)
            for observation in (*real, *fake):
                if observation.label == "<crash>":
                    differences.append(
                        Difference(name, "<crash>", "scenario", observation.body, "")
                    )
            for difference in compare(name, real, fake):
                reason = ACCEPTED.get((name, difference.label, difference.where))
                if reason is None:
                    reason = ACCEPTED.get(("*", difference.label, difference.where))
                if reason is not None:
                    accepted.append((difference, reason))
                else:
                    differences.append(difference)
            if args.show_same:
                for observation in real:
                    print(f"  {name}/{observation.label}: {observation.status}")
    for difference, reason in accepted:
        print(f"accepted  {difference.scenario}/{difference.label} {difference.where}: {reason}")
    for difference in differences:
        print(
            f"DIFFERENT {difference.scenario}/{difference.label} {difference.where}:\n"
            f"    real:     {difference.real!r}\n    stand-in: {difference.standin!r}"
        )
    print(
        f"parity: {len(chosen)} scenarios, {calls} requests, {len(differences)} differences, "
        f"{len(accepted)} accepted"
    )
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
