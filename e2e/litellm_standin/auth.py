"""Who is calling: credential headers, master key, virtual-key checks (docs/litellm-api.md §2, §8).

The checks run in the real proxy's order: credential, master key, ``sk-`` form, lookup, blocked,
model access, expiry, budget (LLM routes only), then the route rules for the caller's key type and
role. Raw keys never leave this module except hashed or abbreviated, as the proxy prints them.
"""

from __future__ import annotations

import fnmatch
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from e2e.litellm_standin import clock
from e2e.litellm_standin.catalog import Model
from e2e.litellm_standin.durations import next_budget_reset
from e2e.litellm_standin.errors import DetailError, ProxyError, auth_failure
from e2e.litellm_standin.store import (
    ADMIN_NAME,
    MASTER_KEY_ALIAS,
    KeyRow,
    Store,
    hash_token,
    key_name,
)

PROXY_ADMIN = "proxy_admin"
INTERNAL_USER = "internal_user"

LLM_ROUTES = frozenset({"/chat/completions", "/v1/chat/completions"})
INFO_ROUTES = frozenset({"/key/info", "/key/list", "/user/info"})
# Routes an internal_user's own keys may call; the handlers then check ownership themselves.
INTERNAL_USER_ROUTES = frozenset(
    {
        "/key/generate",
        "/key/update",
        "/key/delete",
        "/key/block",
        "/key/unblock",
        "/key/regenerate",
        "/key/bulk_update",
    }
)
# The route families a key's ``allowed_routes`` may name instead of paths.
ROUTE_FAMILIES: Mapping[str, frozenset[str]] = {
    "llm_api_routes": LLM_ROUTES,
    "openai_routes": LLM_ROUTES,
    "info_routes": INFO_ROUTES,
    "management_routes": INTERNAL_USER_ROUTES | {"/user/new", "/user/info", "/key/list"},
}

# Checked in this order; the first header present (and non-empty) is the credential.
_BEARER_HEADERS = ("x-litellm-api-key", "authorization")
_RAW_HEADERS = ("api-key", "x-api-key", "x-goog-api-key", "ocp-apim-subscription-key")


@dataclass(frozen=True)
class Caller:
    """The authenticated caller.

    ``api_key`` is what audit fields record (an alias for the master key, else the token).
    ``role`` is the role the proxy acts on: a key whose owner has no user row (or no role) acts as
    an ``internal_user``. ``user_role`` is the owner's stored role, as messages print it.
    """

    api_key: str
    user_id: str | None
    role: str
    user_role: str | None = None
    has_user: bool = False
    row: KeyRow | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == PROXY_ADMIN


MASTER = Caller(
    api_key=MASTER_KEY_ALIAS,
    user_id=ADMIN_NAME,
    role=PROXY_ADMIN,
    user_role=PROXY_ADMIN,
    has_user=True,
)


def _strip_scheme(value: str, *, raw_allowed: bool) -> str:
    for scheme in ("Bearer ", "Basic ", "bearer "):
        if value.startswith(scheme):
            # The proxy uses str.replace, so every occurrence goes, not only the prefix.
            return value.replace(scheme, "")
    return value if raw_allowed else ""


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The credential as the proxy extracts it: None if absent, "" if malformed."""
    lowered = {name.lower(): value for name, value in headers.items()}
    for name in _BEARER_HEADERS:
        value = lowered.get(name)
        if value:
            return _strip_scheme(value, raw_allowed=name == "x-litellm-api-key")
    for name in _RAW_HEADERS:
        value = lowered.get(name)
        if value:
            return value
    return None


def masked(value: str) -> str:
    return f"{value[:4]}****{value[-4:]}" if len(value) > 8 else "****"


def mask_user_id(user_id: str) -> str:
    if len(user_id) <= 4:
        return "***"
    if len(user_id) <= 8:
        return "*" * len(user_id)
    return f"{user_id[:6]}{'*' * (len(user_id) - 8)}{user_id[-2:]}"


@dataclass(frozen=True)
class LLMCall:
    """What the auth layer needs to know about an LLM request."""

    model_name: str | None
    model: Model | None


def authenticate(
    store: Store,
    master_key: str,
    headers: Mapping[str, str],
    route: str,
    llm: LLMCall | None = None,
) -> Caller:
    presented = presented_key(headers)
    if presented is None:
        raise auth_failure("No api key passed in.")
    if presented == "":
        raise auth_failure("Malformed API Key passed in. Ensure Key has `Bearer ` prefix.")
    if secrets.compare_digest(presented.encode(), master_key.encode()):
        return MASTER
    if not presented.startswith("sk-"):
        raise ProxyError(
            401,
            f"LiteLLM Virtual Key expected. Received={masked(presented)}, "
            "expected to start with 'sk-'.",
            "auth_error",
            "None",
        )
    token = hash_token(presented)
    row = store.keys.get(token)
    # A key resolved from the cache keeps the raw value; one read from the database is the hash.
    cached = store.cached(token, clock.now())
    if row is None:
        raise ProxyError(
            401,
            "Authentication Error, Invalid proxy server token passed. Received API Key = "
            f"{key_name(presented)}, Key Hash (Token) ={token}. Unable to find token in cache or "
            "`LiteLLM_VerificationTokenTable`",
            "token_not_found_in_db",
            "key",
        )
    store.remember(token, clock.now())
    _check_key(store, row, llm, shown_key=presented if cached else token)
    user = store.users.get(row.user_id) if row.user_id is not None else None
    stored_role = user.user_role if user is not None else None
    caller = Caller(
        api_key=token,
        user_id=row.user_id,
        role=stored_role if stored_role is not None else INTERNAL_USER,
        user_role=stored_role,
        has_user=user is not None,
        row=row,
    )
    _check_route(caller, route)
    return caller


def _check_key(store: Store, row: KeyRow, llm: LLMCall | None, *, shown_key: str) -> None:
    if row.blocked is True:
        raise auth_failure("Key is blocked. Update via `/key/unblock` if you're an admin.")
    if llm is not None and llm.model_name is not None and not may_use_model(row, llm.model_name):
        raise ProxyError(
            403,
            f"The requested model '{llm.model_name}' is not available for this API key, or the "
            "model name is invalid. Check the models available to you and try again.",
            "key_model_access_denied",
            "model",
        )
    now = clock.now()
    if row.expires is not None and row.expires < now:
        raise ProxyError(
            401,
            "Authentication Error - Expired Key. Key Expiry time "
            f"{clock.plain_text(row.expires)} and current time {clock.plain_text(now)}",
            "expired_key",
            key_name(shown_key) if shown_key.startswith("sk-") else f"sk-...{shown_key[-4:]}",
        )
    if llm is not None and (llm.model is None or llm.model.priced):
        _check_budget(store, row, now)


def reset_spend_if_due(store: Store, row: KeyRow, now: datetime) -> None:
    """Budget windows: past ``budget_reset_at`` the spend starts again from zero."""
    if row.budget_duration is None or row.budget_reset_at is None or row.budget_reset_at > now:
        return
    store.set_spend(row, 0.0)
    row.budget_reset_at = clock.stored(next_budget_reset(row.budget_duration, now))


def _check_budget(store: Store, row: KeyRow, now: datetime) -> None:
    reset_spend_if_due(store, row, now)
    budget = row.max_budget
    spend = store.live_spend(row)
    if budget is None or not math.isfinite(budget) or spend < budget:
        return
    label = row.key_alias or "key"
    descriptor = f"{label} ({row.key_name})" if row.key_name else label
    raise ProxyError(
        422,
        f"Budget has been exceeded! Key={descriptor} Current cost: {spend}, Max budget: {budget}",
        "budget_exceeded",
        None,
    )


def may_use_model(row: KeyRow, model_name: str) -> bool:
    if not row.models:
        return True
    for allowed in row.models:
        if not isinstance(allowed, str):
            continue
        if allowed in ("*", "all-proxy-models", model_name):
            return True
        if "*" in allowed and fnmatch.fnmatchcase(model_name, allowed):
            return True
    return False


def _route_allowed(allowed_routes: list[object], route: str, *, families: bool) -> bool:
    for entry in allowed_routes:
        if not isinstance(entry, str):
            continue
        if entry == route or (families and route in ROUTE_FAMILIES.get(entry, frozenset())):
            return True
        if "*" in entry and fnmatch.fnmatchcase(route, entry):
            return True
    return False


def _check_route(caller: Caller, route: str) -> None:
    row = caller.row
    assert row is not None
    if row.allowed_routes and not _route_allowed(row.allowed_routes, route, families=True):
        raise DetailError(
            403,
            "Virtual key is not allowed to call this route. Only allowed to call routes: "
            f"{row.allowed_routes}. Tried to call route: {route}",
        )
    if caller.is_admin or route in LLM_ROUTES or route in INFO_ROUTES:
        return
    if caller.has_user and caller.role == INTERNAL_USER and route in INTERNAL_USER_ROUTES:
        return
    # Past the role rules only literal routes (and wildcards) count, not route families.
    if row.allowed_routes and _route_allowed(row.allowed_routes, route, families=False):
        return
    # The message names the owner only when the owner exists as a user.
    shown_id = (caller.user_id if caller.has_user else None) or "unknown"
    raise auth_failure(
        "Only proxy admin can be used to generate, delete, update info for new keys/users/teams. "
        f"Route={route}. Your role={caller.user_role or 'unknown'}. "
        f"Your user_id={mask_user_id(shown_id)}"
    )
