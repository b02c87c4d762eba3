"""The four error envelopes (docs/litellm-api.md §6) and their quirks, from the stand-in."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import httpx
import pytest

from e2e.litellm_standin import server

if TYPE_CHECKING:
    from litellm_standin.conftest import Mint


def test_shape_a_not_found_names_the_parameter(admin: httpx.Client) -> None:
    answer = admin.get("/key/info", params={"key": "0" * 64})
    assert answer.status_code == 404
    assert answer.json() == {
        "error": {
            "message": "Key not found in database",
            "type": "not_found_error",
            "param": "key",
            "code": "404",
        }
    }


def test_shape_a_dict_repr_is_labelled_internal_whatever_the_status(admin: httpx.Client) -> None:
    answer = admin.post("/key/delete", json={"keys": ["sk-never-minted-key-0001"]})
    assert answer.status_code == 404
    assert answer.json() == {
        "error": {
            "message": "{'error': 'No keys found'}",
            "type": "internal_server_error",
            "param": None,
            "code": "404",
        }
    }


def test_update_relabels_http_errors_as_auth_error(admin: httpx.Client, mint: Mint) -> None:
    key = mint()
    refused = admin.post("/key/update", json={"key": key["token"], "tags": ["team-a"]})
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["type"] == "auth_error"
    assert error["param"] == "None"
    assert error["message"].startswith(
        "{'error': 'This feature is only available for LiteLLM Enterprise users: tags."
    )
    # The same field on generate: same status and text, the generic label.
    on_generate = admin.post("/key/generate", json={"tags": ["team-a"]}).json()["error"]
    assert on_generate["type"] == "internal_server_error"
    assert on_generate["message"] == error["message"]


def test_update_turns_other_failures_into_400_authentication_errors(
    admin: httpx.Client, mint: Mint
) -> None:
    key = mint()
    answer = admin.post("/key/update", json={"key": key["token"], "duration": "abc"})
    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "message": "Authentication Error, Invalid duration format",
        "type": "auth_error",
        "param": "None",
        "code": "400",
    }
    # ... where generate lets the same mistake through as a 500.
    on_generate = admin.post("/key/generate", json={"duration": "30"})
    assert on_generate.status_code == 500
    assert on_generate.json()["error"]["message"] == (
        "Unsupported duration unit, passed duration: 30"
    )


def test_shape_b_lists_type_loc_msg_in_field_order(admin: httpx.Client) -> None:
    answer = admin.post(
        "/key/generate",
        json={"tpm_limit": 1.5, "max_budget": "x", "models": "a", "metadata": [], "key_alias": 5},
    )
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert [(d["type"], d["loc"]) for d in detail] == [
        ("string_type", ["body", "key_alias"]),
        ("list_type", ["body", "models"]),
        ("float_parsing", ["body", "max_budget"]),
        ("dict_type", ["body", "metadata"]),
        ("int_from_float", ["body", "tpm_limit"]),
    ]
    assert all(set(d) == {"type", "loc", "msg"} for d in detail)
    assert (
        detail[-1]["msg"] == "Input should be a valid integer, got a number with a fractional part"
    )


def test_bad_json_is_a_422_before_authentication(standin_url: str) -> None:
    answer = httpx.post(
        f"{standin_url}/key/generate",
        content=b"{bad",
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.json() == {
        "detail": [{"type": "json_invalid", "loc": ["body", 1], "msg": "JSON decode error"}]
    }


def test_shape_c_for_route_refusals_and_unknown_paths(
    admin: httpx.Client, mint: Mint, standin_url: str
) -> None:
    llm_only = mint(key_type="llm_api")
    refused = httpx.get(
        f"{standin_url}/key/info", headers={"Authorization": f"Bearer {llm_only['key']}"}
    )
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "Virtual key is not allowed to call this route. Only allowed to call routes: "
        "['llm_api_routes']. Tried to call route: /key/info"
    }
    assert admin.get("/no/such/route").json() == {"detail": "Not Found"}
    assert admin.get("/key/generate").status_code == 405


def test_shape_d_for_bodies_that_are_json_but_not_objects(admin: httpx.Client) -> None:
    for body in (b"[]", b"null", b"5"):
        answer = admin.post(
            "/key/generate", content=body, headers={"content-type": "application/json"}
        )
        assert answer.status_code == 500
        assert answer.json() == {
            "error": {"message": "Internal server error", "type": "internal_server_error"}
        }


def test_authentication_failures(standin_url: str, mint: Mint) -> None:
    def info_with(headers: dict[str, str]) -> dict[str, object]:
        answer = httpx.get(f"{standin_url}/key/info", headers=headers)
        assert answer.status_code == 401
        error: dict[str, object] = answer.json()["error"]
        return error

    assert info_with({})["message"] == "Authentication Error, No api key passed in."
    assert info_with({"Authorization": "Token abc"})["message"] == (
        "Authentication Error, Malformed API Key passed in. Ensure Key has `Bearer ` prefix."
    )
    token = mint()["token"]
    as_hash = info_with({"Authorization": f"Bearer {token}"})
    assert as_hash["message"] == (
        f"LiteLLM Virtual Key expected. Received={token[:4]}****{token[-4:]}, "
        "expected to start with 'sk-'."
    )
    unknown = info_with({"Authorization": "Bearer sk-not-a-known-key-1234"})
    assert unknown["type"] == "token_not_found_in_db"
    assert unknown["param"] == "key"
    assert "sk-not-a-known-key-1234" not in str(unknown)  # quoted only as sk-...1234
    assert "sk-...1234" in str(unknown["message"])


def test_unhandled_errors_answer_shape_d_and_log_no_key(
    admin: httpx.Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk-secret-raw-key-never-logged"

    def broken(*_: object) -> object:
        raise RuntimeError(f"bug while handling {secret}")

    monkeypatch.setitem(server._MANAGEMENT, ("GET", "/key/info"), broken)
    caplog.set_level(logging.DEBUG, logger="e2e.litellm_standin")
    answer = admin.get("/key/info", params={"key": secret})
    assert answer.status_code == 500
    assert answer.json() == {
        "error": {"message": "Internal server error", "type": "internal_server_error"}
    }
    assert "RuntimeError" in caplog.text
    assert secret not in caplog.text
    regenerate = admin.post(f"/key/{secret}/regenerate", json={})
    assert regenerate.status_code == 500
    assert "/key/REDACTED/regenerate" in caplog.text
    assert secret not in caplog.text
