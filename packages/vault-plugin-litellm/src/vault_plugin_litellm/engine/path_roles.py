"""``roles/<name>`` (create, read, update, delete) and ``roles/`` (list)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from litellm_client import GenerateKeyRequest, InvalidDurationError, format_budget_duration
from pydantic import ValidationError

from vault_plugin_litellm.sdk.framework import (
    FieldData,
    FieldSchema,
    FieldType,
    Path,
    PathOperation,
    TemplateError,
    generic_name_regex,
    validate_identity_template,
)
from vault_plugin_litellm.sdk.logical import Operation, Request, Response, list_response

from . import alias_template, limits
from .operation import changing
from .proxy_errors import Refusal, answer_refusals
from .role import (
    ENGINE_FIELDS,
    METADATA_PREFIX,
    PASSTHROUGH_FIELDS,
    ROLE_PREFIX,
    TYPED_FIELDS,
    Role,
)

if TYPE_CHECKING:
    from .backend import LiteLLMBackend

ROLE_FIELDS: dict[str, FieldSchema] = {
    "name": FieldSchema(FieldType.STRING, "Name of the role.", required=True),
    "models": FieldSchema(
        FieldType.COMMA_STRING_SLICE,
        "Models (or LiteLLM access groups) keys from this role may use. Required unless "
        "allow_all_models is true: LiteLLM treats an empty list as every model.",
    ),
    "allow_all_models": FieldSchema(
        FieldType.BOOL,
        "Mint keys that may use every model of the proxy (models must then be empty).",
        default=False,
    ),
    "max_budget": FieldSchema(
        FieldType.FLOAT, "Hard spend limit of each key, in USD (null or empty: none)."
    ),
    "budget_duration": FieldSchema(
        FieldType.STRING, "How often the spend of each key resets, e.g. 1d, 7d, 30d, 1mo."
    ),
    "soft_budget": FieldSchema(
        FieldType.FLOAT, "Spend in USD at which LiteLLM alerts (does not block)."
    ),
    "tpm_limit": FieldSchema(FieldType.INT, "Tokens per minute allowed to each key."),
    "rpm_limit": FieldSchema(FieldType.INT, "Requests per minute allowed to each key."),
    "max_parallel_requests": FieldSchema(FieldType.INT, "Concurrent requests allowed to each key."),
    "team_id": FieldSchema(
        FieldType.STRING,
        "LiteLLM team of each key; may be an identity template such as "
        "{{identity.entity.metadata.team}}.",
    ),
    "user_id": FieldSchema(
        FieldType.STRING,
        "LiteLLM user owning each key; may be an identity template such as "
        "{{identity.entity.id}} or {{identity.entity.name}}.",
    ),
    "metadata": FieldSchema(
        FieldType.KV_PAIRS,
        "Metadata stamped on each key (key=value pairs); keys starting with vault_ are the "
        "engine's own.",
    ),
    "tags": FieldSchema(
        FieldType.COMMA_STRING_SLICE, "LiteLLM tags of each key (an Enterprise feature)."
    ),
    "key_alias_template": FieldSchema(
        FieldType.STRING,
        "Alias of each key. Placeholders: "
        + ", ".join("{{" + p + "}}" for p in alias_template.PLACEHOLDERS)
        + ". Aliases must be unique: keep {{random}}.",
        default=alias_template.DEFAULT_ALIAS_TEMPLATE,
    ),
    "ttl": FieldSchema(
        FieldType.DURATION_SECOND, "Lease TTL of each key (0: the mount's default)."
    ),
    "max_ttl": FieldSchema(
        FieldType.DURATION_SECOND,
        "Longest a key may live, renewals included (0: the mount's maximum).",
    ),
    "key_request": FieldSchema(
        FieldType.MAP,
        'Other /key/generate fields as a JSON object (e.g. {"key_type": "llm_api", '
        '"tpd_limit": 100000}). key, key_alias, duration, expires and typed fields set on '
        "the role are refused.",
    ),
}

_SAMPLE = {
    "mount": "litellm",
    "unix_time": "1700000000",
    "display_name": "token",
    "entity_id": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    "request_id": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
}


def role_paths(backend: LiteLLMBackend) -> list[Path]:
    name = generic_name_regex("name")

    async def exists(req: Request, data: FieldData) -> bool:
        return await backend.get_role(req.storage, data.get_str("name")) is not None

    @answer_refusals
    async def read(req: Request, data: FieldData) -> Response | None:
        role = await backend.get_role(req.storage, data.get_str("name"))
        return None if role is None else Response(data=role.public())

    @answer_refusals
    async def write(req: Request, data: FieldData) -> Response | None:
        role_name = data.get_str("name")
        if len(role_name) > limits.MAX_ROLE_NAME:
            raise Refusal(f"name: at most {limits.MAX_ROLE_NAME} characters")
        async with backend.role_lock(role_name):
            existing = None
            if req.operation is not Operation.CREATE:
                existing = await backend.get_role(req.storage, role_name)
            role, warnings = build_role(role_name, existing, data)
            warnings += await backend.ttl_warnings(role)
            await backend.put_role(req.storage, role)
        return Response(warnings=warnings) if warnings else None

    @answer_refusals
    async def delete(req: Request, data: FieldData) -> None:
        role_name = data.get_str("name")
        async with backend.role_lock(role_name):
            await backend.delete_role(req.storage, role_name)

    async def list_roles(req: Request, data: FieldData) -> Response:
        return list_response(await req.storage.list(ROLE_PREFIX))

    return [
        Path(
            pattern="roles/?$",
            operations={Operation.LIST: PathOperation(list_roles, summary="List the roles.")},
            help_synopsis="List the roles.",
            help_description="Names of the roles keys can be minted from.",
        ),
        Path(
            pattern="roles/" + name,
            fields=ROLE_FIELDS,
            operations={
                Operation.READ: PathOperation(read, summary="Read a role."),
                Operation.CREATE: changing(write, "Create a role."),
                Operation.UPDATE: changing(write, "Update a role."),
                Operation.DELETE: changing(delete, "Delete a role."),
            },
            existence_check=exists,
            help_synopsis="Manage the roles keys are minted from.",
            help_description=(
                "A role sets what each key minted by creds/<name> may do in LiteLLM: models, "
                "budget, rate limits, team and user (identity templates allowed), metadata, "
                "alias, and the lease TTLs. An update changes only the fields it names; null or "
                "an empty value clears an optional setting. Keys already minted keep their "
                "settings; renewals follow the role's current ttl and max_ttl."
            ),
        ),
    ]


_DEFAULTS = Role(name="")


def _checks() -> dict[str, Callable[[Any], Any]]:
    """How each field's converted value is checked; the order is the order of the errors."""
    return {
        "models": lambda v: _names("models", v, limits.MAX_MODELS, limits.MAX_MODEL_NAME),
        "allow_all_models": bool,
        "max_budget": lambda v: _budget("max_budget", v),
        "budget_duration": _budget_duration,
        "soft_budget": lambda v: _budget("soft_budget", v),
        "tpm_limit": lambda v: _limit("tpm_limit", v),
        "rpm_limit": lambda v: _limit("rpm_limit", v),
        "max_parallel_requests": lambda v: _limit(
            "max_parallel_requests", v, limits.MAX_PARALLEL_REQUESTS
        ),
        "team_id": lambda v: _id_template("team_id", v),
        "user_id": lambda v: _id_template("user_id", v),
        "metadata": _metadata,
        "tags": lambda v: _names("tags", v, limits.MAX_TAGS, limits.MAX_TAG),
        "key_alias_template": str,
        "ttl": int,
        "max_ttl": int,
        "key_request": dict,
    }


# Fields an update may clear with null or an empty value, back to "not set".
_CLEARABLE = frozenset(
    {"models", *PASSTHROUGH_FIELDS, "team_id", "user_id", "metadata", "tags", "key_request"}
)


def build_role(name: str, existing: Role | None, data: FieldData) -> tuple[Role, list[str]]:
    """The role after this write, checked; raises :class:`Refusal` naming the field.

    A create starts from the defaults, an update from the stored role; either way only the
    fields the request names change.
    """
    values = (existing or _DEFAULTS).to_storage()
    for key, check in _checks().items():
        if key not in data.raw:
            continue
        if key in _CLEARABLE and data.raw[key] in (None, ""):
            values[key] = getattr(_DEFAULTS, key)
        else:
            values[key] = check(data.get(key))
    role = Role.from_storage(name, values)

    try:
        template = alias_template.parse(role.key_alias_template)
        template.render({**_SAMPLE, "role": name})
    except alias_template.AliasTemplateError as exc:
        raise Refusal(str(exc)) from None
    warnings: list[str] = []
    if not template.has_random:
        warnings.append(
            "key_alias_template has no {{random}}: aliases must be unique across all keys of "
            "the proxy, and a mint whose alias is taken will be refused"
        )
    warnings += _check_key_request(role)
    if role.allow_all_models and role.effective_models():
        raise Refusal("allow_all_models: true means every model; leave models empty with it")
    if not role.allow_all_models and not role.effective_models():
        raise Refusal(
            "models: list the models keys from this role may use (LiteLLM treats an empty list "
            "as every model); set allow_all_models=true to mean every model"
        )
    if 0 < role.max_ttl < role.ttl:
        raise Refusal(
            f"ttl: {role.ttl}s is longer than max_ttl {role.max_ttl}s; ttl must not exceed max_ttl"
        )
    return role, warnings


def _names(field: str, values: list[str], most: int, longest: int) -> tuple[str, ...]:
    if len(values) > most:
        raise Refusal(f"{field}: at most {most} entries, got {len(values)}")
    out: list[str] = []
    for value in values:
        if not value or len(value) > longest or not value.isprintable():
            raise Refusal(
                f"{field}: each entry must be 1 to {longest} printable characters, got "
                f"{value[:40]!r}"
            )
        if value not in out:
            out.append(value)
    return tuple(out)


def _budget(field: str, value: float) -> float:
    if not math.isfinite(value) or not 0 <= value <= limits.MAX_BUDGET:
        raise Refusal(f"{field}: expected a number of USD from 0 to {limits.MAX_BUDGET:g}")
    return float(value)


def _limit(field: str, value: int, most: int = limits.MAX_LIMIT) -> int:
    if not 0 <= value <= most:
        raise Refusal(f"{field}: expected a whole number from 0 to {most}")
    return int(value)


def _budget_duration(value: str) -> str:
    try:
        return format_budget_duration(value)
    except InvalidDurationError as exc:
        raise Refusal(exc.message) from None


def _id_template(field: str, value: str) -> str:
    if len(value) > limits.MAX_ID_TEMPLATE:
        raise Refusal(f"{field}: at most {limits.MAX_ID_TEMPLATE} characters")
    if not value.isprintable():
        raise Refusal(f"{field}: may not contain control characters")
    try:
        validate_identity_template(value)
    except TemplateError as exc:
        raise Refusal(f"{field}: {exc}") from None
    return value


def _metadata(value: dict[str, str]) -> dict[str, str]:
    if len(value) > limits.MAX_METADATA_ENTRIES:
        raise Refusal(f"metadata: at most {limits.MAX_METADATA_ENTRIES} entries")
    for key, item in value.items():
        if not key or len(key) > limits.MAX_METADATA_KEY:
            raise Refusal(f"metadata: keys must be 1 to {limits.MAX_METADATA_KEY} characters")
        if key.startswith(METADATA_PREFIX):
            raise Refusal(
                f"metadata: {key!r} starts with {METADATA_PREFIX!r}, which the engine reserves "
                "for its own stamps"
            )
        if len(item) > limits.MAX_METADATA_VALUE:
            raise Refusal(
                f"metadata: the value of {key!r} is longer than {limits.MAX_METADATA_VALUE}"
            )
        if "\x00" in key or "\x00" in item:
            raise Refusal(f"metadata: {key!r} {_NUL}")
    return dict(value)


# Postgres (LiteLLM's database) stores no NUL character: the proxy accepts the key, then fails
# to insert it with a 500.
_NUL = "holds a NUL character (\\u0000), which the proxy's database cannot store"


def _storable(value: Any, where: str) -> None:
    """Refuse what LiteLLM's API takes but its database cannot store: NUL characters and
    integers beyond 64 bits (anywhere in ``value``, already bounded in size and depth)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise Refusal(f"{where}: a string {_NUL}")
    elif isinstance(value, int) and not isinstance(value, bool):
        if not -limits.MAX_STORED_INT - 1 <= value <= limits.MAX_STORED_INT:
            raise Refusal(f"{where}: {value} does not fit the proxy's 64-bit integers")
    elif isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in str(key):
                raise Refusal(f"{where}: a key {_NUL}")
            _storable(item, f"{where}.{key}")
    elif isinstance(value, list):
        for item in value:
            _storable(item, where)


def _depth(value: Any, level: int = 0) -> int:
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def _check_key_request(role: Role) -> list[str]:
    request = role.key_request
    if not request:
        return []
    try:
        size = len(json.dumps(request, allow_nan=False))
    except ValueError:
        raise Refusal("key_request: NaN and infinite numbers are not JSON") from None
    if size > limits.MAX_KEY_REQUEST_BYTES:
        raise Refusal(
            f"key_request: at most {limits.MAX_KEY_REQUEST_BYTES} bytes of JSON, got {size}"
        )
    if _depth(request) > limits.MAX_KEY_REQUEST_DEPTH:
        raise Refusal(f"key_request: nested deeper than {limits.MAX_KEY_REQUEST_DEPTH} levels")
    _storable(request, "key_request")
    parallel = request.get("max_parallel_requests")
    if isinstance(parallel, int) and parallel > limits.MAX_PARALLEL_REQUESTS:
        raise Refusal(
            f"key_request.max_parallel_requests: at most {limits.MAX_PARALLEL_REQUESTS}, "
            "the largest the proxy stores"
        )
    for field in ENGINE_FIELDS:
        if field in request:
            raise Refusal(f"key_request.{field}: the engine sets {field} itself; remove it")
    for field in TYPED_FIELDS:
        if field in request and _typed_is_set(role, field):
            raise Refusal(
                f"key_request.{field}: the role's typed field {field} is set too; use one of them"
            )
    if request.get("auto_rotate"):
        # A rotation by LiteLLM gives the key a new token the lease does not know: revoking
        # the lease would then miss the key.
        raise Refusal(
            "key_request.auto_rotate: LiteLLM would replace the key under a token its lease "
            "does not know; short leases replace keys instead"
        )
    if "allow_all_models" in request:
        raise Refusal("key_request.allow_all_models: not a LiteLLM field; use the role's field")
    metadata = request.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise Refusal("key_request.metadata: expected a JSON object")
        reserved = [k for k in metadata if str(k).startswith(METADATA_PREFIX)]
        if reserved:
            raise Refusal(
                f"key_request.metadata: {reserved[0]!r} starts with {METADATA_PREFIX!r}, which "
                "the engine reserves for its own stamps"
            )
    known = GenerateKeyRequest.model_fields
    try:
        GenerateKeyRequest.model_validate({k: v for k, v in request.items() if k in known})
    except (ValidationError, InvalidDurationError) as exc:
        raise Refusal(f"key_request: {_validation_summary(exc)}") from None
    unknown = sorted(k for k in request if k not in known)
    if unknown:
        return [
            f"key_request fields this engine does not know are sent to LiteLLM as they are "
            f"(LiteLLM ignores fields it does not know): {', '.join(unknown)}"
        ]
    return []


def _typed_is_set(role: Role, field: str) -> bool:
    value = getattr(role, field)
    return value not in (None, "", (), {}, False)


def _validation_summary(exc: ValidationError | InvalidDurationError) -> str:
    if isinstance(exc, InvalidDurationError):
        return exc.message
    parts = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        location = ".".join(str(p) for p in error["loc"])
        parts.append(f"{location}: {error['msg']}")
    return "; ".join(parts)


def ttl_warning(field: str, value: int, mount_max: timedelta) -> str | None:
    if value and timedelta(seconds=value) > mount_max:
        return (
            f"{field} of {value}s is longer than the mount's max lease TTL "
            f"({int(mount_max.total_seconds())}s); leases will be capped to it"
        )
    return None
