"""What the stand-in refuses to imitate, how it differs by version, and its limits.

What it does imitate is checked against real proxies by the parity tool (tests/support/
litellm_standin/parity.py, run by .ci/run), and here by the live client suite (make test).
"""

from __future__ import annotations

import json
import logging
import socket
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.litellm_standin import VERSIONS, StandIn
from tests.support.litellm_standin.context import DEFAULT_MODELS, Context
from tests.support.litellm_standin.server import MAX_BODY, dispatch

MASTER = {"Authorization": "Bearer sk-standin-test-master"}
HI = [{"role": "user", "content": "hi"}]


def _mint(admin: httpx.Client, **fields: Any) -> dict[str, Any]:
    answer = admin.post("/key/generate", json=fields)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _refused(answer: httpx.Response, param: str | None = None) -> str:
    assert answer.status_code == 501, answer.text
    error = answer.json()["error"]
    assert error["type"] == "standin_not_modelled"
    assert error["param"] == param
    message: str = error["message"]
    assert message.endswith("is not modelled; test this against a real proxy")
    return message


@pytest.mark.parametrize(
    ("method", "path", "body", "param", "named"),
    [
        ("POST", "/user/delete", {"user_ids": ["x"]}, None, "POST /user/delete"),
        ("GET", "/key/generate", None, None, "GET /key/generate"),
        ("POST", "/key/generate", {"soft_budget": 1.0}, "soft_budget", "'soft_budget'"),
        ("POST", "/key/generate", {"duration": "1mo"}, "duration", "months"),
        ("POST", "/key/generate", {"metadata": {"service_account_id": "s"}}, "metadata", "service"),
        ("POST", "/key/update", {"key": "0" * 64, "spend": 1.0}, "spend", "'spend'"),
        ("POST", "/key/regenerate", {"key": "x", "new_master_key": "sk-y"}, "new_master_key", ""),
        ("POST", "/key/bulk_update", {"keys": [{"key": "sk-x"}]}, "keys", "bulk update"),
        ("POST", "/user/new", {"user_role": "internal_user_viewer"}, "user_role", "viewer"),
        ("GET", "/key/list?sort_by=spend", None, "sort_by", "'sort_by'"),
    ],
)
def test_what_is_not_modelled_is_refused_never_guessed(
    admin: httpx.Client, method: str, path: str, body: object, param: str | None, named: str
) -> None:
    message = _refused(admin.request(method, path, json=body), param)
    assert named in message


def test_callers_and_calls_outside_the_model_are_refused(
    admin: httpx.Client, standin: StandIn
) -> None:
    user = admin.post("/user/new", json={"user_id": "u1", "user_role": "internal_user"}).json()
    own = {"Authorization": f"Bearer {user['key']}"}
    key = _mint(admin, key_alias="mine")
    assert "not a proxy admin" in _refused(
        admin.post("/key/update", headers=own, json={"key": key["token"], "rpm_limit": 1})
    )
    assert "credential" in _refused(admin.get("/key/info", headers={"x-api-key": "sk-abc"}))
    chat = {"model": "fake-gpt", "messages": HI}
    limited = _mint(admin, tpm_limit=1000)
    answer = httpx.post(
        f"{standin.url}/chat/completions",
        headers={"Authorization": f"Bearer {limited['key']}"},
        json=chat,
    )
    _refused(answer, "tpm_limit")
    _refused(admin.post("/chat/completions", json={**chat, "stream": True}), "stream")
    plain = admin.post("/key/generate", content=b"{}", headers={"content-type": "text/plain"})
    _refused(plain)


def test_an_oversized_body_is_refused_unread(standin: StandIn) -> None:
    host, port = standin.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        head = (
            f"POST /key/generate HTTP/1.1\r\nHost: x\r\nAuthorization: {MASTER['Authorization']}"
            f"\r\nContent-Type: application/json\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n"
        )
        conn.sendall(head.encode() + b"{" + b" " * 1024)  # the rest is never sent
        answer = conn.makefile("rb").read()  # the stand-in answers and closes
    assert answer.startswith(b"HTTP/1.1 501 ")
    assert b"a body over 1048576 bytes" in answer
    assert httpx.get(f"{standin.url}/health/liveliness").json() == "I'm alive!"


@pytest.mark.parametrize("version", VERSIONS)
def test_versions_differ_where_the_releases_do(version: str) -> None:
    old = version == "1.106.12"
    with (
        StandIn(master_key="sk-versions-master", version=version) as proxy,
        httpx.Client(
            base_url=proxy.url, headers={"Authorization": "Bearer sk-versions-master"}
        ) as admin,
    ):
        unknown = admin.get("/key/info", headers={"Authorization": "Bearer sk-not-a-key-at-all"})
        assert unknown.status_code == 401
        message = unknown.json()["error"]["message"]
        assert ("Invalid proxy server token passed" in message) is old
        assert (message == "Authentication Error, Invalid API key provided.") is not old
        first, second = _mint(admin, key_alias="a"), _mint(admin, key_alias="b")
        assert ("fallback_on_unsupported_params" in first["router_settings"]) is not old
        bad_alias = admin.post("/key/generate", json={"key_alias": "a/../b"}).json()["error"]
        assert bad_alias["message"].startswith("Invalid key_alias")
        assert ("path segment" in bad_alias["message"]) is not old
        # 1.108 lets a key without a user read every other key without one.
        other = admin.get(
            "/key/info",
            params={"key": second["token"]},
            headers={"Authorization": f"Bearer {first['key']}"},
        )
        assert other.status_code == (403 if old else 200)


def test_an_unmodelled_version_is_refused() -> None:
    with pytest.raises(ValueError, match=r"version: '1\.107\.0' is not modelled"):
        StandIn(version="1.107.0")


def test_spend_reaches_key_info_late_but_budgets_act_at_once(admin: httpx.Client) -> None:
    key = _mint(admin, models=["fake-gpt"], max_budget=0.0001)
    # The stand-in of this test writes spend every 10 s: nothing shows at once.
    assert admin.post("/chat/completions", json={"model": "fake-gpt", "messages": HI}).is_success
    own = {"Authorization": f"Bearer {key['key']}"}
    with httpx.Client(base_url=str(admin.base_url), headers=own) as holder:
        assert holder.post(
            "/chat/completions", json={"model": "fake-gpt", "messages": HI}
        ).is_success
        refused = holder.post("/chat/completions", json={"model": "fake-gpt", "messages": HI})
        assert refused.status_code == 422
        assert refused.json()["error"]["type"] == "budget_exceeded"
    assert admin.get("/key/info", params={"key": key["token"]}).json()["info"]["spend"] == 0.0
    with StandIn(spend_write_interval=0) as eager:
        minted = httpx.post(
            f"{eager.url}/key/generate",
            headers={"Authorization": f"Bearer {eager.master_key}"},
            json={},
        ).json()
        answer = httpx.post(
            f"{eager.url}/chat/completions",
            headers={"Authorization": f"Bearer {minted['key']}"},
            json={"model": "fake-gpt", "messages": HI},
        )
        assert answer.is_success
        shown = httpx.get(
            f"{eager.url}/key/info",
            params={"key": minted["token"]},
            headers={"Authorization": f"Bearer {eager.master_key}"},
        ).json()["info"]
    assert shown["spend"] == pytest.approx(10 * 0.001 + 20 * 0.002)
    assert shown["last_active"] is not None


def test_request_lines_are_logged_without_their_query(
    admin: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    key = _mint(admin)
    caplog.set_level(logging.DEBUG, logger="tests.support.litellm_standin")
    assert admin.get("/key/info", params={"key": key["key"]}).is_success
    assert "GET /key/info" in caplog.text
    assert key["key"] not in caplog.text


_PATHS = ("/key/generate", "/key/update", "/key/delete", "/key/block", "/key/list", "/user/new")
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_FIELDS = st.sampled_from(
    ["key", "key_alias", "keys", "duration", "budget_duration", "models", "max_budget", "user_id"]
)


@given(
    path=st.sampled_from(_PATHS),
    body=st.one_of(
        st.binary(max_size=64),
        st.dictionaries(_FIELDS, _JSON, max_size=4).map(lambda d: json.dumps(d).encode()),
    ),
)
def test_any_body_gets_an_answer_not_a_crash(path: str, body: bytes) -> None:
    ctx = Context("sk-fuzz-master", VERSIONS[0], {m.name: m for m in DEFAULT_MODELS})
    headers = {"Authorization": "Bearer sk-fuzz-master", "content-type": "application/json"}
    method = "GET" if path == "/key/list" else "POST"
    response = dispatch(ctx, method, path, headers, body)
    assert 200 <= response.status < 600
    json.dumps(response.body, allow_nan=False)
