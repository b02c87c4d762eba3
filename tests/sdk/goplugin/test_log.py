"""Logging to the host: hclog JSON lines on stderr, and what must never appear in them."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vault_plugin_litellm.sdk.goplugin import log as plugin_log
from vault_plugin_litellm.sdk.goplugin import tls

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
HCLOG_LEVELS = {"trace", "debug", "info", "warn", "error"}


# The runtime masks bearer tokens and private keys itself; a backend adds the shape of its own
# secrets. This one stands for such a backend (the LiteLLM engine adds litellm_client.redact).
_BACKEND_SECRET = re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_\-]{4,}")


def _backend_redactor(text: str) -> str:
    return _BACKEND_SECRET.sub("[redacted]", text)


@pytest.fixture(autouse=True)
def backend_redactor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plugin_log, "_redactors", [])
    plugin_log.add_redactor(_backend_redactor)
    plugin_log.add_redactor(_backend_redactor)  # a second registration changes nothing
    assert plugin_log._redactors == [_backend_redactor]


def test_without_a_backend_redactor_only_generic_secrets_are_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(plugin_log, "_redactors", [])
    assert plugin_log.redact("Bearer abc and sk-12345678") == "Bearer [redacted] and sk-12345678"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root logger sent to a buffer through ``configure`` at trace level, then restored."""
    root = logging.getLogger()
    old_handlers, old_level = list(root.handlers), root.level
    stream = io.StringIO()
    plugin_log.configure(stream, "trace")
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in old_handlers:
        root.addHandler(handler)
    root.setLevel(old_level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    out = []
    for raw in stream.getvalue().splitlines():
        entry = json.loads(raw)
        assert isinstance(entry, dict)
        for key in ("@level", "@message", "@timestamp"):
            assert isinstance(entry[key], str), (key, raw)
        assert entry["@level"] in HCLOG_LEVELS
        assert TIMESTAMP.fullmatch(entry["@timestamp"]), entry["@timestamp"]
        out.append(entry)
    return out


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        (logging.CRITICAL, "error"),
        (logging.ERROR, "error"),
        (logging.WARNING, "warn"),
        (logging.INFO, "info"),
        (logging.DEBUG, "debug"),
        (5, "trace"),
        (7, "trace"),
        (logging.WARNING + 5, "warn"),
    ],
)
def test_level_mapping(captured: io.StringIO, level: int, expected: str) -> None:
    logging.getLogger("t").log(level, "message at %d", level)
    (entry,) = lines(captured)
    assert entry["@level"] == expected
    assert entry["@message"] == f"message at {level}"
    assert entry["@module"] == "t"


def test_extras_become_key_value_pairs(captured: io.StringIO) -> None:
    logging.getLogger("t").info(
        "with extras",
        extra={
            "path": "creds/r1",
            "count": 3,
            "ratio": 0.5,
            "flag": True,
            "nothing": None,
            "obj": {"nested": [1, 2]},
            "nan": float("nan"),
            "inf": float("-inf"),
            "@message": 123,  # may not replace the host's fields
        },
    )
    (entry,) = lines(captured)
    assert entry["@message"] == "with extras"
    assert entry["path"] == "creds/r1"
    assert entry["count"] == 3
    assert entry["ratio"] == 0.5
    assert entry["flag"] is True
    assert entry["nothing"] is None
    assert entry["obj"] == str({"nested": [1, 2]})
    assert entry["nan"] == "nan"
    assert entry["inf"] == "-inf"


def test_non_string_message(captured: io.StringIO) -> None:
    logging.getLogger("t").info(12345)
    logging.getLogger("t").info({"a": 1})
    assert [e["@message"] for e in lines(captured)] == ["12345", "{'a': 1}"]


def test_exception_is_error_text(captured: io.StringIO) -> None:
    try:
        raise ValueError("it broke with key sk-abcdef123456")
    except ValueError:
        logging.getLogger("t").exception("handler failed")
    (entry,) = lines(captured)
    assert entry["@level"] == "error"
    assert entry["@message"] == "handler failed"
    assert "Traceback" in entry["error"]
    assert "ValueError: it broke with key" in entry["error"]
    assert "sk-abcdef123456" not in entry["error"]


PEM_KEY = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBL1AAAA\nBBBB==\n-----END EC PRIVATE KEY-----"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("admin key sk-master-local-test used", "sk-master-local-test"),
        ("virtual key sk-AbC_123-xyz", "sk-AbC_123-xyz"),
        ("Authorization: Bearer eyJhbGciOi.J9.abc/+=", "eyJhbGciOi.J9.abc/+="),
        ("authorization: bearer   tok~en-1", "tok~en-1"),
        (f"key follows\n{PEM_KEY}\nend", "MHcCAQEEIBL1AAAA"),
        ("-----BEGIN PRIVATE KEY-----\\nABCDEF\\n-----END PRIVATE KEY-----\\n", "ABCDEF"),
    ],
)
def test_redaction(text: str, secret: str) -> None:
    assert secret not in plugin_log.redact(text)
    assert "[redacted]" in plugin_log.redact(text)


def test_redaction_keeps_the_rest() -> None:
    assert (
        plugin_log.redact("Bearer abc and sk-12345678 ok") == "Bearer [redacted] and [redacted] ok"
    )
    assert plugin_log.redact("nothing secret: sk- x, sk-ab") == "nothing secret: sk- x, sk-ab"


def test_secrets_are_redacted_in_messages_extras_and_tracebacks(
    captured: io.StringIO, plugin_identity: tls.Identity
) -> None:
    log = logging.getLogger("t")
    log.warning(
        "calling with %s",
        "Bearer sk-secretvalue99",
        extra={"key": "sk-inextra1234", "pem": plugin_identity.key_pem},
    )
    try:
        raise RuntimeError(f"bad key {plugin_identity.key_pem.decode()}")
    except RuntimeError:
        log.exception("failed with sk-inmessage5678")
    text = captured.getvalue()
    key_body = plugin_identity.key_pem.decode().splitlines()[1]
    for secret in (
        "sk-secretvalue99",
        "sk-inextra1234",
        "sk-inmessage5678",
        key_body,
        key_body[:20],
    ):
        assert secret not in text
    assert len(lines(captured)) == 2


def test_configure_level_and_handlers(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    old_handlers, old_level = list(root.handlers), root.level
    try:
        stream = io.StringIO()
        monkeypatch.setenv("PLUGIN_LOG_LEVEL", "warn")
        handler = plugin_log.configure(stream)
        assert root.handlers == [handler]
        assert root.level == logging.WARNING
        logging.getLogger("t").info("dropped")
        logging.getLogger("t").warning("kept")
        assert [e["@message"] for e in lines(stream)] == ["kept"]
        plugin_log.configure(stream, "trace")
        assert root.level == 5
        assert len(root.handlers) == 1
        plugin_log.configure(stream, "no-such-level")
        assert root.level == logging.INFO
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in old_handlers:
            root.addHandler(handler)
        root.setLevel(old_level)


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=50),
    st.binary(max_size=20),
)
extra_values = st.one_of(
    json_scalars,
    st.lists(json_scalars, max_size=3),
    st.dictionaries(st.text(max_size=5), json_scalars, max_size=3),
)
reserved = set(plugin_log._STANDARD_ATTRS)


@settings(max_examples=200)
@given(
    st.one_of(st.text(max_size=100), st.integers(), st.floats(), st.binary(max_size=30)),
    st.dictionaries(
        st.text(min_size=1, max_size=12).filter(lambda k: k not in reserved),
        extra_values,
        max_size=5,
    ),
    st.sampled_from(
        [5, logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL]
    ),
)
def test_any_message_and_extras_give_one_valid_line(
    message: object, extra: dict[str, Any], level: int
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(plugin_log.HclogFormatter())
    logger = logging.Logger("fuzz", level=1)
    logger.addHandler(handler)
    logger.log(level, message, extra=extra)
    output = stream.getvalue()
    assert output.endswith("\n")
    assert output.count("\n") == 1
    (entry,) = lines(stream)
    assert entry["@message"] == plugin_log.redact(str(message))
