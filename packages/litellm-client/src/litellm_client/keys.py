"""Key identity: raw keys (``sk-...``) and their tokens (sha256 hex), as the proxy computes them."""

from __future__ import annotations

import hashlib
import secrets

RAW_KEY_PREFIX = "sk-"


def hash_key(raw_key: str) -> str:
    """Return the token the proxy stores for ``raw_key``: the sha256 hex of its UTF-8 bytes."""
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def to_token(key: str) -> str:
    """Return the token for a raw key or a token, the way the proxy decides.

    A value starting with ``sk-`` is a raw key and is hashed; any other value is already a token.
    """
    if not key:
        raise ValueError(
            "key: expected a raw key ('sk-...') or its 64-hex token, got an empty string"
        )
    return hash_key(key) if key.startswith(RAW_KEY_PREFIX) else key


def new_raw_key(nbytes: int = 32) -> str:
    """Return a fresh custom raw key (``sk-`` + ``token_urlsafe(nbytes)``) to pass as ``key=``.

    Minting with a key made here makes ``generate_key`` safe to retry: its token is known before the
    call, so the client can check whether an attempt whose answer was lost created the key.
    """
    if nbytes < 16:
        raise ValueError(f"nbytes: expected at least 16 bytes of randomness, got {nbytes}")
    return RAW_KEY_PREFIX + secrets.token_urlsafe(nbytes)
