"""Non-streaming ``POST /chat/completions``: what a minted key experiences (docs/litellm-api.md §8).

Auth first (model access, expiry, blocking, budget), then the per-minute request limit, the
request's own checks, the model lookup and the mock completion, whose cost counts against the
key's budget at once and reaches the row's ``spend`` with the next batch write. Budgets are
checked before the call, so a key may overshoot by one call. Token-per-minute, per-day and
parallel-request limits are not enforced here: a key carrying one gets the stand-in's 501.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

from tests.support.litellm_standin.auth import LLMCall, authenticate
from tests.support.litellm_standin.context import Context, Request, Response
from tests.support.litellm_standin.errors import NotModelled, ProxyError
from tests.support.litellm_standin.store import Row, utc_now

ROUTE = "/chat/completions"
PROMPT_TOKENS, COMPLETION_TOKENS = 10, 20  # what LiteLLM's mock_response reports
_WINDOW = timedelta(seconds=60)
_UNENFORCED = ("tpm_limit", "tpd_limit", "max_parallel_requests")


def chat_completions(ctx: Context, request: Request) -> Response:
    body: dict[str, Any] = request.body if request.body is not None else {}
    requested = body.get("model")
    name = requested if isinstance(requested, str) else None
    model = ctx.models.get(name) if name is not None else None
    with ctx.store.lock:
        call = LLMCall(name, priced=model is None or model.priced)
        row = authenticate(ctx.store, ctx.master_key, ctx.version, request.headers, ROUTE, call).row
        if body.get("stream"):
            raise NotModelled("streamed completions", "stream")
        if row is not None:
            limit = next((field for field in _UNENFORCED if row[field] is not None), None)
            if limit is not None:
                raise NotModelled(f"LLM calls through a key with {limit} set", limit)
            # The rate limiter is a pre-call hook: it runs before the request itself is checked.
            _count_request(ctx, row)
        if "messages" not in body:
            message = f"{ROUTE}: Missing required parameter: 'messages'."
            raise ProxyError(400, message, "invalid_request_error", "messages")
        if model is None:
            message = (
                f"{ROUTE}: Invalid model name passed in model={requested}. "
                "Call `/v1/models` to view available models for your key."
            )
            raise ProxyError(
                400,
                message,
                "invalid_request_error",
                extra={"provider_specific_fields": {"error": message}},
            )
        cost = (
            PROMPT_TOKENS * model.input_cost_per_token
            + COMPLETION_TOKENS * model.output_cost_per_token
        )
        if row is not None:
            ctx.store.record_spend(row["token"], cost, utc_now())
    return Response(
        200,
        {
            "id": f"chatcmpl-{uuid.uuid4()}",
            "created": int(time.time()),
            "model": requested,
            "object": "chat.completion",
            "choices": [
                {
                    "finish_reason": "stop",
                    "index": 0,
                    "message": {"content": model.mock_response, "role": "assistant"},
                }
            ],
            "usage": {
                "completion_tokens": COMPLETION_TOKENS,
                "prompt_tokens": PROMPT_TOKENS,
                "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
            },
        },
        {"x-litellm-version": ctx.version},
    )


def _count_request(ctx: Context, row: Row) -> None:
    """The proxy's per-minute request window: count the request, or refuse it with 429."""
    now = utc_now()
    started, count = ctx.store.rpm_windows.get(row["token"], (now, 0))
    if now - started >= _WINDOW:
        started, count = now, 0
    limit = row["rpm_limit"]
    if limit is not None and count >= limit:
        resets = (started + _WINDOW).strftime("%Y-%m-%d %H:%M:%S UTC")
        raise ProxyError(
            429,
            f"Rate limit exceeded for api_key: {row['token']}. Limit type: requests. "
            f"Current limit: {limit}, Remaining: 0. Limit resets at: {resets}",
            "throttling_error",
            headers={"retry-after": "60", "rate_limit_type": "requests", "reset_at": resets},
        )
    ctx.store.rpm_windows[row["token"]] = (started, count + 1)
