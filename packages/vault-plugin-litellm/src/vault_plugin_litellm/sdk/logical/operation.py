"""The operations a host can ask of a backend."""

from __future__ import annotations

from enum import StrEnum


class Operation(StrEnum):
    """``Request.operation`` values, spelled as the hosts send them."""

    CREATE = "create"
    READ = "read"
    UPDATE = "update"
    PATCH = "patch"
    DELETE = "delete"
    LIST = "list"
    SCAN = "scan"  # OpenBao only
    HELP = "help"
    HEADER = "header"
    RENEW = "renew"
    REVOKE = "revoke"
    ROLLBACK = "rollback"
    RESOLVE_PATH = "resolve-path"  # OpenBao >= 2.7, before every routed request
    ALIAS_LOOKAHEAD = "alias-lookahead"  # auth backends only
    RESOLVE_ROLE = "resolve-role"  # auth backends only
    RECOVER = "recover"  # Vault only
    ROTATE = "rotate"  # Vault only

    @classmethod
    def parse(cls, value: str) -> Operation | None:
        """The operation named ``value``, or ``None`` for one this runtime does not know."""
        try:
            return cls(value)
        except ValueError:
            return None
