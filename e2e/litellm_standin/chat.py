"""``POST /chat/completions``: what a minted key meets at request time (docs/litellm-api.md §8).

Auth (with the key's model list, expiry and budget) first, then the per-minute rate limits, the
request's own checks, the model lookup, and the mock completion, whose cost is then added to the
key's spend. Budgets are checked before the call, so a key may overshoot by one call.
"""

from __future__ import annotations

import json
import math
import re
import time
import uuid
from datetime import timedelta
from typing import Any

from e2e.litellm_standin import clock
from e2e.litellm_standin.auth import LLMCall, authenticate
from e2e.litellm_standin.catalog import MOCK_COMPLETION_TOKENS, MOCK_PROMPT_TOKENS, Model
from e2e.litellm_standin.context import Context, Request, Response
from e2e.litellm_standin.errors import ProxyError
from e2e.litellm_standin.store import KeyRow, RateWindow

VERSION = "1.106.12"
_WINDOW = timedelta(seconds=60)
_CALL_TOKENS = MOCK_PROMPT_TOKENS + MOCK_COMPLETION_TOKENS


def chat_completions(ctx: Context, request: Request) -> Response:
    body: dict[str, Any] = request.body if isinstance(request.body, dict) else {}
    requested = body.get("model")
    model_name = requested if isinstance(requested, str) else None
    model = ctx.models.get(model_name) if model_name is not None else None
    route = request.path
    with ctx.store.lock:
        caller = authenticate(
            ctx.store, ctx.master_key, request.headers, route, LLMCall(model_name, model)
        )
        row = caller.row
        if row is not None:
            # The rate limiter is a pre-call hook: it runs before the request itself is checked.
            _take_rate_limits(ctx, row)
        if "messages" not in body:
            raise ProxyError(
                400,
                # Named after the route group, whichever path was called.
                "/chat/completions: Missing required parameter: 'messages'.",
                "invalid_request_error",
                "messages",
            )
        if model is None:
            message = (
                f"{route}: Invalid model name passed in model={requested}. "
                "Call `/v1/models` to view available models for your key."
            )
            raise ProxyError(
                400,
                message,
                "invalid_request_error",
                None,
                extra={"provider_specific_fields": {"error": message}},
            )
        reserved = _reserve_budget(ctx, row, model, body) if row is not None else None
        # With a budget reservation the proxy counts the prompt itself, and the mock reports that.
        prompt_tokens = MOCK_PROMPT_TOKENS if reserved is None else count_prompt_tokens(body)
        cost = model.cost(prompt_tokens, MOCK_COMPLETION_TOKENS)
        headers = {
            "x-litellm-call-id": str(uuid.uuid4()),
            "x-litellm-version": VERSION,
            "x-litellm-model-group": model.name,
            "x-litellm-response-cost": str(cost),
        }
        if row is not None:
            _record_usage(ctx, row, cost, reserved, prompt_tokens + MOCK_COMPLETION_TOKENS)
            headers["x-litellm-key-spend"] = str(ctx.store.live_spend(row))
    if body.get("stream") is True:
        return Response(200, None, headers, stream=_chunks(model, str(requested)))
    return Response(200, _completion(model, str(requested), prompt_tokens), headers)


_WORD = re.compile(r"[A-Za-z]+|\d{1,3}|[^\sA-Za-z\d]")
_OUTPUT_FIELDS = ("max_completion_tokens", "max_tokens", "max_output_tokens")
MAX_OUTPUT_ESTIMATE = 16_384  # the proxy's reservation when a request sets no output limit


def count_prompt_tokens(body: dict[str, Any]) -> int:
    """An approximation of the proxy's prompt count (cl100k: 3 per message, 3 to prime the reply).

    Short words count one token, long ones about one per three characters: exact for plain
    English prompts, close elsewhere.
    """
    messages = body.get("messages")
    total = 3
    for message in messages if isinstance(messages, list) else []:
        total += 3
        if not isinstance(message, dict):
            continue
        for name, value in message.items():
            if isinstance(value, str):
                total += sum(
                    1 if len(word) <= 10 else math.ceil(len(word) / 3.2)
                    for word in _WORD.findall(value)
                )
            if name == "name":
                total += 1
    return total


def _reserve_budget(ctx: Context, row: KeyRow, model: Model, body: dict[str, Any]) -> float | None:
    """Reserve the request's maximum cost on the key's spend counter, as the proxy does.

    The estimate is the counted prompt plus the requested output limit (16384 tokens by default)
    at the model's prices; when it does not fit, the reservation shrinks to what is left of the
    budget. The float arithmetic follows the proxy's, so spend figures come out identical.
    """
    if row.max_budget is None or not model.priced:
        return None
    requested = next((body[f] for f in _OUTPUT_FIELDS if isinstance(body.get(f), int)), None)
    output = min(MAX_OUTPUT_ESTIMATE if requested is None else requested, MAX_OUTPUT_ESTIMATE)
    estimate = model.cost(count_prompt_tokens(body), output)
    if estimate <= 0:
        return None
    counter = ctx.store.live_spend(row) + estimate
    reserved = estimate
    if counter > row.max_budget:
        reserved = row.max_budget - (counter - estimate)
        counter += reserved - estimate
    ctx.store.counters[row.token] = counter
    return reserved


def _window(ctx: Context, row: KeyRow) -> RateWindow:
    now = clock.now()
    window = ctx.store.windows.get(row.token)
    if window is None or now - window.started >= _WINDOW:
        window = RateWindow(started=now)
        ctx.store.windows[row.token] = window
    return window


def _take_rate_limits(ctx: Context, row: KeyRow) -> None:
    """The proxy's per-minute limiter: count the request, or refuse it with 429."""
    window = _window(ctx, row)
    resets = clock.reset_text(window.started + _WINDOW)
    if row.rpm_limit is not None and window.requests >= row.rpm_limit:
        raise _throttled(row, "requests", row.rpm_limit, 0, resets)
    if row.tpm_limit is not None and window.tokens + _CALL_TOKENS > row.tpm_limit:
        remaining = max(0, row.tpm_limit - window.tokens)
        raise _throttled(row, "tokens", row.tpm_limit, remaining, resets)
    window.requests += 1


def _throttled(row: KeyRow, kind: str, limit: int, remaining: int, resets: str) -> ProxyError:
    return ProxyError(
        429,
        f"Rate limit exceeded for api_key: {row.token}. Limit type: {kind}. "
        f"Current limit: {limit}, Remaining: {remaining}. Limit resets at: {resets}",
        "throttling_error",
        None,
        headers={"retry-after": "60", "rate_limit_type": kind, "reset_at": resets},
    )


def _record_usage(
    ctx: Context, row: KeyRow, cost: float, reserved: float | None, tokens: int
) -> None:
    """Settle the call: the counter trades the reservation for the actual cost at once; the row's
    spend, total_spend and last_active follow with the next batch write."""
    _window(ctx, row).tokens += tokens
    counter = ctx.store.live_spend(row)
    ctx.store.counters[row.token] = counter + (cost if reserved is None else cost - reserved)
    ctx.store.record_spend(row.token, cost, clock.now())


def _completion(model: Model, requested: str, prompt_tokens: int) -> dict[str, Any]:
    return {
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
            "completion_tokens": MOCK_COMPLETION_TOKENS,
            "prompt_tokens": prompt_tokens,
            "total_tokens": prompt_tokens + MOCK_COMPLETION_TOKENS,
        },
    }


def _chunks(model: Model, requested: str) -> list[str]:
    """Server-sent events: the mock reply in three-character pieces, then ``[DONE]``."""
    call_id = f"chatcmpl-{uuid.uuid4()}"
    created = int(time.time())
    text = model.mock_response
    events: list[str] = []
    for index in range(0, len(text), 3):
        delta: dict[str, Any] = {"content": text[index : index + 3]}
        if index == 0:
            delta = {"role": "assistant", **delta}
        events.append(_event(call_id, created, requested, {"index": 0, "delta": delta}))
    final = {"index": 0, "delta": {}, "finish_reason": "stop"}
    events.append(_event(call_id, created, requested, final))
    events.append("data: [DONE]\n\n")
    return events


def _event(call_id: str, created: int, model: str, choice: dict[str, Any]) -> str:
    chunk = {
        "id": call_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [choice],
    }
    return f"data: {json.dumps(chunk, separators=(',', ':'))}\n\n"
