"""``config``: where the proxy is and the admin key the engine uses (read, write, delete)."""

from __future__ import annotations

import ssl
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx

from vault_plugin_litellm.sdk.framework import (
    FieldData,
    FieldSchema,
    FieldType,
    Path,
    PathOperation,
)
from vault_plugin_litellm.sdk.logical import Operation, Request, Response

from . import limits
from .admin_key import inspect_admin_key
from .config import AdminKeyType, EngineConfig
from .operation import changing
from .proxy import ProxyHandle
from .proxy_errors import Refusal, answer_refusals, from_proxy_error

if TYPE_CHECKING:
    from .backend import LiteLLMBackend

CONFIG_FIELDS: dict[str, FieldSchema] = {
    "url": FieldSchema(
        FieldType.STRING,
        "Base URL of the LiteLLM proxy, e.g. https://litellm.internal:4000 (required on first "
        "write).",
    ),
    "admin_key": FieldSchema(
        FieldType.STRING,
        "The proxy's master key or, better, a proxy_admin virtual key (required on first "
        "write). Never returned.",
        display_attrs=None,
    ),
    "ca_cert": FieldSchema(
        FieldType.STRING,
        "PEM bundle of the CA certificates to trust for the proxy's TLS (default: the "
        "system's). An empty value clears it.",
    ),
    "timeout": FieldSchema(
        FieldType.DURATION_SECOND,
        f"Time allowed for each request to the proxy (1s to "
        f"{int(limits.MAX_TIMEOUT.total_seconds())}s).",
        default="30s",
    ),
    "verify_connection": FieldSchema(
        FieldType.BOOL,
        "Check the URL and admin key against the proxy before storing them; a key that does "
        "not work is refused with the proxy's reason.",
        default=True,
    ),
    "tidy_interval": FieldSchema(
        FieldType.DURATION_SECOND,
        "Run tidy on this schedule (at least 5m); 0 turns scheduled tidy off (the default).",
        default=0,
    ),
}


def config_paths(backend: LiteLLMBackend) -> list[Path]:
    async def exists(req: Request, data: FieldData) -> bool:
        return await backend.get_config(req.storage) is not None

    async def read(req: Request, data: FieldData) -> Response | None:
        config = await backend.get_config(req.storage)
        return None if config is None else Response(data=config.public())

    # Under the admin lock: a rotation stores a config derived from the one it started with,
    # which would silently undo a write that landed meanwhile.
    @answer_refusals
    async def write(req: Request, data: FieldData) -> Response | None:
        async with backend.admin_lock:
            existing = await backend.get_config(req.storage)
            config, changed_key = _merge(existing, data)
            warnings: list[str] = []
            if config.verify_connection:
                config, warnings = await _verify(config, req.mount_point)
            elif changed_key:
                config = _replace_kind(config, AdminKeyType.UNVERIFIED, "")
            await backend.put_config(req.storage, config)
        return Response(warnings=warnings) if warnings else None

    async def delete(req: Request, data: FieldData) -> None:
        async with backend.admin_lock:
            await backend.delete_config(req.storage)

    return [
        Path(
            pattern="config",
            fields=CONFIG_FIELDS,
            operations={
                Operation.READ: PathOperation(read, summary="Read the proxy connection."),
                Operation.CREATE: changing(write, "Configure the proxy connection."),
                Operation.UPDATE: changing(write, "Change the proxy connection."),
                Operation.DELETE: changing(delete, "Forget the proxy connection."),
            },
            existence_check=exists,
            help_synopsis="Connect the engine to a LiteLLM proxy.",
            help_description=(
                "The proxy's URL and the admin key the engine mints, renews and deletes keys "
                "with. A write changes only the fields it names and, with verify_connection "
                "(the default), is refused with the proxy's reason unless the key authenticates "
                "and is a proxy admin. The admin key is stored seal-wrapped and is never "
                "returned; a read reports what kind of key it is. Deleting the config stops "
                "renewals and revocations until a new one is written."
            ),
        )
    ]


def _merge(existing: EngineConfig | None, data: FieldData) -> tuple[EngineConfig, bool]:
    """The config after this write (only named fields change), and whether the key changed."""
    values: dict[str, Any] = existing.to_storage() if existing else {}
    if existing is None:
        for field in ("url", "admin_key"):
            if not data.get(field):
                raise Refusal(f"{field}: required when the engine is first configured")
    if field_given(data, "url"):
        values["url"] = _check_url(data.get_str("url"))
    changed_key = False
    if field_given(data, "admin_key"):
        key = _check_admin_key(data.get_str("admin_key"))
        changed_key = existing is None or key != existing.admin_key
        values["admin_key"] = key
        if changed_key:
            values["admin_key_rotated_at"] = ""  # that was the replaced key's rotation
    if "ca_cert" in data.raw:
        values["ca_cert"] = _check_ca_cert(data.get_str("ca_cert"))
    if "timeout" in data.raw or existing is None:
        values["timeout"] = _check_timeout(data.get_int("timeout"))
    if "tidy_interval" in data.raw or existing is None:
        values["tidy_interval"] = _check_tidy_interval(data.get_int("tidy_interval"))
    values["verify_connection"] = data.get_bool("verify_connection")
    return EngineConfig.from_storage(values), changed_key


def field_given(data: FieldData, field: str) -> bool:
    return field in data.raw and data.raw[field] not in (None, "")


def _check_url(url: str) -> str:
    expected = "url: expected the proxy's http(s) base URL, e.g. https://litellm.internal:4000"
    if len(url) > limits.MAX_URL_LENGTH:
        raise Refusal(f"url: at most {limits.MAX_URL_LENGTH} characters")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise Refusal(expected) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise Refusal(expected)
    if parsed.userinfo:
        raise Refusal("url: may not carry a user name or password; use admin_key")
    if parsed.query or parsed.fragment:
        raise Refusal("url: may not carry a query or fragment")
    return url.rstrip("/")


def _check_admin_key(key: str) -> str:
    # Never quote the key in a message: it would end up in logs and audit devices.
    expected = "admin_key: expected the proxy's master key or a proxy_admin virtual key (sk-...)"
    if not key.startswith("sk-") or len(key) > limits.MAX_ADMIN_KEY_LENGTH:
        raise Refusal(expected)
    if not all("!" <= c <= "~" for c in key):
        raise Refusal(expected + "; the value has whitespace or non-ASCII characters")
    return key


def _check_ca_cert(pem: str) -> str:
    if not pem:
        return ""
    if len(pem.encode()) > limits.MAX_CA_CERT_BYTES:
        raise Refusal(f"ca_cert: at most {limits.MAX_CA_CERT_BYTES} bytes")
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise Refusal("ca_cert: expected PEM certificates (-----BEGIN CERTIFICATE-----)")
    try:
        ssl.create_default_context(cadata=pem)
    except (ssl.SSLError, ValueError) as exc:
        raise Refusal(f"ca_cert: not a usable PEM bundle ({exc.__class__.__name__})") from None
    return pem


def _check_timeout(seconds: int) -> int:
    low, high = int(limits.MIN_TIMEOUT.total_seconds()), int(limits.MAX_TIMEOUT.total_seconds())
    if not low <= seconds <= high:
        raise Refusal(f"timeout: expected {low}s to {high}s, got {seconds}s")
    return seconds


def _check_tidy_interval(seconds: int) -> int:
    least = int(limits.MIN_TIDY_INTERVAL.total_seconds())
    if seconds and seconds < least:
        raise Refusal(f"tidy_interval: expected 0 (off) or at least {least}s, got {seconds}s")
    if seconds > timedelta(days=365).total_seconds():
        raise Refusal("tidy_interval: at most one year")
    return seconds


def _replace_kind(config: EngineConfig, kind: AdminKeyType, user_id: str) -> EngineConfig:
    values = config.to_storage()
    values.update(admin_key_type=kind.value, admin_user_id=user_id)
    return EngineConfig.from_storage(values)


async def _verify(config: EngineConfig, mount_point: str) -> tuple[EngineConfig, list[str]]:
    """The config with the key's kind filled in, or a :class:`Refusal` with the proxy's reason."""
    handle = ProxyHandle(config)
    try:
        async with handle.use() as client:
            identity = await inspect_admin_key(client, config.admin_key)
    except Exception as exc:
        error = from_proxy_error(
            exc, action="checking the admin key", url=config.url, mount_point=mount_point
        )
        message = getattr(error, "message", str(error))
        raise Refusal(f"config not stored: {message}") from None
    finally:
        await handle.retire()
    warnings = []
    if identity.kind is AdminKeyType.MASTER_KEY:
        warnings.append(
            "admin_key is the proxy's master key: it works, but rotate-root cannot replace it "
            "and it grants more than the engine needs; prefer a proxy_admin virtual key"
        )
    if identity.expires is not None:
        warnings.append(
            f"admin_key expires at {identity.expires.isoformat()}; the engine stops working then"
        )
    return _replace_kind(config, identity.kind, identity.user_id), warnings
