"""The handshake: the magic cookie, protocol versions and the one stdout line."""

from __future__ import annotations

import base64
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from vault_plugin_litellm.sdk.goplugin import handshake, tls
from vault_plugin_litellm.sdk.goplugin.handshake import HandshakeError


def test_line_format(plugin_identity: tls.Identity) -> None:
    field = plugin_identity.handshake_field()
    line = handshake.handshake_line("unix", "/tmp/plugin123/plugin.sock", field)
    assert line.endswith("\n")
    assert line.count("\n") == 1
    fields = line.rstrip("\n").split("|")
    # Six fields and never a seventh: only hosts that set PLUGIN_MULTIPLEX_GRPC read one.
    assert fields == ["1", "5", "unix", "/tmp/plugin123/plugin.sock", "grpc", field]
    assert len(field) > 50  # the host reads the certificate only when longer than 50


def test_certificate_field_is_unpadded_standard_base64(plugin_identity: tls.Identity) -> None:
    field = plugin_identity.handshake_field()
    assert "=" not in field
    assert "-" not in field
    assert "_" not in field
    assert (
        base64.b64decode(field + "=" * (-len(field) % 4), validate=True) == plugin_identity.cert_der
    )


@given(st.binary(max_size=64))
def test_certificate_field_for_every_length(der: bytes) -> None:
    # Padding appears for only some DER lengths; Go's RawStdEncoding refuses all of it.
    field = tls.Identity(cert_der=der, cert_pem=b"", key_pem=b"").handshake_field()
    assert "=" not in field
    assert len(field) == (len(der) * 8 + 5) // 6
    assert base64.b64decode(field + "=" * (-len(field) % 4), validate=True) == der


def test_plaintext_line_has_an_empty_certificate_field() -> None:
    assert handshake.handshake_line("unix", "/s", "") == "1|5|unix|/s|grpc|\n"


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"VAULT_BACKEND_PLUGIN": "wrong"},
        {"VAULT_DATABASE_PLUGIN": "926a0820-aea2-be28-51d6-83cdf00e8edb"},
    ],
    ids=["missing", "wrong", "database-probe"],
)
def test_cookie_refused(env: dict[str, str]) -> None:
    with pytest.raises(HandshakeError) as info:
        handshake.check_cookie(env)
    assert "This binary is a plugin" in str(info.value)
    assert "plugin catalog" in str(info.value)


def test_cookie_accepted() -> None:
    handshake.check_cookie({"VAULT_BACKEND_PLUGIN": "6669da05-b1c8-4f49-97d9-c8e5bed98e20"})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", {5}),
        ("3,4", {3, 4}),
        ("4, 3", {3, 4}),
        ("", set()),
        ("x,5,,v4", {5}),
        ("²,5", {5}),
        (" 6 ,5", {5, 6}),
    ],
)
def test_offered_versions(value: str, expected: set[int]) -> None:
    assert handshake.offered_versions({"PLUGIN_PROTOCOL_VERSIONS": value}) == expected


def test_offered_versions_without_the_variable() -> None:
    assert handshake.offered_versions({}) == set()


@given(st.text(max_size=40))
def test_offered_versions_never_fail(value: str) -> None:
    versions = handshake.offered_versions({"PLUGIN_PROTOCOL_VERSIONS": value})
    assert all(isinstance(v, int) and v >= 0 for v in versions)


@pytest.mark.parametrize("offered", ["5", "3,4", "4,3", "5,6", ""])
def test_version_5_is_always_announced(offered: str) -> None:
    # Without 5 on offer the host fails the attempt with a precise message and falls back.
    assert handshake.negotiate_version({"PLUGIN_PROTOCOL_VERSIONS": offered}) == 5


def test_a_host_without_version_5_is_named_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING"):
        handshake.negotiate_version({"PLUGIN_PROTOCOL_VERSIONS": "4,3"})
        assert "offered plugin protocol versions [3, 4]" in caplog.text
        caplog.clear()
        handshake.negotiate_version({"PLUGIN_PROTOCOL_VERSIONS": "5,4"})
        assert caplog.text == ""


def test_take_stdout_keeps_stdout_for_the_handshake_only() -> None:
    code = (
        "from vault_plugin_litellm.sdk.goplugin import handshake\n"
        "out = handshake.take_stdout()\n"
        "print('stray print')\n"
        "import os; os.write(1, b'raw fd 1\\n')\n"
        "handshake.write_handshake(out, handshake.handshake_line('unix', '/s', 'CERT'))\n"
        "print('after')\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, timeout=60, check=True
    )
    assert done.stdout == b"1|5|unix|/s|grpc|CERT\n"
    assert b"stray print" in done.stderr
    assert b"raw fd 1" in done.stderr
    assert b"after" in done.stderr
