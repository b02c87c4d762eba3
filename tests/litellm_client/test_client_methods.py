"""Every method, on the sync and the async client: what goes over the wire and what comes back."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st
from litellm_client import (
    AsyncLiteLLMClient,
    BadRequestError,
    GeneratedKey,
    GenerateKeyRequest,
    InvalidDurationError,
    KeyInfo,
    KeyStatus,
    LiteLLMClient,
    PermissionDeniedError,
    RequestValidationError,
    TransportError,
    UnexpectedResponseError,
    UpdateKeyRequest,
    hash_key,
)

if TYPE_CHECKING:
    from tests.litellm_client.conftest import Harness, MakeHarness

RAW = "sk-unit-raw-key-0123456789"
TOKEN = hash_key(RAW)


def sent_json(route: respx.Route, index: int = -1) -> Any:
    return json.loads(route.calls[index].request.content)


def is_client_made(raw: Any) -> bool:
    """A raw key as new_raw_key() makes them: sk- and 32 random bytes, urlsafe base64."""
    return isinstance(raw, str) and raw.startswith("sk-") and len(raw) == 3 + 43


async def test_generate_sends_only_the_given_fields(
    api: Harness, router: respx.MockRouter, samples: dict[str, Any]
) -> None:
    route = router.post("/key/generate").respond(200, json=samples["generated"])
    key = await api.call(
        "generate_key",
        models=["fake-gpt"],
        max_budget=10,
        duration=timedelta(hours=1, microseconds=5),
        budget_duration="30d",
        metadata={"owner": "vault"},
        key_alias="vault-demo",
    )
    sent = sent_json(route)
    assert is_client_made(sent.pop("key"))
    assert sent == {
        "models": ["fake-gpt"],
        "max_budget": 10.0,
        "duration": "3600s",
        "budget_duration": "30d",
        "metadata": {"owner": "vault"},
        "key_alias": "vault-demo",
    }
    request = route.calls.last.request
    assert request.headers["authorization"] == "Bearer sk-admin-unit-test-secret"
    assert request.headers["user-agent"].startswith("litellm-client/")
    assert isinstance(key, GeneratedKey)
    assert key.key == samples["generated"]["key"]
    assert key.token == samples["generated"]["token"]


async def test_generate_with_nothing_sends_only_a_key_the_client_made(
    api: Harness, router: respx.MockRouter, samples: dict[str, Any]
) -> None:
    route = router.post("/key/generate").respond(200, json=samples["generated"])
    await api.call("generate_key")
    await api.call("generate_key", key=None)  # an explicit None is "no key" too
    first, second = sent_json(route, 0), sent_json(route, 1)
    assert set(first) == set(second) == {"key"}
    assert is_client_made(first["key"])
    assert is_client_made(second["key"])
    assert first["key"] != second["key"]


async def test_generate_from_a_request_model_and_extra_body(
    api: Harness, router: respx.MockRouter, samples: dict[str, Any]
) -> None:
    route = router.post("/key/generate").respond(200, json=samples["generated"])
    request = GenerateKeyRequest(models=["fake-gpt"], user_id=None)
    await api.call("generate_key", request, extra_body={"future_field": {"x": 1}, "models": []})
    sent = sent_json(route)
    assert is_client_made(sent.pop("key"))
    assert sent == {"models": [], "user_id": None, "future_field": {"x": 1}}
    # A key in extra_body is the caller's own.
    await api.call("generate_key", extra_body={"key": RAW})
    assert sent_json(route) == {"key": RAW}


async def test_generate_refuses_a_model_and_fields_together(api: Harness) -> None:
    with pytest.raises(TypeError, match="not both"):
        await api.call("generate_key", GenerateKeyRequest(), models=["x"])


async def test_invalid_fields_are_refused_before_sending(
    api: Harness, router: respx.MockRouter
) -> None:
    route = router.post("/key/generate")
    error = await api.fails("generate_key", max_budget="lots", tpm_limit=1.5)
    assert isinstance(error, RequestValidationError)
    assert error.status is None
    assert error.path == "/key/generate"
    assert [d["loc"] for d in error.detail] == [["max_budget"], ["tpm_limit"]]
    assert "max_budget: Input should be a valid number" in str(error)
    unknown = await api.fails("generate_key", max_budgett=1)
    assert isinstance(unknown, RequestValidationError)
    assert "max_budgett" in str(unknown)
    duration = await api.fails("generate_key", duration="1 hour")
    assert isinstance(duration, InvalidDurationError)
    assert str(duration).startswith("POST /key/generate: duration: '1 hour' is not a duration")
    assert not route.called


async def test_update_sends_the_token_the_fields_and_explicit_nulls(
    api: Harness, router: respx.MockRouter, samples: dict[str, Any]
) -> None:
    route = router.post("/key/update").respond(200, json=samples["updated"])
    info = await api.call("update_key", RAW, duration="2h", max_budget=None, metadata=None)
    assert sent_json(route) == {
        "key": TOKEN,
        "duration": "2h",
        "max_budget": None,
        "metadata": None,
    }
    assert isinstance(info, KeyInfo)
    assert info.token == samples["updated"]["token"]
    assert info.expires is not None


async def test_update_from_a_request_model(
    api: Harness, router: respx.MockRouter, samples: dict[str, Any]
) -> None:
    route = router.post("/key/update").respond(200, json=samples["updated"])
    await api.call("update_key", TOKEN, UpdateKeyRequest(blocked=False))
    assert sent_json(route) == {"key": TOKEN, "blocked": False}


async def test_key_info_by_raw_key_asks_by_token(
    api: Harness, router: respx.MockRouter, samples: dict[str, Any]
) -> None:
    route = router.get("/key/info").respond(200, json=samples["info"])
    info = await api.call("key_info", RAW)
    assert route.calls.last.request.url.params["key"] == TOKEN
    assert RAW not in str(route.calls.last.request.url)
    assert info.token == TOKEN
    assert info.status is KeyStatus.ACTIVE
    assert info.key_alias == samples["info"]["info"]["key_alias"]


async def test_key_info_of_a_deleted_key(
    api: Harness, router: respx.MockRouter, samples: dict[str, Any]
) -> None:
    router.get("/key/info").respond(200, json=samples["info_deleted"])
    info = await api.call("key_info", TOKEN)
    assert info.status is KeyStatus.DELETED
    assert info.deleted_at is not None


async def test_delete_by_keys_sends_tokens(api: Harness, router: respx.MockRouter) -> None:
    route = router.post("/key/delete").respond(200, json={"deleted_keys": [TOKEN, "ab" * 32]})
    result = await api.call("delete_keys", [RAW, "ab" * 32])
    assert sent_json(route) == {"keys": [TOKEN, "ab" * 32]}
    assert result.deleted_keys == [TOKEN, "ab" * 32]
    assert not result.none_found


async def test_delete_by_aliases(api: Harness, router: respx.MockRouter) -> None:
    route = router.post("/key/delete").respond(200, json={"deleted_keys": ["a1"]})
    await api.call("delete_keys", key_aliases=["a1"])
    assert sent_json(route) == {"key_aliases": ["a1"]}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({}, ValueError, "pass keys"),
        ({"keys": ["a"], "key_aliases": ["b"]}, ValueError, "not both"),
        ({"keys": []}, ValueError, "non-empty"),
        ({"keys": RAW}, TypeError, "single string"),
        ({"key_aliases": [""]}, ValueError, "non-empty"),
    ],
)
async def test_delete_refuses_ambiguous_arguments(
    api: Harness,
    router: respx.MockRouter,
    kwargs: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    route = router.post("/key/delete")
    with pytest.raises(error, match=match):
        await api.call("delete_keys", **kwargs)
    assert not route.called


def _page(tokens: list[str], page: int, total_pages: int) -> dict[str, Any]:
    return {
        "keys": [{"token": t, "key_alias": f"a-{t}"} for t in tokens],
        "total_count": 99,
        "current_page": page,
        "total_pages": total_pages,
    }


async def test_list_keys_walks_every_page_once(api: Harness, router: respx.MockRouter) -> None:
    route = router.get("/key/list").mock(
        side_effect=[
            httpx.Response(200, json=_page(["t1", "t2"], 1, 3)),
            # A key created meanwhile pushed t2 onto page 2: it must not come twice.
            httpx.Response(200, json=_page(["t2", "t3"], 2, 3)),
            httpx.Response(200, json=_page(["t4"], 3, 3)),
        ]
    )
    keys = await api.list_keys(page_size=2, key_alias="a-", substring_matching=True)
    assert [k.token for k in keys] == ["t1", "t2", "t3", "t4"]
    params = [dict(call.request.url.params) for call in route.calls]
    assert [p["page"] for p in params] == ["1", "2", "3"]
    assert params[0] == {
        "key_alias": "a-",
        "substring_matching": "true",
        "page": "1",
        "size": "2",
        "return_full_object": "true",
    }


async def test_list_keys_stops_on_an_empty_page(api: Harness, router: respx.MockRouter) -> None:
    route = router.get("/key/list").respond(
        200, json={"keys": [], "total_count": 0, "current_page": 1, "total_pages": 0}
    )
    assert await api.list_keys() == []
    assert route.call_count == 1


async def test_list_keys_with_bare_tokens_and_key_hash_filter(
    api: Harness, router: respx.MockRouter, samples: dict[str, Any]
) -> None:
    route = router.get("/key/list").respond(200, json=samples["list_tokens"])
    keys = await api.list_keys(return_full_object=False, key_hash=RAW, status=KeyStatus.DELETED)
    assert [k.token for k in keys] == samples["list_tokens"]["keys"]
    params = route.calls.last.request.url.params
    assert params["key_hash"] == TOKEN
    assert params["status"] == "deleted"
    assert params["return_full_object"] == "false"


async def test_list_keys_page(
    api: Harness, router: respx.MockRouter, samples: dict[str, Any]
) -> None:
    route = router.get("/key/list").respond(200, json=samples["list_full"])
    page = await api.call("list_keys_page", 2, 5, team_id="t")
    assert route.calls.last.request.url.params["page"] == "2"
    assert route.calls.last.request.url.params["size"] == "5"
    assert route.calls.last.request.url.params["team_id"] == "t"
    assert page.keys[0].token == samples["list_full"]["keys"][0]["token"]


@pytest.mark.parametrize(("page", "size"), [(0, 10), (1, 0), (1, 101)])
async def test_list_keys_page_bounds_are_checked_locally(
    api: Harness, router: respx.MockRouter, page: int, size: int
) -> None:
    route = router.get("/key/list")
    with pytest.raises(ValueError, match=r"page|size"):
        await api.call("list_keys_page", page, size)
    assert not route.called


async def test_list_keys_checks_page_size_when_called() -> None:
    # Raised by the call itself, not later at the first iteration.
    with (
        LiteLLMClient("http://proxy.test", "sk-x") as client,
        pytest.raises(ValueError, match="page_size"),
    ):
        client.list_keys(page_size=500)
    async with AsyncLiteLLMClient("http://proxy.test", "sk-x") as aclient:
        with pytest.raises(ValueError, match="page_size"):
            aclient.list_keys(page_size=0)


async def test_regenerate(api: Harness, router: respx.MockRouter, samples: dict[str, Any]) -> None:
    route = router.post("/key/regenerate").respond(200, json=samples["generated"])
    key = await api.call("regenerate_key", RAW, grace_period=timedelta(hours=24), max_budget=5)
    assert sent_json(route) == {"key": TOKEN, "grace_period": "86400s", "max_budget": 5.0}
    assert key.key == samples["generated"]["key"]


@pytest.mark.parametrize(
    ("method", "path", "sample"),
    [
        ("block_key", "/key/block", "blocked"),
        ("unblock_key", "/key/unblock", "unblocked"),
    ],
)
async def test_block_and_unblock(
    api: Harness,
    router: respx.MockRouter,
    samples: dict[str, Any],
    method: str,
    path: str,
    sample: str,
) -> None:
    route = router.post(path).respond(200, json=samples[sample])
    info = await api.call(method, RAW)
    assert sent_json(route) == {"key": TOKEN}
    assert info.blocked is samples[sample]["blocked"]
    assert info.token == samples[sample]["token"]


async def test_health(api: Harness, router: respx.MockRouter, samples: dict[str, Any]) -> None:
    router.get("/health/readiness").respond(200, json=samples["health"])
    health = await api.call("health")
    assert health.healthy
    assert health.db == "connected"


async def test_unreadable_success_is_an_unexpected_response(
    api: Harness, router: respx.MockRouter
) -> None:
    route = router.get("/key/info").respond(200, text="<html>login</html>")
    error = await api.fails("key_info", TOKEN)
    assert type(error).__name__ == "UnexpectedResponseError"
    assert error.status == 200
    assert route.call_count == 1


async def test_generate_answer_missing_the_token_never_echoes_the_raw_key(
    api: Harness, router: respx.MockRouter
) -> None:
    router.post("/key/generate").respond(200, json={"key": RAW})
    router.get("/key/info").respond(
        404, json={"error": {"message": "Key not found", "param": "key", "code": "404"}}
    )
    error = await api.fails("generate_key")
    assert "token: Field required" in str(error)
    assert RAW not in str(error)
    assert RAW not in repr(error.__cause__)


async def test_base_url_path_prefix_and_extra_headers(
    make_api: MakeHarness, samples: dict[str, Any]
) -> None:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.get("http://litellm.test:4000/litellm/health/readiness").respond(
            200, json=samples["health"]
        )
        harness = make_api(
            base_url="http://litellm.test:4000/litellm/", headers={"litellm-changed-by": "vault"}
        )
        await harness.call("health")
        headers = route.calls.last.request.headers
        assert headers["litellm-changed-by"] == "vault"
        assert headers.get_list("authorization") == ["Bearer sk-admin-unit-test-secret"]


@pytest.mark.parametrize(
    "base_url", ["127.0.0.1:4000", "ftp://proxy", "", "http://", "http://[::1", "http://a:b:c"]
)
def test_base_url_must_be_http(base_url: str) -> None:
    with pytest.raises(ValueError, match=r"^base_url: expected an http"):
        LiteLLMClient(base_url, "sk-x")
    with pytest.raises(ValueError, match=r"^base_url: expected an http"):
        AsyncLiteLLMClient(base_url, "sk-x")


@pytest.mark.parametrize(
    ("api_key", "problem"),
    [
        ("sk-admin-key-from-a-file\n", "whitespace"),
        ("  sk-admin-key-padded  ", "whitespace"),
        ("sk-admin key-with-space", "whitespace"),
        ("sk-admin\tkey", "whitespace"),
        ("sk-admin-k\u00e9y-accented", "not visible ASCII"),
        ("sk-admin-key\x00nul", "not visible ASCII"),
    ],
)
def test_api_key_must_be_visible_ascii_and_is_never_echoed(api_key: str, problem: str) -> None:
    for client in (LiteLLMClient, AsyncLiteLLMClient):
        with pytest.raises(ValueError, match=f"^api_key: .*{problem}") as caught:
            client("http://proxy.test", api_key)
        assert "admin" not in str(caught.value).replace("proxy_admin", "")
        assert api_key.strip() not in str(caught.value)


@given(st.text(min_size=1, max_size=40).map(lambda tail: "sk-" + tail))
def test_any_api_key_is_accepted_or_refused_without_echo(api_key: str) -> None:
    if all("!" <= c <= "~" for c in api_key):
        LiteLLMClient("http://proxy.test", api_key).close()
        return
    with pytest.raises(ValueError, match=r"^api_key: ") as caught:
        LiteLLMClient("http://proxy.test", api_key)
    assert "sk-" not in str(caught.value)


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "authorization",
        "x-litellm-api-key",
        "X-LiteLLM-API-Key",
        "API-Key",
        "x-api-key",
        "x-goog-api-key",
        "Ocp-Apim-Subscription-Key",
    ],
)
def test_credential_headers_are_refused(name: str) -> None:
    # x-litellm-api-key is read before Authorization: it would silently replace the admin key.
    for client in (LiteLLMClient, AsyncLiteLLMClient):
        with pytest.raises(ValueError, match=f"^headers: '{name}' carries a credential") as caught:
            client("http://proxy.test", "sk-x", headers={name: "sk-other-credential"})
        assert "sk-other-credential" not in str(caught.value)


@pytest.mark.parametrize(
    ("headers", "match"),
    [
        ({"x-note": "line\r\nbreak"}, "value of 'x-note'"),
        ({"x-note": " padded"}, "value of 'x-note'"),
        ({"x-note": "caf\u00e9"}, "value of 'x-note'"),
        ({"x note": "v"}, "'x note' is not a valid header name"),
        ({"": "v"}, "'' is not a valid header name"),
    ],
)
def test_malformed_extra_headers_are_refused_up_front(headers: dict[str, str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        LiteLLMClient("http://proxy.test", "sk-x", headers=headers)


def test_api_key_and_max_retries_are_checked() -> None:
    with pytest.raises(ValueError, match="api_key"):
        LiteLLMClient("http://proxy.test", "")
    with pytest.raises(ValueError, match="max_retries"):
        AsyncLiteLLMClient("http://proxy.test", "sk-x", max_retries=-1)


def test_injected_http_client_is_used_and_left_open(samples: dict[str, Any]) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=samples["health"]))
    http = httpx.Client(transport=transport)
    with LiteLLMClient("http://proxy.test", "sk-x", http_client=http) as client:
        assert client.health().healthy
    assert not http.is_closed
    http.close()


async def test_injected_async_http_client_is_left_open(samples: dict[str, Any]) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=samples["health"]))
    http = httpx.AsyncClient(transport=transport)
    async with AsyncLiteLLMClient("http://proxy.test", "sk-x", http_client=http) as client:
        assert (await client.health()).healthy
    assert not http.is_closed
    await http.aclose()


async def test_owned_http_clients_are_closed_by_the_context_managers() -> None:
    with LiteLLMClient("http://proxy.test", "sk-x") as client:
        pass
    assert client._http.is_closed
    async with AsyncLiteLLMClient("http://proxy.test", "sk-x") as aclient:
        pass
    assert aclient._http.is_closed


async def test_list_search_by_raw_key_sends_its_token(
    api: Harness, router: respx.MockRouter, samples: dict[str, Any]
) -> None:
    route = router.get("/key/list").respond(200, json=samples["list_full"])
    await api.call("list_keys_page", search=RAW)
    url = route.calls.last.request.url
    assert url.params["search"] == TOKEN
    assert RAW not in str(url)
    await api.list_keys(search="vault-db")  # an alias fragment goes out as given
    assert route.calls.last.request.url.params["search"] == "vault-db"


async def test_undecodable_answers_are_transport_errors(
    api: Harness, router: respx.MockRouter
) -> None:
    def corrupt(request: httpx.Request) -> httpx.Response:
        # A stream, so that httpx decodes it on reading, as it would a real answer.
        return httpx.Response(
            200, headers={"content-encoding": "gzip"}, stream=httpx.ByteStream(b"not gzip")
        )

    route = router.get("/key/info").mock(side_effect=corrupt)
    error = await api.fails("key_info", TOKEN)
    assert isinstance(error, TransportError)
    assert "DecodingError" in str(error)
    assert error.maybe_processed
    assert route.call_count == 3  # an idempotent call: retried like any network failure


async def test_redirect_loops_are_unexpected_responses_never_retried(
    api: Harness, router: respx.MockRouter
) -> None:
    route = router.post("/key/block").mock(
        side_effect=httpx.TooManyRedirects("Exceeded maximum allowed redirects.")
    )
    error = await api.fails("block_key", TOKEN)
    assert isinstance(error, UnexpectedResponseError)
    assert "TooManyRedirects" in str(error)
    assert route.call_count == 1


def test_a_real_redirect_loop_from_a_redirect_following_http_client() -> None:
    def loop(request: httpx.Request) -> httpx.Response:
        return httpx.Response(307, headers={"location": str(request.url)})

    http = httpx.Client(transport=httpx.MockTransport(loop), follow_redirects=True)
    with (
        LiteLLMClient("http://proxy.test", "sk-x", http_client=http) as client,
        pytest.raises(UnexpectedResponseError, match="TooManyRedirects"),
    ):
        client.health()
    http.close()


async def test_a_url_too_long_to_send_is_refused_before_sending(
    api: Harness, router: respx.MockRouter
) -> None:
    route = router.get("/key/list")
    error = await api.fails("list_keys_page", key_alias="a" * 70_000)
    assert isinstance(error, BadRequestError)
    assert error.status is None
    assert not error.maybe_processed
    assert "not sent" in str(error)
    assert error.attempts == 1
    assert not route.called


async def test_an_http_client_carrying_a_credential_header_is_refused(
    samples: dict[str, Any],
) -> None:
    with httpx.Client(headers={"X-LiteLLM-Api-Key": "sk-other-credential"}) as http:
        with pytest.raises(ValueError, match=r"^http_client: .*x-litellm-api-key") as caught:
            LiteLLMClient("http://proxy.test", "sk-x", http_client=http)
        assert "sk-other-credential" not in str(caught.value)
    async with httpx.AsyncClient(headers={"x-api-key": "sk-other"}) as ahttp:
        with pytest.raises(ValueError, match=r"^http_client: .*x-api-key"):
            AsyncLiteLLMClient("http://proxy.test", "sk-x", http_client=ahttp)
    # A default Authorization is replaced by the client's own on every request.
    seen: list[list[str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get_list("authorization"))
        return httpx.Response(200, json=samples["health"])

    transport = httpx.MockTransport(answer)
    with (
        httpx.Client(headers={"Authorization": "Bearer sk-other"}, transport=transport) as http,
        LiteLLMClient("http://proxy.test", "sk-admin", http_client=http) as client,
    ):
        client.health()
    assert seen == [["Bearer sk-admin"]]


def _bulk_update_answer(status: int, body: Any) -> tuple[LiteLLMClient, list[Any]]:
    sent: list[Any] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append((request.method, request.url.path, json.loads(request.content)))
        return httpx.Response(status, json=body)

    http = httpx.Client(transport=httpx.MockTransport(answer))
    return LiteLLMClient("http://proxy.test", "sk-x", http_client=http), sent


def test_check_admin_accepts_the_admin_only_refusal_of_an_empty_bulk_update() -> None:
    client, sent = _bulk_update_answer(400, {"detail": {"error": "No keys provided for update"}})
    client.check_admin()  # returns: the credential is a proxy admin
    assert sent == [("POST", "/key/bulk_update", {"keys": []})]


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (403, {"detail": "Only proxy admins can perform bulk key updates"}, PermissionDeniedError),
        (
            401,
            {
                "error": {
                    "message": "Authentication Error, Only proxy admin can be used to generate, "
                    "delete, update info for new keys/users/teams. Route=/key/bulk_update.",
                    "type": "auth_error",
                    "param": "None",
                    "code": "401",
                }
            },
            PermissionDeniedError,
        ),
        (400, {"detail": {"error": "something else entirely"}}, BadRequestError),
    ],
)
def test_check_admin_raises_for_anything_but_that_refusal(
    status: int, body: Any, error: type[Exception]
) -> None:
    client, _ = _bulk_update_answer(status, body)
    with pytest.raises(error):
        client.check_admin()


def test_check_admin_refuses_to_guess_when_an_empty_bulk_update_succeeds() -> None:
    client, _ = _bulk_update_answer(200, {"total_requested": 0})
    with pytest.raises(UnexpectedResponseError) as caught:
        client.check_admin()
    assert caught.value.status == 200  # an answer came: not a network failure
    assert not caught.value.maybe_processed
