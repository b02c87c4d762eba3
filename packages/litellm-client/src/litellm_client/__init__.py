"""Typed admin client for the LiteLLM proxy's virtual-key API (LiteLLM 1.106.12), sync and async.

Depends on httpx and pydantic only, never on the ``litellm`` package.
"""

from litellm_client import errors
from litellm_client._redact import redact
from litellm_client._version import __version__
from litellm_client.client import AsyncLiteLLMClient, LiteLLMClient
from litellm_client.durations import (
    Duration,
    format_budget_duration,
    format_duration,
    parse_duration,
)
from litellm_client.errors import (
    AliasConflictError,
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    EnterpriseFeatureError,
    ExpiredKeyError,
    InvalidDurationError,
    InvalidKeyError,
    KeyBlockedError,
    LiteLLMError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    RequestValidationError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
    error_from_response,
)
from litellm_client.keys import hash_key, new_raw_key, to_token
from litellm_client.models import (
    DeleteKeysResult,
    GeneratedKey,
    GenerateKeyRequest,
    Health,
    KeyInfo,
    KeyList,
    KeyStatus,
    RegenerateKeyRequest,
    UpdateKeyRequest,
)
from litellm_client.params import (
    GenerateKeyParams,
    KeySettingsParams,
    ListKeysFilters,
    RegenerateKeyParams,
    UpdateKeyParams,
)
from litellm_client.retry import Backoff

__all__ = [
    "AliasConflictError",
    "AsyncLiteLLMClient",
    "AuthenticationError",
    "Backoff",
    "BadRequestError",
    "BudgetExceededError",
    "DeleteKeysResult",
    "Duration",
    "EnterpriseFeatureError",
    "ExpiredKeyError",
    "GenerateKeyParams",
    "GenerateKeyRequest",
    "GeneratedKey",
    "Health",
    "InvalidDurationError",
    "InvalidKeyError",
    "KeyBlockedError",
    "KeyInfo",
    "KeyList",
    "KeySettingsParams",
    "KeyStatus",
    "ListKeysFilters",
    "LiteLLMClient",
    "LiteLLMError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RegenerateKeyParams",
    "RegenerateKeyRequest",
    "RequestTimeoutError",
    "RequestValidationError",
    "ServerError",
    "TransportError",
    "UnexpectedResponseError",
    "UpdateKeyParams",
    "UpdateKeyRequest",
    "__version__",
    "error_from_response",
    "errors",
    "format_budget_duration",
    "format_duration",
    "hash_key",
    "new_raw_key",
    "parse_duration",
    "redact",
    "to_token",
]
