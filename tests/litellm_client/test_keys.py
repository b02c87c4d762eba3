from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from litellm_client import hash_key, new_raw_key, to_token


def test_hash_matches_a_pair_observed_on_the_proxy() -> None:
    # /key/generate returned this key with this token (LiteLLM 1.106.12).
    assert (
        hash_key("sk-xpmfIF-92NzWkM8fHlHzow")
        == "9fe3fbaaac9ac605ff820ec270d443a58d8b0b09a20a1e1ab3aa1bdda9e6408a"
    )


@given(st.text(min_size=1))
def test_hash_is_sha256_hex_of_utf8(raw: str) -> None:
    token = hash_key(raw)
    assert token == hashlib.sha256(raw.encode()).hexdigest()
    assert len(token) == 64
    assert token == token.lower()


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=40))
def test_to_token_hashes_raw_keys_and_keeps_tokens(tail: str) -> None:
    raw = f"sk-{tail}"
    token = to_token(raw)
    assert token == hash_key(raw)
    assert to_token(token) == token  # a token is never hashed again


def test_to_token_refuses_empty() -> None:
    with pytest.raises(ValueError, match="key"):
        to_token("")


def test_new_raw_keys_are_custom_keys_the_proxy_accepts() -> None:
    keys = {new_raw_key() for _ in range(50)}
    assert len(keys) == 50
    for key in keys:
        assert key.startswith("sk-")
        assert len(key) >= 16
        assert set(key[3:]) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
        )
    with pytest.raises(ValueError, match="nbytes"):
        new_raw_key(8)
