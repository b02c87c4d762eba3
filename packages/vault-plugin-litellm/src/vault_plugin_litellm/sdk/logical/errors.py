"""Errors a backend raises, each carrying the ``pb.ProtoError`` type the host understands.

The host turns ``err_type`` back into its own sentinel errors and picks the HTTP status from
them (``sdk/logical/response_util.go`` in OpenBao): types 5-8 become 405/404/400/403 with the
host's own text, type 3 carries an explicit status, type 4 is a 400 that keeps our message.
A plain error with no response is a 500, so handlers signal bad input with
``Response.error(...)`` (a 400 that keeps the message) or :class:`BadRequestError`.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar


class ErrType(IntEnum):
    """``pb.ProtoError.err_type`` values (``sdk/plugin/pb/translation.go``)."""

    UNKNOWN = 0
    USER_ERROR = 1
    INTERNAL_ERROR = 2
    CODED_ERROR = 3
    STATUS_BAD_REQUEST = 4
    UNSUPPORTED_OPERATION = 5
    UNSUPPORTED_PATH = 6
    INVALID_REQUEST = 7
    PERMISSION_DENIED = 8
    MULTI_AUTHZ_PENDING = 9
    UNRECOVERABLE = 10


class LogicalError(Exception):
    """Base of every error a backend may raise towards the host."""

    err_type: ClassVar[ErrType] = ErrType.UNKNOWN

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def code(self) -> int:
        """HTTP status for coded errors; 0 for the others."""
        return 0


class UserError(LogicalError):
    err_type = ErrType.USER_ERROR


class InternalError(LogicalError):
    err_type = ErrType.INTERNAL_ERROR


class CodedError(LogicalError):
    """An error with an explicit HTTP status."""

    err_type = ErrType.CODED_ERROR

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status

    @property
    def code(self) -> int:
        return self.status


class BadRequestError(LogicalError):
    """A 400 that keeps its message."""

    err_type = ErrType.STATUS_BAD_REQUEST


class UnsupportedOperationError(LogicalError):
    """HTTP 405; the host replaces the text with "unsupported operation"."""

    err_type = ErrType.UNSUPPORTED_OPERATION

    def __init__(self, message: str = "unsupported operation") -> None:
        super().__init__(message)


class UnsupportedPathError(LogicalError):
    """HTTP 404; the host replaces the text with "unsupported path"."""

    err_type = ErrType.UNSUPPORTED_PATH

    def __init__(self, message: str = "unsupported path") -> None:
        super().__init__(message)


class InvalidRequestError(LogicalError):
    """HTTP 400; the host replaces the text with "invalid request"."""

    err_type = ErrType.INVALID_REQUEST

    def __init__(self, message: str = "invalid request") -> None:
        super().__init__(message)


class PermissionDeniedError(LogicalError):
    """HTTP 403; the host replaces the text with "permission denied"."""

    err_type = ErrType.PERMISSION_DENIED

    def __init__(self, message: str = "permission denied") -> None:
        super().__init__(message)


class UnrecoverableError(LogicalError):
    """Marks a lease irrevocable at once instead of retrying the revocation."""

    err_type = ErrType.UNRECOVERABLE


class StorageError(LogicalError):
    """A storage call failed on the host; the text is the host's, passed on unchanged.

    The host matches some texts (``"cannot write to readonly storage"``) to forward the
    request to the active node, so it must reach the host verbatim.
    """


class UnsupportedByHostError(LogicalError):
    """The host does not offer this (a method only OpenBao, or only Vault, implements)."""

    def __init__(self, feature: str) -> None:
        super().__init__(f"{feature} is not supported by this server")
        self.feature = feature


READ_ONLY_STORAGE = "cannot write to readonly storage"
