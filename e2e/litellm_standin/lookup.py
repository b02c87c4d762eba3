"""``GET /key/info`` and ``GET /key/list`` (docs/litellm-api.md §4.4, §4.5)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from e2e.litellm_standin import clock
from e2e.litellm_standin.auth import Caller
from e2e.litellm_standin.context import Context, Request, Response
from e2e.litellm_standin.errors import HTTPProblem, ProxyError, as_internal, not_found
from e2e.litellm_standin.schemas import ListKeysQuery, validate
from e2e.litellm_standin.store import ArchivedKey, KeyRow, Store, token_of
from e2e.litellm_standin.views import archive_view, list_view, row_view

_STATUSES = ("active", "expired", "revoked", "deleted")
_SORT_COLUMNS = ("spend", "max_budget", "created_at", "updated_at", "token", "key_alias")


def key_status(row: KeyRow, now: datetime) -> str:
    if row.blocked is True:
        return "revoked"
    if row.expires is not None and row.expires < now:
        return "expired"
    return "active"


def key_info(ctx: Context, caller: Caller, request: Request) -> Response:
    # Without ?key= the caller's own key is described; the master key has no row, hence 404.
    key = request.param("key") or caller.api_key
    token = token_of(key)
    try:
        with ctx.store.lock:
            row = ctx.store.keys.get(token)
            archived = ctx.store.archived(token) if row is None else None
            owner = row.user_id if row is not None else archived.row.user_id if archived else None
            if row is None and archived is None:
                raise not_found("Key not found in database")
            if not (caller.is_admin or caller.api_key == token or _same_owner(caller, owner)):
                raise HTTPProblem(
                    403,
                    f"You are not allowed to access this key's info. Your role={caller.role}",
                )
            if row is not None:
                budget = ctx.store.budgets.get(row.budget_id) if row.budget_id else None
                info = row_view(row, budget)
                info["status"] = key_status(row, clock.now())
            else:
                assert archived is not None
                info = archive_view(archived, stamp=clock.offset_text)
                del info["token"]
                info["status"] = "deleted"
    except HTTPProblem as problem:
        raise as_internal(problem) from None
    return Response(200, {"key": key, "info": info})


def _same_owner(caller: Caller, owner: str | None) -> bool:
    return owner is not None and owner == caller.user_id


def list_keys(ctx: Context, caller: Caller, request: Request) -> Response:
    query = validate(ListKeysQuery, _query_values(request), "query")
    try:
        with ctx.store.lock:
            return Response(200, _list(ctx.store, caller, query))
    except HTTPProblem as problem:
        # The list route wraps HTTP exceptions itself, with param "None".
        raise as_internal(problem, param="None") from None


def _query_values(request: Request) -> dict[str, object]:
    values: dict[str, object] = {}
    for name, given in request.query.items():
        values[name] = list(given) if name == "expand" else given[-1]
    return values


def _list(store: Store, caller: Caller, query: ListKeysQuery) -> dict[str, Any]:
    if query.status is not None and query.status not in _STATUSES:
        raise HTTPProblem(
            400,
            {
                "error": "Invalid status value. "
                "Supported: 'active', 'expired', 'revoked', 'deleted'."
            },
        )
    if query.expires is not None and query.expires not in ("active", "expired"):
        raise HTTPProblem(400, {"error": "Invalid expires value. Supported: 'active', 'expired'."})
    user_id = query.user_id
    if not caller.is_admin:
        _check_may_list(caller, query)
        user_id = user_id or caller.user_id
    order = _sort_order(query)
    now = clock.now()
    wanted = _filters(query, user_id, caller.is_admin, now)
    entries: list[tuple[KeyRow, ArchivedKey | None]]
    if query.status == "deleted":
        entries = [(entry.row, entry) for entry in store.archive]
    else:
        entries = [(row, None) for row in store.keys.values()]
    matching = [entry for entry in entries if all(test(entry[0]) for test in wanted)]
    matching.sort(key=lambda entry: entry[0].token, reverse=True)
    matching.sort(key=lambda entry: order[0](entry[0]), reverse=order[1])
    start = (query.page - 1) * query.size
    page = matching[start : start + query.size]
    full = query.return_full_object or (query.expand is not None and "user" in query.expand)
    keys: list[Any] = [
        _list_object(store, row, archived) if full else row.token for row, archived in page
    ]
    return {
        "keys": keys,
        "total_count": len(matching),
        "current_page": query.page,
        "total_pages": -(-len(matching) // query.size),
    }


def _check_may_list(caller: Caller, query: ListKeysQuery) -> None:
    """Non-admins list their own keys only; a key without a known owner lists nothing."""
    if caller.user_id is None or not caller.has_user:
        raise ProxyError(
            403,
            "You are not authorized to access this endpoint. "
            "No 'user_id' is associated with your API key.",
            "bad_request_error",
            "user_id",
        )
    for name, message in (
        ("user_id", "You are not authorized to check another user's keys"),
        ("team_id", "You are not authorized to check this team's keys"),
        ("organization_id", "You are not authorized to check this organization's keys"),
    ):
        wanted = getattr(query, name)
        if wanted and not (name == "user_id" and wanted == caller.user_id):
            raise ProxyError(403, message, "bad_request_error", name)


def _list_object(store: Store, row: KeyRow, archived: ArchivedKey | None) -> dict[str, Any]:
    if archived is not None:
        return archive_view(archived, stamp=clock.z_text)
    return list_view(row, store.budgets.get(row.budget_id) if row.budget_id else None)


SortKey = Callable[[KeyRow], Any]


def _sort_order(query: ListKeysQuery) -> tuple[SortKey, bool]:
    if query.sort_by is None:
        return (lambda row: row.created_at), True
    if query.sort_by not in _SORT_COLUMNS:
        raise HTTPProblem(
            400, {"error": f"Invalid sort column. Must be one of: {', '.join(_SORT_COLUMNS)}"}
        )
    if query.sort_order.lower() not in ("asc", "desc"):
        raise HTTPProblem(400, {"error": "Invalid sort order. Must be 'asc' or 'desc'"})
    column = query.sort_by

    def value(row: KeyRow) -> Any:
        # Nulls sort as the smallest value (Postgres puts them last in desc, first in asc).
        found = getattr(row, column)
        return (found is not None, found if found is not None else 0)

    return value, query.sort_order.lower() == "desc"


RowTest = Callable[[KeyRow], bool]


def _equals(column: str, wanted: object) -> RowTest:
    return lambda row: getattr(row, column) == wanted


def _contains(column: str, part: str) -> RowTest:
    """Case-insensitive substring, like Prisma's ``contains`` with ``mode: insensitive``."""

    def test(row: KeyRow) -> bool:
        text = getattr(row, column)
        return isinstance(text, str) and part.lower() in text.lower()

    return test


def _filters(
    query: ListKeysQuery, user_id: str | None, is_admin: bool, now: datetime
) -> Iterable[RowTest]:
    tests: list[RowTest] = []
    if user_id:
        substring = query.substring_matching and is_admin  # only admins match user ids loosely
        tests.append(_contains("user_id", user_id) if substring else _equals("user_id", user_id))
    for column in ("team_id", "organization_id", "project_id", "agent_id"):
        wanted = getattr(query, column)
        if wanted:
            tests.append(_equals(column, wanted))
    if query.key_alias:
        alias = query.key_alias
        tests.append(
            _contains("key_alias", alias)
            if query.substring_matching
            else _equals("key_alias", alias)
        )
    if query.key_hash:
        tests.append(_equals("token", query.key_hash))
    if query.search:
        by_token, by_alias = _equals("token", query.search), _contains("key_alias", query.search)
        tests.append(lambda row: by_token(row) or by_alias(row))
    if query.access_group_id:
        group = query.access_group_id
        tests.append(lambda row: group in row.access_group_ids)
    if query.expires is not None:
        expired_wanted = query.expires == "expired"
        tests.append(lambda row: _is_expired(row, now) == expired_wanted)
    if query.status in ("active", "expired", "revoked"):
        status = query.status
        tests.append(lambda row: key_status(row, now) == status)
    return tests


def _is_expired(row: KeyRow, now: datetime) -> bool:
    return row.expires is not None and row.expires < now
