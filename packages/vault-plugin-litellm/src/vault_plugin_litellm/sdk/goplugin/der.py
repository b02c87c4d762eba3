"""Just enough DER (X.690) to write the plugin's self-signed certificate.

The plugin makes a fresh certificate at every start, before its handshake line; building it
with ``cryptography.x509`` costs more import time than everything else the plugin needs to
answer the host. The structure here is small and fixed; the key, the signature and the public
key encoding still come from ``cryptography`` (OpenSSL).
"""

from __future__ import annotations

from datetime import UTC, datetime


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + _length(len(content)) + content


def sequence(*parts: bytes) -> bytes:
    return tlv(0x30, b"".join(parts))


def set_of(*parts: bytes) -> bytes:
    return tlv(0x31, b"".join(sorted(parts)))  # DER orders SET OF by encoding


def integer(value: int) -> bytes:
    if value < 0:
        raise ValueError("only non-negative integers are needed here")
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")  # a leading 0 keeps it positive
    return tlv(0x02, body)


def boolean(value: bool) -> bytes:
    return tlv(0x01, b"\xff" if value else b"\x00")


def oid(dotted: str) -> bytes:
    arcs = [int(part) for part in dotted.split(".")]
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] > 39):
        raise ValueError(f"invalid object identifier {dotted!r}")
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return tlv(0x06, bytes(out))


def octet_string(value: bytes) -> bytes:
    return tlv(0x04, value)


def bit_string(value: bytes, unused_bits: int = 0) -> bytes:
    return tlv(0x03, bytes((unused_bits,)) + value)


def utf8_string(value: str) -> bytes:
    return tlv(0x0C, value.encode("utf-8"))


def time(value: datetime) -> bytes:
    """UTCTime through 2049, GeneralizedTime after, as RFC 5280 requires (whole seconds, Z)."""
    value = value.astimezone(UTC)
    if value.year < 2050:
        return tlv(0x17, value.strftime("%y%m%d%H%M%SZ").encode("ascii"))
    return tlv(0x18, value.strftime("%Y%m%d%H%M%SZ").encode("ascii"))


def context(number: int, content: bytes, *, constructed: bool = True) -> bytes:
    """A context-specific tag: ``[number] EXPLICIT`` when constructed, else IMPLICIT."""
    return tlv((0xA0 if constructed else 0x80) | number, content)


def pem(label: str, der: bytes) -> bytes:
    import base64

    body = base64.b64encode(der)
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return b"".join(
        [
            f"-----BEGIN {label}-----\n".encode(),
            *(line + b"\n" for line in lines),
            f"-----END {label}-----\n".encode(),
        ]
    )
