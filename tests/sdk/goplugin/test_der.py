"""The plugin's hand-encoded certificate: DER pieces against known encodings, and whole
certificates parsed and verified by ``cryptography``."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from hypothesis import given, settings
from hypothesis import strategies as st
from vault_plugin_litellm.sdk.goplugin import der, tls


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, "020100"),
        (127, "02017f"),
        (128, "02020080"),
        (256, "02020100"),
        (2**64, "0209010000000000000000"),
    ],
)
def test_integers(value: int, encoded: str) -> None:
    assert der.integer(value).hex() == encoded


@pytest.mark.parametrize(
    ("dotted", "encoded"),
    [
        ("1.2.840.10045.4.3.2", "06082a8648ce3d040302"),  # ecdsa-with-SHA256
        ("2.5.29.17", "0603551d11"),
        ("1.3.6.1.5.5.7.3.1", "06082b06010505070301"),
    ],
)
def test_object_identifiers(dotted: str, encoded: str) -> None:
    assert der.oid(dotted).hex() == encoded


@pytest.mark.parametrize(
    ("size", "prefix"), [(0, "0400"), (127, "047f"), (128, "048180"), (300, "0482012c")]
)
def test_lengths(size: int, prefix: str) -> None:
    assert der.octet_string(b"\x00" * size).hex().startswith(prefix)


def test_times_switch_to_generalized_time_in_2050() -> None:
    before = datetime.datetime(2049, 12, 31, 23, 59, 59, tzinfo=datetime.UTC)
    after = datetime.datetime(2050, 1, 1, tzinfo=datetime.UTC)
    assert der.time(before) == b"\x17\x0d491231235959Z"
    assert der.time(after) == b"\x18\x0f20500101000000Z"


def test_set_of_is_sorted() -> None:
    assert der.set_of(b"\x02\x01\x02", b"\x02\x01\x01") == b"\x31\x06\x02\x01\x01\x02\x01\x02"


def test_invalid_input_is_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        der.integer(-1)
    with pytest.raises(ValueError, match="invalid object identifier"):
        der.oid("3.1")


@settings(max_examples=15, deadline=None)
@given(days=st.integers(min_value=1, max_value=365 * 60))
def test_generated_certificates_parse_and_verify(days: int) -> None:
    identity = tls.generate_identity(validity_days=days)
    cert = x509.load_der_x509_certificate(identity.cert_der)
    assert x509.load_pem_x509_certificate(identity.cert_pem) == cert
    assert cert.version is x509.Version.v3
    assert cert.serial_number > 0
    assert cert.issuer == cert.subject
    public_key = cert.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    assert isinstance(public_key.curve, ec.SECP256R1)
    public_key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime == datetime.timedelta(days=days, seconds=30)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.value.get_values_for_type(x509.DNSName) == ["localhost"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert usage.value.key_cert_sign
    assert not usage.value.key_encipherment
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical
    assert basic.value.ca
    # Re-encoding through cryptography gives the same bytes: the DER is canonical.
    from cryptography.hazmat.primitives.serialization import Encoding

    assert cert.public_bytes(Encoding.DER) == identity.cert_der
