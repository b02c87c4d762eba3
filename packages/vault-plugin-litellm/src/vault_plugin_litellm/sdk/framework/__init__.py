"""Build backends from declared paths, typed fields and secret types (Go's ``sdk/framework``).

A backend is a :class:`Backend` given :class:`Path` declarations (pattern, fields,
handlers per :class:`~vault_plugin_litellm.sdk.logical.Operation`, existence check, help)
and :class:`SecretType` declarations (renew and revoke per kind of lease). Handlers are
``async def handler(req: Request, data: FieldData) -> Response | None``.

The in-process host emulation for tests is :class:`.testing.BackendHarness` (imported
from ``sdk.framework.testing``, so that production code does not load it).
"""

from .backend import (
    Backend,
    CleanupFunc,
    InitializeFunc,
    InvalidateFunc,
    PeriodicFunc,
    join_errors,
)
from .coercion import FieldConversionError, canonical_header_key, convert, zero_value
from .field_data import FieldData, FieldValidationError, UnknownFieldError
from .field_type import FieldType
from .fields import DisplayAttributes, FieldSchema
from .go_regex import go_regex_to_python
from .goparse import format_duration, human_duration, parse_duration_second
from .identity_template import (
    TemplateError,
    TemplateMode,
    populate_identity_template,
    populate_string,
    validate_identity_template,
)
from .lease import LeaseTTLError, calculate_ttl, compute_ttl, lease_extend, mount_ttls
from .openapi import OAS_VERSION, OPENBAO_TITLE, VAULT_TITLE, api_title
from .patch import PatchPreprocessor, handle_patch_operation, json_merge_patch
from .path import (
    ExistenceFunc,
    OperationFunc,
    OperationResponse,
    Path,
    PathOperation,
    RequestExample,
    generic_name_regex,
    generic_name_with_at_regex,
    match_all_regex,
    optional_generic_name_regex,
    optional_param_regex,
    path_append,
)
from .pattern_expand import UndocumentablePatternError, expand_pattern
from .router import Router
from .secret import SECRET_TYPE_KEY, SecretType
from .wal import (
    DEFAULT_MIN_AGE,
    WAL_PREFIX,
    RollbackDeferred,
    WALEntry,
    WALRollbackFunc,
    delete_wal,
    get_wal,
    list_wal,
    put_wal,
    readable_wal,
    rollback_wal,
)

__all__ = [
    "DEFAULT_MIN_AGE",
    "OAS_VERSION",
    "OPENBAO_TITLE",
    "SECRET_TYPE_KEY",
    "VAULT_TITLE",
    "WAL_PREFIX",
    "Backend",
    "CleanupFunc",
    "DisplayAttributes",
    "ExistenceFunc",
    "FieldConversionError",
    "FieldData",
    "FieldSchema",
    "FieldType",
    "FieldValidationError",
    "InitializeFunc",
    "InvalidateFunc",
    "LeaseTTLError",
    "OperationFunc",
    "OperationResponse",
    "PatchPreprocessor",
    "Path",
    "PathOperation",
    "PeriodicFunc",
    "RequestExample",
    "RollbackDeferred",
    "Router",
    "SecretType",
    "TemplateError",
    "TemplateMode",
    "UndocumentablePatternError",
    "UnknownFieldError",
    "WALEntry",
    "WALRollbackFunc",
    "api_title",
    "calculate_ttl",
    "canonical_header_key",
    "compute_ttl",
    "convert",
    "delete_wal",
    "expand_pattern",
    "format_duration",
    "generic_name_regex",
    "generic_name_with_at_regex",
    "get_wal",
    "go_regex_to_python",
    "handle_patch_operation",
    "human_duration",
    "join_errors",
    "json_merge_patch",
    "lease_extend",
    "list_wal",
    "match_all_regex",
    "mount_ttls",
    "optional_generic_name_regex",
    "optional_param_regex",
    "parse_duration_second",
    "path_append",
    "populate_identity_template",
    "populate_string",
    "put_wal",
    "readable_wal",
    "rollback_wal",
    "validate_identity_template",
    "zero_value",
]
