"""Hostile input for every path of the LiteLLM engine, through a real OpenBao's HTTP API.

Property-based (hypothesis, a bounded number of examples per property): random and hostile
values for every declared field (wrong types, huge strings, deep and wide JSON, NaN and
infinities, unicode and control characters), unknown fields, malformed, non-object and
several-MiB bodies, hostile path segments and query parameters, lease renewals with hostile
increments, and leases whose stored internal data was tampered with (through ``sys/raw``).

Every request must get an answer below 500, the plugin process must survive it (the same PID
for the whole module; an external server's processes cannot be watched from here), and a 400
must name what it is about: the field (``"<field>: ..."`` or ``field "<field>"``), the role,
or the path.

One server per OpenBao version and one configured mount serve the whole module. The proxy is
the stand-in by default and a real LiteLLM with ``-m live``. ``E2E_FUZZ_SCALE`` (default 1)
multiplies every example count, for a longer hunt.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote_to_bytes

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from e2e.engine_env import MODEL, EngineTarget, Mount
from e2e.openbao import BaoResponse

pytestmark = pytest.mark.openbao

SCALE = float(os.environ.get("E2E_FUZZ_SCALE", "1"))
MiB = 1 << 20


def fuzz(examples: int) -> Callable[[Any], Any]:
    """Settings of one property: ``examples`` (times the scale), no per-example deadline (the
    machine is shared), and no complaints about the big examples this module means to make."""
    return settings(
        max_examples=max(1, round(examples * SCALE)),
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.filter_too_much,
        ],
    )


# -- the declared fields ---------------------------------------------------------------------

CONFIG_FIELDS = ("url", "admin_key", "ca_cert", "timeout", "verify_connection", "tidy_interval")
ROLE_FIELDS = (
    "name",
    "models",
    "allow_all_models",
    "max_budget",
    "budget_duration",
    "soft_budget",
    "tpm_limit",
    "rpm_limit",
    "max_parallel_requests",
    "team_id",
    "user_id",
    "metadata",
    "tags",
    "key_alias_template",
    "ttl",
    "max_ttl",
    "key_request",
)
TIDY_FIELDS = ("dry_run", "safety_buffer")

# Answers the host gives before a request reaches the plugin: they cannot name a field.
HOST_ERRORS = (
    "failed to decode JSON input",
    "failed to parse JSON input",
    "refused JSON input due to high complexity",
    "http: request body too large",
    "relative paths not supported",
    "cannot write to a path ending in '/'",
    "error parsing form data",
)
# A path that is not UTF-8 once unescaped cannot be put in the Request message the host sends
# the plugin: the host's gRPC client refuses to marshal it, for every plugin (host behaviour).
HOST_INVALID_PATH = "grpc: error while marshaling: string field contains invalid UTF-8"
# A write (POST, PUT) first runs the plugin's existence check, and OpenBao 2.6 answers that
# check's failure to marshal with its generic text (the marshaling error only reaches its log).
HOST_EXISTENCE_CHECK_FAILED = "internal error"
# The stand-in refuses (501) what it does not imitate rather than guess; the live run covers it.
STANDIN_NOT_MODELLED = "is not modelled; test this against a real proxy"

# -- hostile values --------------------------------------------------------------------------

NASTY_STRINGS = [
    "",
    " ",
    "\x00",
    "\x00sk-",
    "\n",
    "\r\n",
    "\t",
    "\x1b[31m",
    "\x7f",
    "\u202e",
    "\ufeff",
    "\ud800",
    "\udfff",
    "\U0001f600",
    "é",
    "ǅ",
    "İ",
    "NaN",
    "nan",
    "Infinity",
    "-inf",
    "1e309",
    "-0",
    "0x10",
    "010",
    "0b1",
    "1_000",
    " 1",
    "1 ",
    "true",
    "False",
    "null",
    "{}",
    "[]",
    "a,b,,c",
    ",",
    "k=v",
    "=",
    "a=b=c",
    "{{",
    "}}",
    "{{identity.entity.id}}",
    "{{identity.entity.metadata.x}}",
    "{{random}}",
    "{{ role }}",
    "{{unix_time}}{{random}}",
    "../",
    "..",
    ".",
    "/",
    "%00",
    "%2F",
    "sk-",
    "sk-" + "A" * 48,
    "1h",
    "-1s",
    "1.5h",
    "30d",
    "1mo",
    "0s" * 70,
    "9223372036854775807",
    "18446744073709551616",
    "-9223372036854775809",
    "<script>",
    "'; DROP TABLE keys; --",
    "\\",
    '"',
    "vault_x=1",
    "http://127.0.0.1:1",
    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
]


@dataclass(frozen=True)
class Deep:
    """JSON nested ``depth`` levels (arrays, or objects with one key), written out as text."""

    depth: int
    objects: bool

    def text(self) -> str:
        if self.objects:
            return '{"a":' * self.depth + "1" + "}" * self.depth
        return "[" * self.depth + "]" * self.depth


def encode(value: Any) -> str:
    """JSON text of ``value`` as a careless client would send it: NaN and infinities as the
    bare tokens, lone surrogates escaped, :class:`Deep` values expanded."""
    if isinstance(value, Deep):
        return value.text()
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(encode(v) for v in value) + "]"
    return json.dumps(value)


BIG_STRINGS = st.builds(
    lambda unit, count: unit * count,
    st.sampled_from(["a", "é", "\x00", "9", "1s", "{{", ",", "[", "k=v,", "sk-", "\U0001f600"]),
    st.sampled_from([129, 300, 5_000, 70_000, 300_000]),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(NASTY_STRINGS),
    BIG_STRINGS,
)
KEYS = st.one_of(st.text(max_size=12), st.sampled_from(NASTY_STRINGS))
CONTAINERS = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=10,
)
DEEP = st.builds(Deep, st.sampled_from([17, 300, 1_200, 9_000]), st.booleans())
WIDE = st.builds(
    lambda item, count: [item] * count,
    st.sampled_from([1, "m", "k=v", {"a": 1}, []]),
    st.sampled_from([65, 1_001, 20_000]),
)
HOSTILE = st.one_of(SCALARS, CONTAINERS, DEEP, WIDE)


def field_values(extras: Collection[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(HOSTILE, st.sampled_from(list(extras))) if extras else HOSTILE


def names_in(error: str) -> set[str]:
    """The names an error is about: the words before its first colon (``"models: ..."``,
    ``"key_request.key: ..."``, ``"config not stored: ..."``), every ``field "<name>"`` and
    every ``role "<name>"``."""
    head = error.removeprefix("Field validation failed: ").split(":", 1)[0]
    words = re.findall(r"[\w.-]+", head)
    quoted = re.findall(r'(?:field|role) ("(?:[^"\\]|\\.)*")', error)
    return (
        set(words)
        | {part for word in words for part in word.split(".")}
        | {_unquoted(name) for name in quoted}
    )


def as_the_host_decodes(name: str) -> str:
    """``name`` as it reaches the plugin once the host has decoded it from JSON: an escaped
    surrogate pair joins into one character, a lone surrogate becomes U+FFFD."""
    return name.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _unquoted(literal: str) -> str:
    try:
        return str(json.loads(literal))
    except ValueError:  # a Go-style escape such as \x00
        return literal[1:-1]


def note(outcome: str) -> None:
    """Count an outcome in hypothesis' statistics (``--hypothesis-show-statistics``)."""
    with contextlib.suppress(InvalidArgument):  # outside a property: nothing to count
        event(outcome)


def escape(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def short(body: Any, limit: int = 600) -> str:
    text = json.dumps(body) if not isinstance(body, str) else body
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


# -- the shared mount ------------------------------------------------------------------------


@dataclass
class Fuzzed:
    target: EngineTarget
    mount: Mount
    pids: list[int] = field(default_factory=list)
    requests: int = 0
    path_not_utf8: bool = False

    def send(
        self,
        method: str,
        path: str,
        body: str | bytes | None = None,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        under_mount: bool = True,
    ) -> BaoResponse:
        bao = self.mount.bao
        url = f"/v1/{self.mount.path}/{path}" if under_mount else f"/v1/{path}"
        try:
            unquote_to_bytes(path).decode("utf-8")
            self.path_not_utf8 = False
        except UnicodeDecodeError:
            self.path_not_utf8 = True
        if params:
            url += "?" + "&".join(f"{escape(k)}={escape(v)}" for k, v in params.items())
        content = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
        response = bao.client.request(
            method,
            url,
            content=content,
            headers={"X-Vault-Token": bao.token, **(headers or {})},
        )
        self.requests += 1
        try:
            parsed: Any = response.json() if response.content else None
        except ValueError:
            parsed = response.text
        return BaoResponse(response.status_code, parsed)

    def check(
        self,
        response: BaoResponse,
        about: Collection[str],
        what: str,
        *,
        host_flags: bool = False,
    ) -> None:
        """No 5xx, the plugin still the same process, and a 400 that names ``about``.

        ``host_flags``: the request had query parameters the host reads itself (``list``,
        ``scan``, ``help``), whose bad values it refuses with a 400 and no text."""
        self.check_plugin(what)
        if self.path_not_utf8 and response.status == 500:
            if response.body is None:
                return  # a HEAD request: its answer has no body to carry the reason
            error = response.errors[0]
            assert HOST_INVALID_PATH in error or error.endswith(
                f"* {HOST_EXISTENCE_CHECK_FAILED}\n\n"
            ), short(response.body)
            return
        standin = self.target.litellm.kind == "standin"
        if standin and response.status == 500 and STANDIN_NOT_MODELLED in response.errors[0]:
            note("not modelled by the stand-in")
            return
        assert response.status < 500, f"{what}: HTTP {response.status}: {short(response.body)}"
        note(f"HTTP {response.status}")
        if response.status != 400:
            return
        if not isinstance(response.body, dict):
            return  # Go's HTTP server refused the request line (a control character in the path)
        if host_flags and response.errors == []:
            return
        assert len(response.errors) == 1, f"{what}: {short(response.body)}"
        error = response.errors[0]
        if any(text in error for text in HOST_ERRORS):
            return
        assert names_in(error) & ({*about} | {as_the_host_decodes(name) for name in about}), (
            f"{what}: the 400 names none of {sorted(about)}: {short(error)}"
        )

    def check_plugin(self, what: str) -> None:
        now = self.target.pids()
        assert now == self.pids, f"{what}: the plugin process changed: {self.pids} -> {now}"

    def restore_config(self) -> None:
        self.mount.configure()

    def revoke(self, lease_id: str) -> None:
        revoked = self.send(
            "POST", "sys/leases/revoke", json.dumps({"lease_id": lease_id}), under_mount=False
        )
        assert revoked.status == 204, f"revoking {lease_id}: {short(revoked.body)}"

    def revoke_any(self, response: BaoResponse) -> None:
        """Revoke the lease an answer carries, if it carries one."""
        lease_id = response.body.get("lease_id") if isinstance(response.body, dict) else None
        if lease_id:
            self.revoke(lease_id)


@pytest.fixture(scope="module")
def fuzzed(engine_target: EngineTarget) -> Iterator[Fuzzed]:
    mount = engine_target.mount()
    mount.configure()
    mount.role("dev")
    pids = engine_target.pids()
    if engine_target.server is not None:
        assert len(pids) == 1, f"expected one plugin process, found {pids}"
    state = Fuzzed(engine_target, mount, pids)
    try:
        yield state
    finally:
        print(f"{state.requests} requests to {mount.path} on OpenBao {engine_target.version}")
        mount.unmount()


def fresh_role() -> str:
    return f"fz-{uuid.uuid4().hex[:10]}"


# -- config ----------------------------------------------------------------------------------

CONFIG_EXTRAS: dict[str, list[Any]] = {
    "url": [
        "http://127.0.0.1:1",
        "https://127.0.0.1:1",
        "http://[::1]:1",
        "ftp://127.0.0.1",
        "http://user:pw@127.0.0.1:1",
        "http://127.0.0.1:1/?q=1",
        "http://127.0.0.1:1/#f",
        "http://",
        "http:///x",
        "//127.0.0.1:1",
        "http://127.0.0.1:99999",
        "http://127.0.0.1:1/" + "a" * 2100,
    ],
    "admin_key": ["sk-" + "x" * 40, "sk-\x00x", "sk- x", "sk-é", "sk-" + "x" * 1100],
    "ca_cert": [
        "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\n" + "QUFB" * 20 + "\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\n" + "A" * 300_000,
    ],
    "timeout": [0, 1, 40, 41, "0s", "1ms", "1h", -1, "1d"],
    "verify_connection": ["t", "F", 0, 1, 2, "yes"],
    "tidy_interval": [0, 1, 299, 300, "5m", "366d", "1y"],
}


@fuzz(60)
@given(data=st.data())
def test_config_fields(fuzzed: Fuzzed, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(CONFIG_FIELDS), label="field")
    value = data.draw(field_values(CONFIG_EXTRAS[name]), label="value")
    body = {name: value}
    if data.draw(st.booleans(), label="unverified"):
        body["verify_connection"] = False
    response = fuzzed.send("POST", "config", encode(body))
    try:
        fuzzed.check(response, {name, "config", "verify_connection"}, f"config {name}")
        if isinstance(value, str) and value.startswith("sk-") and len(value) > 8:
            assert value not in json.dumps(response.body), "an error quoted the admin key"
    finally:
        if response.status < 300:
            fuzzed.restore_config()


# -- roles -----------------------------------------------------------------------------------

ROLE_EXTRAS: dict[str, list[Any]] = {
    "name": ["other", "a" * 200],
    "models": [[], [""], ["m"] * 1001, ["m" * 257], "m,,n", ["m\x00"], [MODEL, MODEL]],
    "allow_all_models": [True, "true", 1],
    "max_budget": [-1, 0, 1e12, 1e13, "1e3", "inf", "nan", "-0"],
    "budget_duration": ["1d", "0d", "1mo", "2mo", "1y", "30s", "1.5h", "-1d", "99999999999d"],
    "soft_budget": [-1, 1e13, "NaN"],
    "tpm_limit": [-1, 10**12, 10**12 + 1, "0x10", "010", 1.9, True],
    "rpm_limit": [-1, 2**63, "1e3"],
    "max_parallel_requests": [-1, 0, 2**63 - 1],
    "team_id": ["{{identity.entity.id}}", "{{identity.groups.names.x.id}}", "{{", "t" * 513],
    "user_id": ["{{identity.entity.name}}", "{{time.now}}", "{{identity.nope}}", "u\x00"],
    "metadata": [
        {"vault_x": "1"},
        {"": "x"},
        {"k" * 129: "v"},
        {"k": "v" * 1025},
        {f"k{i}": "v" for i in range(65)},
        ["a=b", "c"],
        "a=b,c=d",
    ],
    "tags": [["t"] * 101, ["t" * 129], "a,,b", [""]],
    "key_alias_template": [
        "",
        "{{random}}",
        "x",
        "{{nope}}",
        "{{random",
        "a b {{random}}",
        "{{role}}-" * 40 + "{{random}}",
        "{{display_name}}{{random}}",
    ],
    "ttl": [0, 1, "1h", "1d", "768h", "769h", -1, "1y", 2**40],
    "max_ttl": [0, 1, "1h", -1, 2**40, "0.5s"],
    "key_request": [
        {"key": "sk-x"},
        {"key_alias": "x"},
        {"duration": "1h"},
        {"expires": "x"},
        {"models": ["x"]},
        {"allow_all_models": True},
        {"metadata": {"vault_role": "x"}},
        {"metadata": "x"},
        {"tpd_limit": "many"},
        {"key_type": "x"},
        {"max_budget": "x"},
        {"x": math.nan},
        {"x": "y" * 70_000},
        {"unknown_field": [1, {"a": None}]},
    ],
}


def check_role_answer(fuzzed: Fuzzed, role: str, response: BaoResponse, about: set[str]) -> None:
    fuzzed.check(response, about, f"roles/{role}")
    if response.status < 300:
        read = fuzzed.send("GET", f"roles/{role}")
        fuzzed.check(read, {role}, f"reading roles/{role} back")
        assert read.status == 200, short(read.body)
        deleted = fuzzed.send("DELETE", f"roles/{role}")
        assert deleted.status == 204, short(deleted.body)


@fuzz(120)
@given(data=st.data())
def test_role_fields(fuzzed: Fuzzed, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(ROLE_FIELDS), label="field")
    value = data.draw(field_values(ROLE_EXTRAS[name]), label="value")
    body: dict[str, Any] = {} if name == "models" else {"models": [MODEL]}
    body[name] = value
    role = fresh_role()
    response = fuzzed.send("POST", f"roles/{role}", encode(body))
    check_role_answer(fuzzed, role, response, {name})


@fuzz(50)
@given(
    body=st.dictionaries(
        st.one_of(st.sampled_from(ROLE_FIELDS), KEYS),
        HOSTILE | st.sampled_from([MODEL]),
        max_size=6,
    )
)
def test_role_bodies_with_many_and_unknown_fields(fuzzed: Fuzzed, body: dict[str, Any]) -> None:
    role = fresh_role()
    response = fuzzed.send("POST", f"roles/{role}", encode(body))
    check_role_answer(fuzzed, role, response, {str(k) for k in body} | {"models"})


# Plausible roles: the right types with unusual content, so that many are accepted and minted.
PRINTABLE = st.characters(categories=("L", "M", "N", "P", "S", "Zs"))
PLAUSIBLE_ROLE = st.fixed_dictionaries(
    {"models": st.lists(st.text(PRINTABLE, min_size=1, max_size=20), min_size=1, max_size=3)},
    optional={
        "max_budget": st.floats(min_value=0, max_value=1e6),
        "soft_budget": st.floats(min_value=0, max_value=1e6),
        "budget_duration": st.sampled_from(["1d", "30d", "1mo", "12h", "1w", "45s"]),
        "tpm_limit": st.integers(min_value=0, max_value=10**12),
        "rpm_limit": st.integers(min_value=0, max_value=10**12),
        "max_parallel_requests": st.integers(min_value=0, max_value=10**6),
        "metadata": st.dictionaries(
            st.text(PRINTABLE, min_size=1, max_size=20).filter(
                lambda k: not k.startswith("vault_")
            ),
            st.text(max_size=40),
            max_size=4,
        ),
        "tags": st.lists(st.text(PRINTABLE, min_size=1, max_size=20), max_size=3),
        "key_alias_template": st.sampled_from(
            ["{{random}}", "x-{{role}}-{{random}}", "{{mount}}/{{unix_time}}.{{random}}"]
        ),
        "ttl": st.integers(min_value=0, max_value=3600),
        "max_ttl": st.sampled_from([0, 3600, 7200]),
        "key_request": st.one_of(
            st.sampled_from(
                [
                    {"key_type": "llm_api"},
                    {"key_type": "management"},
                    {"tpd_limit": 100},
                    {"aliases": {"a": "b"}},
                    {"config": {"x": [1, None]}},
                    {"permissions": {"p": True}},
                    {"model_max_budget": {"m": {"budget_limit": 1}}},
                    {"allowed_routes": ["/chat/completions"]},
                    {"blocked": False},
                    {"guardrails": []},
                ]
            ),
            st.dictionaries(st.text(PRINTABLE, min_size=1, max_size=10), SCALARS, max_size=2),
        ),
    },
)


@fuzz(25)
@given(body=PLAUSIBLE_ROLE)
def test_whatever_a_role_accepts_is_minted_or_refused_with_a_400(
    fuzzed: Fuzzed, body: dict[str, Any]
) -> None:
    role = fresh_role()
    written = fuzzed.send("POST", f"roles/{role}", encode(body))
    fuzzed.check(written, set(body) | {"models"}, f"roles/{role}")
    if written.status >= 300:
        return
    try:
        minted = fuzzed.send("GET", f"creds/{role}")
        note(f"creds: HTTP {minted.status}")
        fuzzed.check(minted, {role}, f"creds/{role}")
        fuzzed.revoke_any(minted)
    finally:
        fuzzed.send("DELETE", f"roles/{role}")


# -- reads, lists and paths ------------------------------------------------------------------

PATH_SEGMENTS = st.one_of(
    st.text(min_size=1, max_size=40),
    st.sampled_from([s for s in NASTY_STRINGS if s]),
    st.sampled_from(["dev", "x" * 129, "x" * 5000, "a.b", "a-b_c", "-a", "a-"]),
)
QUERY = st.dictionaries(
    st.one_of(st.sampled_from(["name", "list", "scan", "help", "ttl", "models"]), KEYS),
    st.text(max_size=30) | st.sampled_from(NASTY_STRINGS),
    max_size=4,
)


@fuzz(40)
@given(segment=PATH_SEGMENTS, method=st.sampled_from(["GET", "DELETE"]))
def test_role_and_creds_paths_with_hostile_names(fuzzed: Fuzzed, segment: str, method: str) -> None:
    encoded = escape(segment)
    for prefix in ("roles", "creds"):
        if method == "DELETE" and (prefix == "creds" or segment == "dev"):
            continue
        response = fuzzed.send(method, f"{prefix}/{encoded}")
        fuzzed.check(response, {segment, prefix}, f"{method} {prefix}/{segment!r}")
        if prefix == "creds":
            fuzzed.revoke_any(response)


@fuzz(25)
@given(params=QUERY)
def test_list_and_reads_with_hostile_query_parameters(
    fuzzed: Fuzzed, params: dict[str, str]
) -> None:
    for method, path in (("LIST", "roles/"), ("GET", "roles/dev"), ("GET", "config")):
        response = fuzzed.send(method, path, params=params)
        fuzzed.check(
            response, {"roles", "dev", "config", *params}, f"{method} {path}", host_flags=True
        )


@fuzz(10)
@given(params=QUERY)
def test_creds_ignores_hostile_query_parameters(fuzzed: Fuzzed, params: dict[str, str]) -> None:
    response = fuzzed.send("GET", "creds/dev", params=params)
    fuzzed.check(response, {"dev", "name", *params}, "creds/dev", host_flags=True)
    fuzzed.revoke_any(response)


MOUNT_PATHS = ["", "config", "roles", "roles/", "roles/x", "creds/x", "rotate-root", "tidy"]


@fuzz(40)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "LIST", "PATCH", "HEAD", "SCAN"]),
    path=st.sampled_from([*MOUNT_PATHS, "keys/", "wal/", "revocations/", "tidy/status"])
    | PATH_SEGMENTS.map(escape),
    body=st.none() | st.dictionaries(KEYS, SCALARS, max_size=3),
)
# A path that is not UTF-8: refused by the host in three ways (see check()).
@example(method="HEAD", path="%ED%A0%80", body=None)
@example(method="POST", path="%ED%A0%80", body=None)
@example(method="GET", path="%ED%A0%80", body=None)
def test_any_method_on_any_path(
    fuzzed: Fuzzed, method: str, path: str, body: dict[str, Any] | None
) -> None:
    headers = {"Content-Type": "application/merge-patch+json"} if method == "PATCH" else {}
    if method == "POST" and path == "rotate-root":
        body = None  # a rotation of the master key is refused; covered below
    response = fuzzed.send(method, path, None if body is None else encode(body), headers=headers)
    try:
        about = {"config", "roles", "tidy", "rotate-root", "x", "models", *(body or {})}
        fuzzed.check(response, about, path)
    finally:
        if method == "DELETE" and path == "config":
            fuzzed.restore_config()


# -- rotate-root and tidy --------------------------------------------------------------------


@fuzz(15)
@given(body=st.dictionaries(KEYS, HOSTILE, max_size=4))
def test_rotate_root_with_hostile_bodies(fuzzed: Fuzzed, body: dict[str, Any]) -> None:
    # The module's mount holds the master key, which is never rotated: always a 400.
    response = fuzzed.send("POST", "rotate-root", encode(body))
    fuzzed.check(response, {"rotate-root", *map(str, body)}, "rotate-root")
    assert response.status == 400, short(response.body)


TIDY_EXTRAS: dict[str, list[Any]] = {
    "dry_run": [True, "t", 1, "maybe"],
    "safety_buffer": [0, "0s", 1, "7d", "8d", 604_801, -1, "1h"],
}


@fuzz(30)
@given(data=st.data())
def test_tidy_fields(fuzzed: Fuzzed, data: st.DataObject) -> None:
    body = {"dry_run": True}
    for name in data.draw(st.lists(st.sampled_from(TIDY_FIELDS), unique=True), label="fields"):
        body[name] = data.draw(field_values(TIDY_EXTRAS[name]), label=name)
    body.update(data.draw(st.dictionaries(KEYS, SCALARS, max_size=2), label="unknown"))
    response = fuzzed.send("POST", "tidy", encode(body))
    fuzzed.check(response, {"tidy", *body}, "tidy")
    if response.status == 200:
        assert response.data["complete"] in (True, False), short(response.body)


# -- leases ----------------------------------------------------------------------------------


def mint(fuzzed: Fuzzed) -> dict[str, Any]:
    minted = fuzzed.send("GET", "creds/dev")
    assert minted.status == 200, short(minted.body)
    body: dict[str, Any] = minted.body
    return body


LEASE_HOST_ERRORS = ("lease not found", "invalid lease ID", "lease_id must be specified")


def test_renew_with_hostile_increments(fuzzed: Fuzzed) -> None:
    lease = mint(fuzzed)["lease_id"]

    @fuzz(25)
    @given(increment=field_values([0, 1, 59, 3600, "1h", 2**31, 10**12, "768h", -1, "1d"]))
    def renew(increment: Any) -> None:
        body = encode({"lease_id": lease, "increment": increment})
        response = fuzzed.send("POST", "sys/leases/renew", body, under_mount=False)
        fuzzed.check(response, {"increment", "lease_id", "lease"}, "sys/leases/renew")

    try:
        renew()
    finally:
        fuzzed.revoke(lease)


@fuzz(25)
@given(lease_id=st.one_of(HOSTILE, PATH_SEGMENTS.map(lambda s: f"{{mount}}/creds/dev/{s}")))
def test_renew_and_revoke_of_hostile_lease_ids(fuzzed: Fuzzed, lease_id: Any) -> None:
    if isinstance(lease_id, str):
        lease_id = lease_id.replace("{mount}", fuzzed.mount.path)
    for operation in ("renew", "revoke"):
        body = encode({"lease_id": lease_id})
        response = fuzzed.send("POST", f"sys/leases/{operation}", body, under_mount=False)
        fuzzed.check(response, {"lease_id", "lease"}, f"sys/leases/{operation}")
        known = (*LEASE_HOST_ERRORS, *HOST_ERRORS)
        if response.status == 400 and not any(e in response.errors[0] for e in known):
            assert "lease" in response.errors[0], short(response.body)


TOKEN = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
TAMPERED = st.one_of(
    st.fixed_dictionaries(
        {"secret_type": st.just("litellm_key")},
        optional={
            "token": TOKEN | HOSTILE,
            "key_alias": HOSTILE,
            "role": HOSTILE | st.sampled_from(["dev", "../config", "a/b", "", "nope"]),
            "issued_at": HOSTILE,
        },
    ),
    st.dictionaries(KEYS, HOSTILE, max_size=3).map(lambda d: {"secret_type": "litellm_key", **d}),
    st.fixed_dictionaries({"secret_type": HOSTILE}),
    HOSTILE,
)


@pytest.mark.local_server  # writes the host's own lease entries through sys/raw
@fuzz(20)
@given(internal=TAMPERED)
def test_leases_with_tampered_internal_data(fuzzed: Fuzzed, internal: Any) -> None:
    """The plugin gets back on renew and revoke whatever the host stored: a lease entry
    changed underneath (here through sys/raw) must not crash it or make it answer 5xx."""
    lease = mint(fuzzed)["lease_id"]
    entry_path = f"sys/raw/sys/expire/id/{lease}"
    stored = fuzzed.send("GET", entry_path, under_mount=False)
    assert stored.status == 200, short(stored.body)
    original = stored.data["value"]
    entry = json.loads(original)
    entry["secret"]["internal_data"] = "__TAMPERED__"
    tampered = json.dumps(entry).replace('"__TAMPERED__"', encode(internal))
    try:
        wrote = fuzzed.send("PUT", entry_path, json.dumps({"value": tampered}), under_mount=False)
        assert wrote.status in (200, 204), short(wrote.body)
        for operation in ("renew", "revoke"):
            body = json.dumps({"lease_id": lease, "sync": True})
            response = fuzzed.send("POST", f"sys/leases/{operation}", body, under_mount=False)
            fuzzed.check(
                response, {"lease_id", "lease", operation}, f"{operation} of a tampered lease"
            )
    finally:
        # Put the real entry back and revoke it for good: the key it names is deleted.
        fuzzed.send("PUT", entry_path, json.dumps({"value": original}), under_mount=False)
        fuzzed.revoke(lease)


# -- malformed and oversized bodies ----------------------------------------------------------

WRITE_PATHS = {
    "config": CONFIG_FIELDS,
    "roles/fz-bodies": ROLE_FIELDS,
    "tidy": TIDY_FIELDS,
    "rotate-root": (),
}
RAW_BODIES = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(str.encode),
    st.sampled_from(
        [
            b"",
            b"{",
            b"}",
            b"[]",
            b"[1,2]",
            b'"x"',
            b"1",
            b"-1e999",
            b"true",
            b"null",
            b"NaN",
            b'{"models": NaN}',
            b'{"ttl": Infinity}',
            b'{"ttl": 1, "ttl": "x"}',
            b'\xef\xbb\xbf{"models": "m"}',
            b'{"models": "m"} trailing',
            b'{"models": "m"}{"ttl": 1}',
            b'{"models": "\\ud800"}',
            b'{"models": "\xff\xfe"}',
            b'{"\x00": 1}',
            b"{'models': 'm'}",
            b'{"models": ["m",]}',
            b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            b'{"a": 1' + b" " * (2 * MiB) + b"}",
        ]
    ),
)


@fuzz(40)
@given(path=st.sampled_from(sorted(WRITE_PATHS)), raw=RAW_BODIES, form=st.booleans())
def test_malformed_bodies(fuzzed: Fuzzed, path: str, raw: bytes, form: bool) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if form else {}
    response = fuzzed.send("POST", path, raw, headers=headers)
    try:
        name = path.split("/")[-1]
        fuzzed.check(response, {name, *WRITE_PATHS[path], "a", "models"}, f"{path} {raw[:60]!r}")
    finally:
        if path == "config" and response.status < 300:
            fuzzed.restore_config()
        if path.startswith("roles/") and response.status < 300:
            fuzzed.send("DELETE", path)


def test_several_mib_in_every_field(fuzzed: Fuzzed) -> None:
    """3 MiB in each declared field (and an unknown one) of every write path: a 400 naming
    the field, or for fields that ignore size (a name the path overrides, an unknown field)
    an answer below 400."""
    huge = "a" * (3 * MiB)
    for path, fields in WRITE_PATHS.items():
        for name in (*fields, "unknown_field"):
            body: dict[str, Any] = {name: huge}
            if path.startswith("roles/") and name != "models":
                body["models"] = MODEL
            if path == "tidy":
                body.setdefault("dry_run", True)
            response = fuzzed.send("POST", path, json.dumps(body))
            try:
                fuzzed.check(response, {name, path}, f"3 MiB in {path} {name}")
                if name in ("name", "unknown_field"):
                    assert response.status < 400 or path == "rotate-root", short(response.body)
                else:
                    assert response.status == 400, f"{path} {name}: {short(response.body)}"
                assert len(json.dumps(response.body)) < 64 * 1024, "the answer echoes the input"
            finally:
                if response.status < 300 and path == "config":
                    fuzzed.restore_config()
    for wide in (
        {"models": MODEL, "key_request": {f"k{i}": i for i in range(200_000)}},
        {"models": MODEL, "key_request": {"x": [1] * (2 * MiB)}},
        {"models": [0] * (2 * MiB)},
        {"models": MODEL, "metadata": {f"k{i}": "v" for i in range(200_000)}},
    ):
        response = fuzzed.send("POST", "roles/fz-wide", json.dumps(wide))
        fuzzed.check(response, set(wide) - {"models"} or {"models"}, "wide JSON")
        assert response.status == 400, short(response.body)
    too_big = fuzzed.send("POST", "roles/fz-huge", b'{"models": "' + b"m" * (33 * MiB) + b'"}')
    assert too_big.status == 413, short(too_big.body)
    fuzzed.check_plugin("after the oversized bodies")
