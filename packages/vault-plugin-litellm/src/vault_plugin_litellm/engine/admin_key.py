"""What the configured admin key is, proven against the proxy without side effects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from litellm_client import AsyncLiteLLMClient, AuthenticationError, KeyStatus, NotFoundError

from .config import AdminKeyType


@dataclass(frozen=True, slots=True)
class AdminIdentity:
    kind: AdminKeyType
    user_id: str = ""
    expires: datetime | None = None
    allowed_routes: tuple[str, ...] = ()
    key_alias: str = ""


async def inspect_admin_key(client: AsyncLiteLLMClient, admin_key: str) -> AdminIdentity:
    """Who the key belongs to, and proof that it is a proxy admin.

    The proxy keeps a row for every virtual key but none for its master key, so a key that
    authenticates and has no row is the master key. Admin rights are then proven with a call
    only proxy admins may make, which changes nothing (``check_admin``). Raises the client's
    errors: 401 for a key the proxy refuses, 403 for one that is not an admin's.
    """
    try:
        info = await client.key_info(admin_key)
    except NotFoundError:
        identity = AdminIdentity(AdminKeyType.MASTER_KEY)
    else:
        if info.status not in (None, KeyStatus.ACTIVE):
            # A refusal of the key, like the proxy's own: the operator must fix config.
            raise AuthenticationError(f"the admin key's own row says it is {info.status}")
        identity = AdminIdentity(
            AdminKeyType.VIRTUAL_KEY,
            user_id=info.user_id or "",
            expires=info.expires,
            allowed_routes=tuple(info.allowed_routes or ()),
            key_alias=info.key_alias or "",
        )
    await client.check_admin()
    return identity
