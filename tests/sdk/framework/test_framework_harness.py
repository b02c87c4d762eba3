"""The in-process host: request flow, statuses, leases with the host's TTL rules, ticks."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from vault_plugin_litellm.sdk.framework import (
    Backend,
    FieldData,
    FieldSchema,
    FieldType,
    Path,
    SecretType,
    generic_name_regex,
)
from vault_plugin_litellm.sdk.framework.testing import BackendHarness, error_status
from vault_plugin_litellm.sdk.logical import (
    BackendConfig,
    BackendType,
    CodedError,
    InvalidRequestError,
    LogicalError,
    Operation,
    PermissionDeniedError,
    Request,
    Response,
    SpecialPaths,
    StaticSystemView,
    UnsupportedOperationError,
    UnsupportedPathError,
    error_response,
    list_response,
)

START = datetime(2030, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


class Scripted:
    """A LogicalBackend written against the protocol directly, answering from a script."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], Any] = {}
        self.seen: list[Request] = []
        self.existence: tuple[bool, bool] | BaseException = (False, False)
        self.cleanups = 0

    async def setup(self, config: BackendConfig) -> None:
        return None

    def backend_type(self) -> BackendType:
        return BackendType.LOGICAL

    def special_paths(self) -> SpecialPaths:
        return SpecialPaths()

    async def initialize(self) -> None:
        return None

    async def handle_request(self, req: Request) -> Response | None:
        self.seen.append(req)
        answer = self.answers.get((req.operation.value, req.path))
        if answer is None and req.operation is Operation.RESOLVE_PATH:
            raise UnsupportedOperationError()
        if isinstance(answer, BaseException):
            raise answer
        return answer

    async def handle_existence_check(self, req: Request) -> tuple[bool, bool]:
        if isinstance(self.existence, BaseException):
            raise self.existence
        return self.existence

    async def invalidate_key(self, key: str) -> None:
        return None

    async def cleanup(self) -> None:
        self.cleanups += 1


async def scripted_harness(**kw: Any) -> tuple[Scripted, BackendHarness]:
    backend = Scripted()
    return backend, await BackendHarness(backend, **kw).start()


@pytest.mark.parametrize(
    ("error", "status", "text"),
    [
        (UnsupportedPathError("whatever"), 404, "unsupported path"),
        (UnsupportedOperationError(), 405, "unsupported operation"),
        (PermissionDeniedError("nope"), 403, "permission denied"),
        (InvalidRequestError("bad"), 400, "invalid request"),
        (CodedError(429, "slow down"), 429, "slow down"),
        (LogicalError("boom"), 500, "boom"),
        (LogicalError("relative paths not supported"), 400, "relative paths not supported"),
        (LogicalError("permission denied"), 403, "permission denied"),
    ],
)
async def test_errors_map_to_host_statuses(error: LogicalError, status: int, text: str) -> None:
    backend, harness = await scripted_harness()
    backend.answers[("read", "x")] = error
    response = await harness.read("x")
    assert (response.status, response.errors) == (status, [text])
    assert error_status(error) == status


async def test_response_statuses() -> None:
    backend, harness = await scripted_harness()
    assert (await harness.read("missing")).status == 404
    assert (await harness.write("missing")).status == 204
    assert (await harness.delete("missing")).status == 204
    backend.answers[("read", "err")] = error_response("bad input")
    response = await harness.read("err")
    assert (response.status, response.errors) == (400, ["bad input"])
    backend.answers[("read", "ok")] = Response(data={"a": 1}, warnings=["w"])
    response = await harness.read("ok")
    assert (response.status, response.data, response.warnings) == (200, {"a": 1}, ["w"])
    backend.answers[("read", "moved")] = Response(redirect="/elsewhere")
    assert (await harness.read("moved")).status == 307


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        (None, 404),
        (list_response([]), 404),
        (Response(data={}), 404),
        (Response(data={}, warnings=["w"]), 200),
        (list_response(["a", "b/"]), 200),
        (Response(data={"keys": [1]}), 500),
        (Response(data={"other": 1}), 200),
    ],
)
async def test_list_statuses_and_trailing_slash(answer: Response | None, status: int) -> None:
    backend, harness = await scripted_harness()
    backend.answers[("list", "roles/")] = answer
    assert (await harness.list("roles")).status == status
    assert backend.seen[-1].path == "roles/"
    assert backend.seen[-1].operation is Operation.LIST


async def test_list_of_the_mount_root_stays_empty() -> None:
    backend, harness = await scripted_harness()
    await harness.list("")
    assert backend.seen[-1].path == ""


async def test_existence_check_picks_create_or_update() -> None:
    backend, harness = await scripted_harness()
    backend.existence = (True, False)
    assert (await harness.write("x")).operation is Operation.CREATE
    backend.existence = (True, True)
    assert (await harness.write("x")).operation is Operation.UPDATE
    backend.existence = (False, False)
    assert (await harness.request("create", "x")).operation is Operation.UPDATE
    backend.existence = LogicalError("broken")
    assert (await harness.write("x")).status == 500
    backend.existence = UnsupportedPathError()
    assert (await harness.write("x")).operation is Operation.UPDATE


async def test_resolve_path_precedes_routed_requests() -> None:
    backend, harness = await scripted_harness()
    await harness.read("a")
    assert [r.operation for r in backend.seen] == [Operation.RESOLVE_PATH, Operation.READ]
    assert backend.seen[0].id == ""  # the host sends resolve-path without a request id
    assert backend.seen[1].id != ""
    backend.seen.clear()
    await harness.help("")
    assert [r.operation for r in backend.seen] == [Operation.HELP]


async def test_a_generic_resolve_path_error_breaks_the_request() -> None:
    backend, harness = await scripted_harness()
    backend.answers[("resolve-path", "a")] = LogicalError("no idea")
    response = await harness.read("a")
    assert response.status == 500
    assert response.errors == ["resolve-path failed: no idea"]


async def test_resolve_path_answer_rewrites_the_path() -> None:
    backend, harness = await scripted_harness()
    backend.answers[("resolve-path", "alias")] = Response(data={"path": "config"})
    backend.answers[("read", "config")] = Response(data={"real": True})
    assert (await harness.read("alias")).data == {"real": True}


async def test_unexpected_exceptions_propagate_or_become_500() -> None:
    backend, harness = await scripted_harness()
    backend.answers[("read", "bug")] = KeyError("oops")
    with pytest.raises(KeyError):
        await harness.read("bug")
    harness.raise_unexpected = False
    assert (await harness.read("bug")).status == 500


class Leasing(Backend):
    """A framework backend issuing "token" leases, to exercise lease handling."""

    def __init__(self) -> None:
        self.revoked: list[str] = []
        self.fail_revoke = False
        token = SecretType("token", revoke=self._revoke, renew=self._renew)
        fixed = SecretType("fixed", revoke=self._revoke)
        name = generic_name_regex("name")
        super().__init__(
            paths=[
                Path(
                    pattern="token/" + name,
                    fields={
                        "name": FieldSchema(FieldType.STRING),
                        "ttl": FieldSchema(FieldType.DURATION_SECOND),
                        "max_ttl": FieldSchema(FieldType.DURATION_SECOND),
                        "renew_ttl": FieldSchema(FieldType.DURATION_SECOND),
                    },
                    operations={Operation.READ: self._issue},
                ),
                Path(pattern="fixed", operations={Operation.READ: self._fixed}),
                Path(pattern="no-issue-time", operations={Operation.READ: self._no_issue_time}),
            ],
            secrets=[token, fixed],
        )

    async def _issue(self, req: Request, data: FieldData) -> Response:
        kind = self.secret("token")
        assert kind is not None
        response = kind.response(
            {"name": data.get_str("name")},
            {"name": data.get_str("name"), "renew_ttl": data.get_int("renew_ttl")},
        )
        assert response.secret is not None
        response.secret.lease_options.ttl = data.get_duration("ttl")
        response.secret.lease_options.max_ttl = data.get_duration("max_ttl")
        return response

    async def _fixed(self, req: Request, data: FieldData) -> Response:
        kind = self.secret("fixed")
        assert kind is not None
        return kind.response({}, {})

    async def _no_issue_time(self, req: Request, data: FieldData) -> Response:
        response = await self._fixed(req, data)
        assert response.secret is not None
        response.secret.lease_options.issue_time = None
        return response

    async def _renew(self, req: Request, data: FieldData) -> Response:
        assert req.secret is not None
        ttl = timedelta(seconds=req.secret.internal_data["renew_ttl"])
        options = dataclasses.replace(req.secret.lease_options, ttl=ttl)
        return Response(
            data=req.data, secret=dataclasses.replace(req.secret, lease_options=options)
        )

    async def _revoke(self, req: Request, data: FieldData) -> None:
        assert req.secret is not None
        if self.fail_revoke:
            raise LogicalError("upstream unavailable")
        self.revoked.append(str(req.secret.internal_data.get("name")))


async def leasing_harness() -> tuple[Leasing, BackendHarness]:
    backend = Leasing()
    system = StaticSystemView(default_ttl=HOUR, max_ttl=4 * HOUR)
    harness = await BackendHarness(backend, system_view=system, clock=lambda: START).start()
    return backend, harness


async def test_lease_registration_applies_mount_defaults_and_caps() -> None:
    _, harness = await leasing_harness()
    default = await harness.read("token/a")
    assert (default.status, default.lease_duration, default.renewable) == (200, 3600, True)
    assert default.lease_id.startswith("test/token/a/")
    capped = await harness.read("token/b", {"ttl": "10h"})
    assert capped.lease_duration == 4 * 3600
    assert capped.warnings == [
        'TTL of "10h" exceeded the effective max_ttl of "4h"; TTL value is capped accordingly'
    ]
    lowered = await harness.read("token/c", {"ttl": "2h", "max_ttl": "90m"})
    assert lowered.lease_duration == 90 * 60


async def test_secret_without_issue_time_is_stamped_as_the_runtime_does() -> None:
    _, harness = await leasing_harness()
    harness.advance(timedelta(minutes=7))
    response = await harness.read("no-issue-time")
    assert (response.status, response.errors) == (200, [])
    assert response.secret is not None
    assert response.secret.lease_options.issue_time == START + timedelta(minutes=7)
    assert harness.leases[response.lease_id].secret.lease_options.issue_time == (
        START + timedelta(minutes=7)
    )


async def test_an_issue_time_the_backend_set_is_kept() -> None:
    _, harness = await leasing_harness()
    response = await harness.read("fixed")
    assert response.secret is not None
    issued = response.secret.lease_options.issue_time
    assert issued is not None
    assert issued != START  # SecretType.response stamps the wall clock, not the harness's


async def test_secret_on_an_unauthenticated_request_is_a_500() -> None:
    _, harness = await leasing_harness()
    assert (await harness.read("fixed", unauthenticated=True)).status == 500


async def test_renewal_follows_the_host_rules() -> None:
    _, harness = await leasing_harness()
    issued = await harness.read("token/a", {"renew_ttl": "30m", "max_ttl": "2h"})
    harness.advance(timedelta(minutes=20))
    renewed = await harness.renew(issued.lease_id)
    assert (renewed.status, renewed.lease_duration) == (200, 1800)
    assert harness.leases[issued.lease_id].renewed
    harness.advance(timedelta(minutes=25))
    with_increment = await harness.renew(issued.lease_id, 3600)  # the increment wins
    assert (with_increment.lease_duration, with_increment.warnings) == (3600, [])
    harness.advance(timedelta(minutes=50))
    capped = await harness.renew(issued.lease_id, 3600)
    assert capped.lease_duration == 25 * 60  # 2h max minus 1h35m elapsed
    assert capped.warnings == [
        'TTL of "1h" exceeded the effective max_ttl of "25m"; TTL value is capped accordingly'
    ]
    harness.advance(timedelta(minutes=25))
    expired = await harness.renew(issued.lease_id)
    assert (expired.status, expired.errors) == (400, ["lease not found"])


async def test_renewal_past_the_max_is_refused() -> None:
    _, harness = await leasing_harness()
    issued = await harness.read("token/a", {"ttl": "2h", "max_ttl": "2h", "renew_ttl": "2h"})
    lease = harness.leases[issued.lease_id]
    lease.expire_time = START + 10 * HOUR  # as if the lease had been extended out of band
    harness.advance(3 * HOUR)
    refused = await harness.renew(issued.lease_id)
    assert (refused.status, refused.errors) == (400, ["past the max TTL, cannot renew"])


async def test_non_renewable_leases() -> None:
    _, harness = await leasing_harness()
    issued = await harness.read("fixed")
    assert issued.renewable is False
    response = await harness.renew(issued.lease_id)
    assert (response.status, response.errors) == (400, ["lease is not renewable"])


async def test_revoke_expire_and_unmount() -> None:
    backend, harness = await leasing_harness()
    first = await harness.read("token/a", {"ttl": "10m"})
    await harness.read("token/b", {"ttl": "2h"})
    await harness.read("token/c", {"ttl": "3h"})
    harness.advance(timedelta(minutes=11))
    results = await harness.expire()
    assert [r.status for r in results] == [204]
    assert backend.revoked == ["a"]
    assert first.lease_id not in harness.leases

    backend.fail_revoke = True
    failing = await harness.revoke(next(iter(harness.leases)))
    assert failing.status == 500
    assert len(harness.leases) == 2

    backend.fail_revoke = False
    await harness.write("token/x")  # leave something in storage
    results = await harness.unmount()
    assert [r.status for r in results] == [204, 204]
    assert sorted(backend.revoked) == ["a", "b", "c"]
    assert harness.leases == {}
    assert harness.storage.keys() == []
    assert isinstance(harness.system_view, StaticSystemView)
    assert harness.system_view.is_tainted


async def test_revoke_with_unsupported_operation_marks_irrevocable() -> None:
    backend, harness = await scripted_harness()
    backend.answers[("read", "x")] = Response(secret=SecretType("k").response({}, {}).secret)
    issued = await harness.read("x")
    backend.answers[("revoke", "x")] = UnsupportedOperationError()
    assert (await harness.revoke(issued.lease_id)).status == 405
    assert harness.leases[issued.lease_id].irrevocable


async def test_unmount_cleans_up_twice() -> None:
    backend, harness = await scripted_harness()
    await harness.unmount()
    assert backend.cleanups == 2


async def test_rollback_tick_and_context_manager() -> None:
    backend = Scripted()
    async with BackendHarness(backend) as harness:
        response = await harness.rollback(immediate=True)
        assert response.status == 204
        assert backend.seen[-1].data == {"immediate": True}
        assert backend.seen[-1].path == ""
    assert backend.cleanups == 1


async def test_factory_classes_and_async_factories_are_accepted() -> None:
    harness = await BackendHarness(Leasing).start()
    assert isinstance(harness.backend, Leasing)

    async def make() -> Leasing:
        return Leasing()

    harness = await BackendHarness(make).start()
    assert isinstance(harness.backend, Leasing)
    with pytest.raises(RuntimeError, match="start"):
        _ = BackendHarness(Leasing).backend
