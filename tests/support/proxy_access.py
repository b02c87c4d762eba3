"""A LiteLLM proxy as the tests reach it directly, beside the engine under test: the admin
client, a chat call made with an issued key, a key's status, and new ``proxy_admin`` keys.

Shared by the in-process engine tests (``tests/engine``) and the end-to-end suite (``e2e``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from litellm_client import LiteLLMClient, NotFoundError

MODEL = "fake-gpt"


@dataclass
class ProxyAccess:
    url: str
    master_key: str
    kind: str  # "standin" or "live"
    _admin: LiteLLMClient | None = field(default=None, repr=False)

    @property
    def admin(self) -> LiteLLMClient:
        if self._admin is None:
            self._admin = LiteLLMClient(self.url, self.master_key)
        return self._admin

    def chat(self, key: str, model: str = MODEL) -> int:
        """Status of one chat completion made with ``key``."""
        response = httpx.post(
            f"{self.url}/chat/completions",
            headers={"Authorization": f"Bearer {key}"},
            json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
            timeout=60,
        )
        return response.status_code

    def get_as(self, key: str, path: str, params: dict[str, str] | None = None) -> int:
        """Status of a GET made with ``key`` as the credential."""
        response = httpx.get(
            f"{self.url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )
        return response.status_code

    def status(self, token: str) -> str:
        """The key's status as /key/info reports it ("missing" for a 404)."""
        try:
            return str(self.admin.key_info(token).status)
        except NotFoundError:
            return "missing"

    def gone(self, token: str) -> bool:
        """Whether the key is deleted (or was never there)."""
        return self.status(token) in ("deleted", "missing")

    def expires(self, token: str) -> datetime:
        """The key's expiry as /key/info reports it (the key must have one)."""
        expires = self.admin.key_info(token).expires
        assert expires is not None, f"key {token} has no expiry"
        return expires

    def new_admin_key(self) -> tuple[str, str]:
        """A fresh ``proxy_admin`` user and its virtual key: ``(user_id, key)``."""
        user_id = f"vault-test-admin-{uuid.uuid4().hex[:10]}"
        response = httpx.post(
            f"{self.url}/user/new",
            headers={"Authorization": f"Bearer {self.master_key}"},
            json={"user_id": user_id, "user_role": "proxy_admin"},
            timeout=60,
        )
        response.raise_for_status()
        return user_id, str(response.json()["key"])

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()
