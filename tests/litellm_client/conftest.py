"""Fixtures for the litellm-client tests.

Unit tests drive both clients through one :class:`Harness`, so every behaviour is checked on the
sync and the async path without writing the test twice. Live fixtures (used only by ``live/``)
are here too, because mypy needs a single ``conftest`` module for this tree.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Unpack

import httpx
import pytest
import respx
from litellm_client import (
    AsyncLiteLLMClient,
    Backoff,
    GeneratedKey,
    GenerateKeyParams,
    KeyInfo,
    LiteLLMClient,
    LiteLLMError,
    error_from_response,
)

BASE_URL = "http://litellm.test:4000"
API_KEY = "sk-admin-unit-test-secret"


@pytest.fixture(scope="session")
def samples() -> dict[str, Any]:
    """Bodies recorded from the real LiteLLM 1.106.12 proxy (see samples.json)."""
    data: dict[str, Any] = json.loads((Path(__file__).parent / "samples.json").read_text())
    return data


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        yield mock


@dataclass
class Harness:
    """One client, sync or async, behind a single awaitable interface."""

    kind: str
    sync: LiteLLMClient | None = None
    aio: AsyncLiteLLMClient | None = None
    sleeps: list[float] = field(default_factory=list)

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.sync is not None:
            return getattr(self.sync, name)(*args, **kwargs)
        assert self.aio is not None
        return await getattr(self.aio, name)(*args, **kwargs)

    async def list_keys(self, **kwargs: Any) -> list[KeyInfo]:
        if self.sync is not None:
            return list(self.sync.list_keys(**kwargs))
        assert self.aio is not None
        return [key async for key in self.aio.list_keys(**kwargs)]

    async def fails(self, name: str, *args: Any, **kwargs: Any) -> LiteLLMError:
        with pytest.raises(LiteLLMError) as caught:
            await self.call(name, *args, **kwargs)
        return caught.value

    async def close(self) -> None:
        if self.sync is not None:
            self.sync.close()
        if self.aio is not None:
            await self.aio.aclose()


MakeHarness = Callable[..., Harness]


@pytest.fixture(params=["sync", "async"])
async def make_api(request: pytest.FixtureRequest) -> AsyncIterator[MakeHarness]:
    """Factory of harnesses of one kind; sleeps are recorded, never slept."""
    made: list[Harness] = []

    def make(base_url: str = BASE_URL, **options: Any) -> Harness:
        options.setdefault("backoff", Backoff(jitter=0))
        harness = Harness(kind=request.param)
        if request.param == "sync":
            harness.sync = LiteLLMClient(base_url, API_KEY, sleep=harness.sleeps.append, **options)
        else:

            async def record(seconds: float) -> None:
                harness.sleeps.append(seconds)

            harness.aio = AsyncLiteLLMClient(base_url, API_KEY, sleep=record, **options)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        await harness.close()


@pytest.fixture
def api(make_api: MakeHarness) -> Harness:
    return make_api()


# --- live fixtures (tests/litellm_client/live) ------------------------------------------------


@dataclass(frozen=True)
class LiveProxy:
    url: str
    master_key: str


STANDIN_ENV = "LITELLM_STANDIN"


def _standin_requested() -> bool:
    return os.environ.get(STANDIN_ENV, "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def live_proxy() -> Iterator[LiveProxy]:
    """The proxy from LITELLM_URL / LITELLM_MASTER_KEY; fails (never skips) without it.

    Without LITELLM_URL but with LITELLM_STANDIN=1, the suite runs against the in-project
    stand-in (tests.support.litellm_standin), started for the session (with LITELLM_MASTER_KEY
    if set).
    A given LITELLM_URL always wins: a configured real proxy is never replaced by the stand-in.
    """
    url = os.environ.get("LITELLM_URL", "")
    master_key = os.environ.get("LITELLM_MASTER_KEY", "")
    if not url and _standin_requested():
        from tests.support.litellm_standin import StandIn

        with StandIn(master_key=master_key or None) as standin:
            yield LiveProxy(url=standin.url, master_key=standin.master_key)
        return
    missing = [
        name
        for name, value in (("LITELLM_URL", url), ("LITELLM_MASTER_KEY", master_key))
        if not value
    ]
    if missing:
        pytest.fail(
            f"live tests need a real LiteLLM proxy: set {' and '.join(missing)} "
            "(e.g. LITELLM_URL=http://127.0.0.1:4000 LITELLM_MASTER_KEY=sk-...), "
            f"or {STANDIN_ENV}=1 without LITELLM_URL for the in-project stand-in",
            pytrace=False,
        )
    try:
        answer = httpx.get(f"{url.rstrip('/')}/health/readiness", timeout=10)
    except httpx.HTTPError as exc:
        pytest.fail(f"LiteLLM proxy at {url} is unreachable: {exc!r}", pytrace=False)
    if answer.status_code != 200:
        pytest.fail(
            f"LiteLLM proxy at {url} is not ready: HTTP {answer.status_code} {answer.text[:200]}",
            pytrace=False,
        )
    yield LiveProxy(url=url, master_key=master_key)


@dataclass
class CreatedKeys:
    """Tokens and the alias prefix of every key the live run creates, for the final clean-up."""

    prefix: str
    tokens: set[str] = field(default_factory=set)

    def alias(self, label: str = "k") -> str:
        return f"{self.prefix}{label}-{uuid.uuid4().hex[:8]}"

    def mint(
        self, client: LiteLLMClient, label: str, **fields: Unpack[GenerateKeyParams]
    ) -> tuple[str, GeneratedKey]:
        """Generate a key with a unique alias, registered for clean-up: (raw key, answer)."""
        fields.setdefault("key_alias", self.alias(label))
        return self._keep(client.generate_key(**fields))

    async def amint(
        self, client: AsyncLiteLLMClient, label: str, **fields: Unpack[GenerateKeyParams]
    ) -> tuple[str, GeneratedKey]:
        fields.setdefault("key_alias", self.alias(label))
        return self._keep(await client.generate_key(**fields))

    def _keep(self, key: GeneratedKey) -> tuple[str, GeneratedKey]:
        self.tokens.add(key.token)
        assert key.key is not None
        return key.key, key


@pytest.fixture(scope="session")
def live_client(live_proxy: LiveProxy) -> Iterator[LiteLLMClient]:
    with LiteLLMClient(live_proxy.url, live_proxy.master_key, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def created(live_client: LiteLLMClient) -> Iterator[CreatedKeys]:
    keys = CreatedKeys(prefix=f"lc-test-{uuid.uuid4().hex[:8]}-")
    yield keys
    # Also sweep by alias prefix: keys minted by attempts whose answers a test dropped.
    swept = {k.token for k in live_client.list_keys(key_alias=keys.prefix, substring_matching=True)}
    leftovers = sorted(t for t in keys.tokens | swept if t)
    if leftovers:
        live_client.delete_keys(leftovers, missing_ok=True)


@pytest.fixture
async def live_async(live_proxy: LiveProxy) -> AsyncIterator[AsyncLiteLLMClient]:
    async with AsyncLiteLLMClient(live_proxy.url, live_proxy.master_key, timeout=30) as client:
        yield client


@dataclass
class Chat:
    """``/chat/completions`` calls made with plain httpx, as a key holder would make them."""

    http: httpx.Client

    def send(self, raw_key: str, model: str) -> httpx.Response:
        return self.http.post(
            "/chat/completions",
            headers={"Authorization": f"Bearer {raw_key}"},
            json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
        )

    def refusal(self, raw_key: str, model: str) -> LiteLLMError:
        """The client's classification of a refused call (fails the test if it succeeded)."""
        response = self.send(raw_key, model)
        assert not response.is_success, f"expected a refusal, got {response.status_code}"
        return error_from_response(response)


@pytest.fixture(scope="session")
def chat(live_proxy: LiveProxy) -> Iterator[Chat]:
    with httpx.Client(base_url=live_proxy.url, timeout=30) as http:
        yield Chat(http)


class LosingTransport(httpx.BaseTransport):
    """Sends requests to the real proxy, then drops the answers of the first ``n`` calls to a path.

    This is the ambiguous failure retries must handle: the proxy did the work, the client never
    heard about it. With ``successes_only``, refusals pass and only 2xx answers are dropped.
    """

    def __init__(self, lose: dict[str, int], *, successes_only: bool = False) -> None:
        self._inner = httpx.HTTPTransport()
        self._lose = dict(lose)
        self._successes_only = successes_only
        self.sent: list[str] = []
        self.statuses: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        self.sent.append(request.url.path)
        self.statuses.append(response.status_code)
        eligible = response.is_success or not self._successes_only
        if eligible and self._lose.get(request.url.path, 0) > 0:
            self._lose[request.url.path] -= 1
            response.read()
            response.close()
            raise httpx.ReadTimeout("answer dropped by the test transport", request=request)
        return response

    def close(self) -> None:
        self._inner.close()


class LateFirstTransport(httpx.BaseTransport):
    """Holds back the first request to ``path`` and times it out, then sends it late.

    The held request goes out together with the next request to the same path (the client's
    retry), so the two reach the proxy at about the same time: the lost attempt that lands after
    all, racing the retry.
    """

    def __init__(self, path: str) -> None:
        self._inner = httpx.HTTPTransport()
        self._path = path
        self._release = threading.Event()
        self._late: threading.Thread | None = None
        self.bodies: list[bytes] = []
        self.late_status: int | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == self._path:
            self.bodies.append(request.read())
            if self._late is None:
                self._late = threading.Thread(target=self._send_late, args=(request,))
                self._late.start()
                raise httpx.ReadTimeout("held back by the test transport", request=request)
            self._release.set()
        return self._inner.handle_request(request)

    def _send_late(self, request: httpx.Request) -> None:
        self._release.wait(timeout=30)
        with httpx.Client(timeout=30) as http:
            late = http.send(
                http.build_request(
                    request.method, request.url, headers=request.headers, content=request.content
                )
            )
        self.late_status = late.status_code

    def join(self) -> None:
        """Wait for the held request's answer (released now if no retry came)."""
        self._release.set()
        if self._late is not None:
            self._late.join(timeout=60)

    def close(self) -> None:
        self.join()
        self._inner.close()


LossyClient = Callable[..., tuple[LiteLLMClient, LosingTransport]]


@contextmanager
def _lossy_clients(proxy: LiveProxy) -> Iterator[LossyClient]:
    opened: list[LiteLLMClient] = []

    def make(
        lose: dict[str, int], *, successes_only: bool = False
    ) -> tuple[LiteLLMClient, LosingTransport]:
        transport = LosingTransport(lose, successes_only=successes_only)
        client = LiteLLMClient(
            proxy.url,
            proxy.master_key,
            http_client=httpx.Client(transport=transport, timeout=30),
            backoff=Backoff(initial=0.05, maximum=0.2),
        )
        opened.append(client)
        return client, transport

    try:
        yield make
    finally:
        for client in opened:
            client._http.close()


@pytest.fixture
def lossy_client(live_proxy: LiveProxy) -> Iterator[LossyClient]:
    """``lossy_client({"/key/generate": 1})``: a client whose first generate answer is lost."""
    with _lossy_clients(live_proxy) as make:
        yield make


@pytest.fixture
def no_custom_keys_proxy() -> Iterator[LiveProxy]:
    """The in-project stand-in set up as general_settings.disable_custom_api_keys sets a proxy.

    The live proxy's settings are not the tests' to change; the 403 the stand-in answers is the
    one a real 1.106.12 proxy so configured gave.
    """
    from tests.support.litellm_standin import StandIn

    with StandIn(disable_custom_api_keys=True) as standin:
        yield LiveProxy(url=standin.url, master_key=standin.master_key)


@pytest.fixture
def strict_lossy_client(no_custom_keys_proxy: LiveProxy) -> Iterator[LossyClient]:
    """Like ``lossy_client``, against a proxy that refuses custom keys."""
    with _lossy_clients(no_custom_keys_proxy) as make:
        yield make


LateClient = Callable[[], tuple[LiteLLMClient, LateFirstTransport]]


@pytest.fixture
def late_first_client(live_proxy: LiveProxy) -> Iterator[LateClient]:
    """``late_first_client()``: a client whose first generate reaches the proxy with its retry."""
    opened: list[tuple[LiteLLMClient, LateFirstTransport]] = []

    def make() -> tuple[LiteLLMClient, LateFirstTransport]:
        transport = LateFirstTransport("/key/generate")
        client = LiteLLMClient(
            live_proxy.url,
            live_proxy.master_key,
            http_client=httpx.Client(transport=transport, timeout=30),
            backoff=Backoff(initial=0, jitter=0),
        )
        opened.append((client, transport))
        return client, transport

    yield make
    for client, transport in opened:
        client._http.close()
        transport.close()
