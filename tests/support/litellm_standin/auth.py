"""Who is calling: the credential, the master key, virtual-key checks (docs/litellm-api.md §2, §8).

The checks run in the real proxy's order: credential, master key, ``sk-`` form, lookup, blocked,
model access, expiry, budget (LLM calls only), then the route rules for the key's type and its
owner's role. Only ``Authorization: Bearer`` is read (the client sends nothing else).
"""

from __future__ import annotations

import fnmatch
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from tests.support.litellm_standin.durations import next_reset
from tests.support.litellm_standin.errors import DetailError, NotModelled, ProxyError, auth_failure
from tests.support.litellm_standin.store import (
    ADMIN_NAME,
    MASTER_KEY_ALIAS,
    Row,
    Store,
    hash_token,
    key_name,
    names,
    stored,
    utc_now,
)

PROXY_ADMIN, INTERNAL_USER = "proxy_admin", "internal_user"
LLM_ROUTES = frozenset({"/chat/completions"})
INFO_ROUTES = frozenset({"/key/info", "/key/list"})
# Routes an internal_user's keys may call; the handlers then decide.
INTERNAL_USER_ROUTES = frozenset(
    {"/key/generate", "/key/update", "/key/delete", "/key/block", "/key/unblock"}
    | {"/key/regenerate", "/key/bulk_update"}
)
# What a key's ``allowed_routes`` may name instead of paths (set by ``key_type``).
ROUTE_FAMILIES: Mapping[str, frozenset[str]] = {
    "llm_api_routes": LLM_ROUTES,
    "info_routes": INFO_ROUTES,
    "management_routes": INTERNAL_USER_ROUTES | INFO_ROUTES | {"/user/new"},
}


# Where else the proxy looks for a credential (docs/litellm-api.md §2.1); the client uses none.
_OTHER_CREDENTIAL_HEADERS = names(
    "x-litellm-api-key api-key x-api-key x-goog-api-key ocp-apim-subscription-key"
)


@dataclass(frozen=True)
class Caller:
    """The authenticated caller.

    ``api_key`` is what audit fields record (an alias for the master key, else the token).
    ``role`` is what the proxy acts on: a key whose owner has no user row acts as an
    ``internal_user``; ``user_role`` is the owner's stored role, as messages print it.
    """

    api_key: str
    user_id: str | None
    role: str
    user_role: str | None = None
    row: Row | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == PROXY_ADMIN

    @property
    def has_user(self) -> bool:
        return self.user_role is not None


MASTER = Caller(MASTER_KEY_ALIAS, ADMIN_NAME, PROXY_ADMIN, PROXY_ADMIN)


def masked(value: str) -> str:
    return f"{value[:4]}****{value[-4:]}" if len(value) > 8 else "****"


def _masked_user_id(user_id: str) -> str:
    if len(user_id) <= 4:
        return "***"
    if len(user_id) <= 8:
        return "*" * len(user_id)
    return f"{user_id[:6]}{'*' * (len(user_id) - 8)}{user_id[-2:]}"


@dataclass(frozen=True)
class LLMCall:
    """The model an LLM request names, and whether budgets bite: a priced or unknown model."""

    model_name: str | None
    priced: bool


def authenticate(
    store: Store,
    master_key: str,
    version: str,
    headers: Mapping[str, str],
    route: str,
    llm: LLMCall | None = None,
) -> Caller:
    lowered = {name.lower(): value for name, value in headers.items()}
    if any(name in lowered for name in _OTHER_CREDENTIAL_HEADERS):
        raise NotModelled("a credential in a header other than Authorization")
    credential = lowered.get("authorization")
    if not credential:
        raise auth_failure("No api key passed in.")
    if not credential.startswith("Bearer "):
        if credential.startswith(("bearer ", "Basic ")):
            raise NotModelled("an Authorization scheme other than 'Bearer '")
        raise auth_failure("Malformed API Key passed in. Ensure Key has `Bearer ` prefix.")
    presented = credential.replace("Bearer ", "")
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
    if row is None:
        message = (
            "Invalid proxy server token passed. Received API Key = "
            f"{key_name(presented)}, Key Hash (Token) ={token}. Unable to find token in cache or "
            "`LiteLLM_VerificationTokenTable`"
            if version == "1.106.12"
            else "Invalid API key provided."
        )
        raise ProxyError(401, f"Authentication Error, {message}", "token_not_found_in_db", "key")
    now = utc_now()
    # A key resolved from the cache still holds the raw key; one read from the database, the hash.
    shown = key_name(presented) if store.cached(token, now) else f"sk-...{token[-4:]}"
    _check_key(store, row, llm, shown, now)
    user_role = store.users.get(row["user_id"]) if row["user_id"] is not None else None
    caller = Caller(token, row["user_id"], user_role or INTERNAL_USER, user_role, row)
    _check_route(caller, route)
    return caller


def _check_key(store: Store, row: Row, llm: LLMCall | None, shown: str, now: datetime) -> None:
    if row["blocked"] is True:
        raise auth_failure("Key is blocked. Update via `/key/unblock` if you're an admin.")
    if llm is not None and llm.model_name is not None and not may_use(row, llm.model_name):
        raise ProxyError(
            403,
            f"The requested model '{llm.model_name}' is not available for this API key, or the "
            "model name is invalid. Check the models available to you and try again.",
            "key_model_access_denied",
            "model",
        )
    if row["expires"] is not None and row["expires"] < now:
        raise ProxyError(
            401,
            "Authentication Error - Expired Key. Key Expiry time "
            f"{row['expires']!s} and current time {now!s}",
            "expired_key",
            shown,
        )
    if llm is not None and llm.priced:
        _check_budget(store, row, now)


def _check_budget(store: Store, row: Row, now: datetime) -> None:
    reset_at = row["budget_reset_at"]
    if reset_at is not None and reset_at <= now:
        # The budget period is over: spend starts again from zero.
        store.pending = [entry for entry in store.pending if entry.token != row["token"]]
        row["spend"] = 0.0
        row["budget_reset_at"] = stored(next_reset(row["budget_duration"], now))
    budget, spend = row["max_budget"], store.live_spend(row)
    if budget is None or spend < budget:
        return
    label = row["key_alias"] or "key"
    raise ProxyError(
        422,
        f"Budget has been exceeded! Key={label} ({row['key_name']}) Current cost: {spend}, "
        f"Max budget: {budget}",
        "budget_exceeded",
    )


def may_use(row: Row, model_name: str) -> bool:
    allowed = [name for name in row["models"] if isinstance(name, str)]
    return not row["models"] or any(
        name in ("*", "all-proxy-models", model_name)
        or ("*" in name and fnmatch.fnmatchcase(model_name, name))
        for name in allowed
    )


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
    allowed = caller.row["allowed_routes"] if caller.row is not None else []
    if allowed and not _route_allowed(allowed, route, families=True):
        raise DetailError(
            403,
            "Virtual key is not allowed to call this route. Only allowed to call routes: "
            f"{allowed}. Tried to call route: {route}",
        )
    if caller.is_admin or route in LLM_ROUTES or route in INFO_ROUTES:
        return
    if caller.user_role == INTERNAL_USER and route in INTERNAL_USER_ROUTES:
        return
    # Past the role rules only literal routes (and wildcards) count, not route families.
    if allowed and _route_allowed(allowed, route, families=False):
        return
    shown_id = (caller.user_id if caller.has_user else None) or "unknown"
    raise auth_failure(
        "Only proxy admin can be used to generate, delete, update info for new keys/users/teams. "
        f"Route={route}. Your role={caller.user_role or 'unknown'}. "
        f"Your user_id={_masked_user_id(shown_id)}"
    )
