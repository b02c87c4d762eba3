"""No raw key and no admin key in any message, repr, body or log line."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st
from litellm_client import LiteLLMError, redact
from litellm_client._redact import REDACTED_KEY, RedactingFilter

if TYPE_CHECKING:
    from tests.litellm_client.conftest import Harness

ADMIN_KEY = "sk-admin-unit-test-secret"  # the harness's api_key
RAW = "sk-Zx9_raw-key-that-must-not-leak"


def leaks(text: str) -> list[str]:
    return [secret for secret in (ADMIN_KEY, RAW, RAW[3:], ADMIN_KEY[3:]) if secret in text]


def everything_about(error: LiteLLMError) -> str:
    return " ".join(
        [
            str(error),
            repr(error),
            error.message,
            error.raw_message,
            str(error.body),
            str(error.param),
            str(error.args),
        ]
    )


async def test_keys_echoed_by_the_proxy_are_masked_in_errors_and_logs(
    api: Harness, router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = {
        "error": {
            "message": f"{{'error': 'Key {RAW} not found. Sent with Bearer {ADMIN_KEY}'}}",
            "type": "internal_server_error",
            "param": RAW,
            "code": "500",
        }
    }
    router.post("/key/regenerate").mock(side_effect=[httpx.Response(500, json=echo)] * 3)
    error = await api.fails("regenerate_key", RAW)
    assert leaks(everything_about(error)) == []
    assert REDACTED_KEY in error.message
    assert leaks(caplog.text) == []
    assert "retry" not in caplog.text  # regenerate is not retried after a 500


async def test_retry_warnings_and_debug_lines_carry_no_keys(
    api: Harness,
    router: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
    samples: dict[str, Any],
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = dict(samples["generated"], key=RAW)
    router.post("/key/generate").mock(
        side_effect=[
            httpx.ConnectError(f"cannot reach, key {ADMIN_KEY}"),
            httpx.Response(200, json=answer),
        ]
    )
    router.get("/key/info").respond(200, json=samples["info"])
    key = await api.call("generate_key", key=RAW, key_alias="a")
    await api.call("key_info", RAW)
    assert key.key == RAW  # the caller gets the key; nothing else does
    records = [r for r in caplog.records if r.name == "litellm_client"]
    assert any(r.levelno == logging.WARNING and "retry 1 of 2" in r.getMessage() for r in records)
    assert any("POST /key/generate -> 200" in r.getMessage() for r in records)
    assert leaks(caplog.text) == []


async def test_timeouts_and_transport_errors_mention_no_keys(
    api: Harness, router: respx.MockRouter
) -> None:
    router.get("/key/info").mock(side_effect=httpx.ReadTimeout(f"timeout for {RAW}"))
    error = await api.fails("key_info", RAW)
    assert leaks(everything_about(error)) == []


async def test_local_validation_errors_do_not_echo_input(api: Harness) -> None:
    error = await api.fails("generate_key", key=RAW, max_budget=RAW)
    assert leaks(everything_about(error)) == []


def test_the_package_logger_masks_keys_whoever_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="litellm_client")
    logging.getLogger("litellm_client").info(
        "header Authorization: Bearer %s, key %s", "tok123", RAW
    )
    assert leaks(caplog.text) == []
    assert "tok123" not in caplog.text
    assert "Bearer ***" in caplog.text


def test_the_filter_masks_a_malformed_record_without_raising() -> None:
    record = logging.LogRecord(
        "litellm_client", logging.INFO, __file__, 1, f"key {RAW} %s %s", ("one",), None
    )
    assert RedactingFilter().filter(record)
    assert RAW not in str(record.msg)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key sk-abc_DEF-123 here", f"key {REDACTED_KEY} here"),
        ("'sk-abc.def+ghi'", f"'{REDACTED_KEY}'"),
        ("Authorization: Bearer abc.def", "Authorization: Bearer ***"),
        ("basic dXNlcjpwYXNz", "basic ***"),
        ("task-force and desk-lamp", "task-force and desk-lamp"),
        ("token 9fe3fbaaac9ac605ff82", "token 9fe3fbaaac9ac605ff82"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


@given(
    prefix=st.text(alphabet=" ,;:'\"(=", max_size=3),
    body=st.text(
        alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.+/",
        min_size=1,
        max_size=40,
    ),
    suffix=st.text(alphabet=" ,;)'\"", max_size=3),
)
def test_any_raw_key_is_masked_whole(prefix: str, body: str, suffix: str) -> None:
    cleaned = redact(f"{prefix}sk-{body}{suffix}")
    assert body not in cleaned or body in REDACTED_KEY
    assert cleaned == f"{prefix}{REDACTED_KEY}{suffix}"


@given(secret=st.text(min_size=8, max_size=30).filter(lambda s: not s.isspace()))
def test_explicit_secrets_are_masked(secret: str) -> None:
    assert secret not in redact(f"x {secret} y", [secret])
