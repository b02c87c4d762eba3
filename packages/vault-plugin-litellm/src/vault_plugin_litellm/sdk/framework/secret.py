"""Kinds of leased secret a backend issues, with their renew and revoke handlers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from vault_plugin_litellm.sdk.logical import (
    LeaseOptions,
    Request,
    Response,
    Secret,
    UnsupportedOperationError,
    utcnow,
)

from .field_data import FieldData
from .fields import FieldSchema
from .path import OperationFunc

SECRET_TYPE_KEY = "secret_type"  # noqa: S105 (a key name, not a secret)
"""Where :meth:`SecretType.response` records the kind in ``internal_data``; the host hands
``internal_data`` back unchanged on renew and revoke, which is how they find their handler."""


@dataclass(frozen=True, slots=True)
class SecretType:
    """A kind of secret (Go's ``framework.Secret``).

    ``type`` names it in ``internal_data`` and must not change once leases exist. Without
    ``renew`` the leases are not renewable. ``revoke`` gets the lease's stored data and
    ``req.secret.internal_data``; everything revocation needs belongs in the latter,
    because a renewal replaces the stored data with the renew response's.
    """

    type: str
    revoke: OperationFunc | None = None
    renew: OperationFunc | None = None
    fields: Mapping[str, FieldSchema] = field(default_factory=dict)
    default_duration: timedelta = timedelta(0)

    @property
    def renewable(self) -> bool:
        return self.renew is not None

    def response(
        self, data: Mapping[str, Any] | None, internal: Mapping[str, Any] | None = None
    ) -> Response:
        """A response carrying a new lease of this kind, issued now.

        Adjust ``response.secret.lease_options`` (``ttl``, ``max_ttl``) as needed; a zero
        TTL means the mount default, a zero maximum means the mount maximum.
        """
        internal_data = dict(internal or {})
        internal_data[SECRET_TYPE_KEY] = self.type
        options = LeaseOptions(
            ttl=self.default_duration, renewable=self.renewable, issue_time=utcnow()
        )
        secret = Secret(lease_options=options, internal_data=internal_data)
        return Response(data=None if data is None else dict(data), secret=secret)

    async def handle_renew(self, req: Request) -> Response | None:
        if self.renew is None:
            raise UnsupportedOperationError()
        return await self.renew(req, FieldData(req.data, self.fields))

    async def handle_revoke(self, req: Request) -> Response | None:
        if self.revoke is None:
            raise UnsupportedOperationError()
        return await self.revoke(req, FieldData(req.data, self.fields))
