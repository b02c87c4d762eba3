"""Backend dispatch: routing errors, resolve-path, validation, warnings, existence checks,
help, renew/revoke by secret type, rollback ticks and lifecycle hooks."""

from __future__ import annotations

import copy
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from vault_plugin_litellm.sdk.framework import (
    Backend,
    FieldData,
    FieldSchema,
    FieldType,
    Path,
    PathOperation,
    RequestExample,
    SecretType,
    generic_name_regex,
    openapi,
    put_wal,
)
from vault_plugin_litellm.sdk.framework import backend as backend_module
from vault_plugin_litellm.sdk.logical import (
    READ_ONLY_STORAGE,
    BackendConfig,
    ErrType,
    InMemoryStorage,
    LogicalError,
    Operation,
    PluginEnvironment,
    Request,
    Response,
    Secret,
    SpecialPaths,
    StaticSystemView,
    Storage,
    UnsupportedOperationError,
    UnsupportedPathError,
    UserError,
    utcnow,
)

SHARED = Response(data={"shared": True})


class Recorder:
    """A backend's side of the test: handlers that record what they were given."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Request, FieldData]] = []
        self.existing: set[str] = set()
        self.ticks = 0
        self.rolled_back: list[tuple[str, Any]] = []
        self.cleanups = 0
        self.invalidated: list[str] = []
        self.initialized_with: Storage | None = None
        self.fail_periodic = False

    async def item(self, req: Request, data: FieldData) -> Response:
        self.calls.append(("item", req, data))
        return Response(data={"name": data.get_str("name"), "count": data.get_int("count")})

    async def item_write(self, req: Request, data: FieldData) -> None:
        self.calls.append((req.operation.value, req, data))
        self.existing.add(data.get_str("name"))

    async def exists(self, req: Request, data: FieldData) -> bool:
        return data.get_str("name") in self.existing

    async def echo(self, req: Request, data: FieldData) -> Response:
        return Response(data=dict(data.raw))

    async def shared(self, req: Request, data: FieldData) -> Response:
        return SHARED

    async def custom_help(self, req: Request, data: FieldData) -> Response:
        return Response(data={"help": "custom", "openapi": {}})

    async def renew(self, req: Request, data: FieldData) -> Response:
        self.calls.append(("renew", req, data))
        assert req.secret is not None
        return Response(secret=req.secret)

    async def revoke(self, req: Request, data: FieldData) -> None:
        self.calls.append(("revoke", req, data))

    async def periodic(self, req: Request) -> None:
        self.ticks += 1
        if self.fail_periodic:
            raise LogicalError("periodic went wrong")

    async def rollback(self, req: Request, kind: str, data: Any) -> None:
        if kind == "bad":
            raise ValueError("cannot undo")
        self.rolled_back.append((kind, data))

    async def clean(self) -> None:
        self.cleanups += 1

    async def invalidate(self, key: str) -> None:
        self.invalidated.append(key)

    async def initialize(self, storage: Storage) -> None:
        self.initialized_with = storage


def make_backend(recorder: Recorder, **overrides: Any) -> Backend:
    name = generic_name_regex("name")
    item_fields = {
        "name": FieldSchema(FieldType.STRING, "The name."),
        "count": FieldSchema(FieldType.INT, "A count.", default=1),
        "tags": FieldSchema(FieldType.COMMA_STRING_SLICE, "Tags."),
    }
    options: dict[str, Any] = {
        "help_text": "A test backend.",
        "paths": [
            Path(
                pattern="items/" + name,
                fields=item_fields,
                operations={
                    Operation.READ: recorder.item,
                    Operation.CREATE: recorder.item_write,
                    Operation.UPDATE: recorder.item_write,
                },
                existence_check=recorder.exists,
                help_synopsis="One item.",
            ),
            Path(
                pattern="echo",
                fields={"a": FieldSchema(FieldType.INT)},
                operations={Operation.UPDATE: recorder.echo},
            ),
            Path(
                pattern="raw",
                fields={"a": FieldSchema(FieldType.INT)},
                operations={Operation.UPDATE: recorder.echo},
                takes_arbitrary_input=True,
            ),
            Path(
                pattern="shared/" + name,
                fields={"name": FieldSchema(FieldType.STRING)},
                operations={Operation.READ: recorder.shared},
            ),
            Path(pattern="custom-help", operations={Operation.HELP: recorder.custom_help}),
            Path(
                pattern="forwarded",
                operations={
                    Operation.UPDATE: PathOperation(
                        recorder.echo,
                        forward_performance_standby=True,
                        forward_performance_secondary=True,
                    )
                },
            ),
        ],
        "secrets": [
            SecretType(
                "thing",
                revoke=recorder.revoke,
                renew=recorder.renew,
                fields={"extra": FieldSchema(FieldType.INT)},
            ),
            SecretType("fixed", revoke=recorder.revoke),
        ],
        "special_paths": SpecialPaths(root=["items/*"], seal_wrap_storage=["config"]),
        "periodic": recorder.periodic,
        "wal_rollback": recorder.rollback,
        "wal_rollback_min_age": timedelta(seconds=30),
        "clean": recorder.clean,
        "invalidate": recorder.invalidate,
        "initialize": recorder.initialize,
    }
    options.update(overrides)
    return Backend(**options)


def req(operation: Operation, path: str, data: dict[str, Any] | None = None, **kw: Any) -> Request:
    return Request(
        operation=operation,
        path=path,
        data=data or {},
        storage=kw.pop("storage", InMemoryStorage()),
        **kw,
    )


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def backend(recorder: Recorder) -> Backend:
    return make_backend(recorder)


async def test_resolve_path_is_always_unsupported_operation(backend: Backend) -> None:
    for path in ("items/a", "nowhere", ""):
        with pytest.raises(UnsupportedOperationError) as caught:
            await backend.handle_request(req(Operation.RESOLVE_PATH, path, {"count": "abc"}))
        assert caught.value.err_type is ErrType.UNSUPPORTED_OPERATION


async def test_unknown_path_and_missing_handler(backend: Backend) -> None:
    with pytest.raises(UnsupportedPathError):
        await backend.handle_request(req(Operation.READ, "nowhere"))
    with pytest.raises(UnsupportedOperationError):
        await backend.handle_request(req(Operation.DELETE, "items/a"))


async def test_captures_reach_the_handler_and_defaults_apply(
    backend: Backend, recorder: Recorder
) -> None:
    response = await backend.handle_request(req(Operation.READ, "items/a-1"))
    assert response is not None
    assert response.data == {"name": "a-1", "count": 1}


async def test_bad_field_is_a_400_error_response_naming_the_field(backend: Backend) -> None:
    response = await backend.handle_request(req(Operation.READ, "items/a", {"count": "abc"}))
    assert response is not None
    assert response.is_error()
    assert response.data is not None
    assert response.data["error"].startswith(
        'Field validation failed: error converting input for field "count": "abc" is not an integer'
    )


async def test_ignored_and_replaced_warnings_use_go_wording(backend: Backend) -> None:
    response = await backend.handle_request(
        req(Operation.READ, "items/a", {"zeta": 1, "alpha": 2, "name": "other", "count": "3"})
    )
    assert response is not None
    assert response.data == {"name": "a", "count": 3}
    assert response.warnings == [
        "Endpoint ignored these unrecognized parameters: [alpha zeta]",
        "Endpoint replaced the value of these parameters with the values captured from the "
        "endpoint's path: [name]",
    ]


async def test_null_body_value_is_replaced_without_warning(backend: Backend) -> None:
    response = await backend.handle_request(req(Operation.READ, "items/a", {"name": None}))
    assert response is not None
    assert response.warnings == []


async def test_no_ignored_warning_for_arbitrary_input(backend: Backend) -> None:
    response = await backend.handle_request(req(Operation.UPDATE, "raw", {"a": 1, "b": 2}))
    assert response is not None
    assert response.warnings == []
    assert response.data == {"a": 1, "b": 2}


async def test_warnings_do_not_mutate_a_shared_response(backend: Backend) -> None:
    response = await backend.handle_request(req(Operation.READ, "shared/x", {"junk": 1}))
    assert response is not None
    assert response.warnings == ["Endpoint ignored these unrecognized parameters: [junk]"]
    assert SHARED.warnings == []


async def test_help_skips_validation_and_works_without_a_handler(backend: Backend) -> None:
    response = await backend.handle_request(req(Operation.HELP, "items/a", {"count": "abc"}))
    assert response is not None
    assert response.data is not None
    assert set(response.data) == {"help", "see_also", "openapi"}
    assert "Matching Route: ^items/" in response.data["help"]
    custom = await backend.handle_request(req(Operation.HELP, "custom-help"))
    assert custom is not None
    assert custom.data == {"help": "custom", "openapi": {}}


async def test_help_on_an_unknown_path_is_unsupported_path(backend: Backend) -> None:
    with pytest.raises(UnsupportedPathError):
        await backend.handle_request(req(Operation.HELP, "nowhere"))


async def test_existence_check(backend: Backend, recorder: Recorder) -> None:
    assert await backend.handle_existence_check(req(Operation.UPDATE, "items/a")) == (True, False)
    recorder.existing.add("a")
    assert await backend.handle_existence_check(req(Operation.UPDATE, "items/a")) == (True, True)
    assert await backend.handle_existence_check(req(Operation.UPDATE, "echo")) == (False, False)
    with pytest.raises(UnsupportedPathError):
        await backend.handle_existence_check(req(Operation.UPDATE, "nowhere"))
    with pytest.raises(LogicalError, match="incorrect operation type read"):
        await backend.handle_existence_check(req(Operation.READ, "items/a"))


async def test_existence_check_validation_failure_is_a_user_error(backend: Backend) -> None:
    with pytest.raises(UserError) as caught:
        await backend.handle_existence_check(req(Operation.UPDATE, "items/a", {"count": "x"}))
    assert caught.value.message.startswith('error converting input for field "count"')


def _secret(internal: dict[str, Any]) -> Secret:
    return Secret(internal_data=internal)


@pytest.mark.parametrize("operation", [Operation.RENEW, Operation.REVOKE])
@pytest.mark.parametrize("internal", [{}, {"secret_type": "unknown"}, {"secret_type": 5}])
async def test_unknown_secret_type_is_unsupported(
    backend: Backend, operation: Operation, internal: dict[str, Any]
) -> None:
    with pytest.raises(LogicalError) as caught:
        await backend.handle_request(req(operation, "items/a", secret=_secret(internal)))
    assert caught.value.message == "secret is unsupported by this backend"
    assert caught.value.err_type is ErrType.UNKNOWN


async def test_renew_without_secret(backend: Backend) -> None:
    with pytest.raises(LogicalError, match="request has no secret"):
        await backend.handle_request(req(Operation.RENEW, "items/a"))


async def test_renew_and_revoke_dispatch_on_secret_type(
    backend: Backend, recorder: Recorder
) -> None:
    secret = _secret({"secret_type": "thing", "id": "1"})
    renewed = await backend.handle_request(
        req(Operation.RENEW, "items/a", {"extra": "7"}, secret=secret)
    )
    assert renewed is not None
    assert renewed.secret is secret
    kind, _, data = recorder.calls[-1]
    assert kind == "renew"
    assert data.get_int("extra") == 7
    await backend.handle_request(req(Operation.REVOKE, "items/a", secret=secret))
    assert recorder.calls[-1][0] == "revoke"


async def test_renewing_a_non_renewable_kind_is_unsupported(backend: Backend) -> None:
    with pytest.raises(UnsupportedOperationError):
        await backend.handle_request(
            req(Operation.RENEW, "x", secret=_secret({"secret_type": "fixed"}))
        )


def test_secret_type_response_records_the_kind_and_issue_time() -> None:
    async def revoke(req: Request, data: FieldData) -> None:
        return None

    kind = SecretType("thing", revoke=revoke, default_duration=timedelta(minutes=5))
    before = utcnow()
    response = kind.response({"a": 1}, {"id": "x"})
    after = utcnow()
    assert response.data == {"a": 1}
    assert response.secret is not None
    assert response.secret.internal_data == {"id": "x", "secret_type": "thing"}
    # The harness and the runtime stamp a missing issue time, so only this catches a
    # framework that stops setting it.
    issued = response.secret.lease_options.issue_time
    assert issued is not None
    assert before <= issued <= after
    assert response.secret.lease_options.ttl == timedelta(minutes=5)
    assert response.secret.lease_options.renewable is False


def test_duplicate_secret_types_are_refused(recorder: Recorder) -> None:
    with pytest.raises(ValueError, match="declared twice"):
        make_backend(
            recorder,
            secrets=[
                SecretType("a", revoke=recorder.revoke),
                SecretType("a", revoke=recorder.revoke),
            ],
        )


async def test_rollback_runs_periodic_and_wal(backend: Backend, recorder: Recorder) -> None:
    storage = InMemoryStorage()
    backend.clock = lambda: datetime.fromtimestamp(1_000_000, tz=UTC)
    await put_wal(storage, "old", {"n": 1}, created_at=1_000_000 - 31)
    await put_wal(storage, "young", {"n": 2}, created_at=1_000_000 - 30)
    response = await backend.handle_request(req(Operation.ROLLBACK, "", storage=storage))
    assert response is None
    assert recorder.ticks == 1
    assert recorder.rolled_back == [("old", {"n": 1})]
    assert len(storage.keys()) == 1
    await backend.handle_request(req(Operation.ROLLBACK, "", {"immediate": False}, storage=storage))
    assert recorder.rolled_back[-1] == ("young", {"n": 2})
    assert storage.keys() == []
    assert recorder.ticks == 2


async def test_rollback_failures(backend: Backend, recorder: Recorder) -> None:
    storage = InMemoryStorage()
    await put_wal(storage, "bad", None, created_at=0)
    recorder.fail_periodic = True
    with pytest.raises(LogicalError, match="periodic went wrong"):
        await backend.handle_request(req(Operation.ROLLBACK, "", storage=storage))
    recorder.fail_periodic = False
    response = await backend.handle_request(req(Operation.ROLLBACK, "", storage=storage))
    assert response is not None
    assert response.is_error()
    assert response.data == {
        "error": 'error rolling back "bad" entry: internal error (ValueError); see the plugin log'
    }
    assert len(storage.keys()) == 1  # kept for the next tick


async def test_rollback_failures_tell_the_host_no_exception_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    leaked = "sk-secret-123"

    async def periodic(req: Request) -> None:
        raise RuntimeError(f"boom with {leaked}")

    async def rollback(req: Request, kind: str, data: Any) -> None:
        if kind == "said":
            raise LogicalError("upstream refused the deletion")
        raise ValueError(f"nope {leaked}")

    backend = Backend(periodic=periodic, wal_rollback=rollback)
    storage = InMemoryStorage()
    await put_wal(storage, "said", None, created_at=0)
    await put_wal(storage, "raised", None, created_at=0)
    caplog.set_level(logging.ERROR)
    with pytest.raises(LogicalError) as caught:
        await backend.handle_request(req(Operation.ROLLBACK, "", storage=storage))
    assert caught.value.message == (
        "periodic function failed: internal error (RuntimeError); see the plugin log"
    )
    assert leaked in caplog.text  # the detail is in the (redacting) log

    async def quiet(req: Request) -> None:
        return None

    backend = Backend(periodic=quiet, wal_rollback=rollback)
    response = await backend.handle_request(req(Operation.ROLLBACK, "", storage=storage))
    assert response is not None
    assert response.data is not None
    error = response.data["error"]
    assert leaked not in error
    assert 'error rolling back "said" entry: upstream refused the deletion' in error
    assert 'error rolling back "raised" entry: internal error (ValueError)' in error


class BrokenListing(InMemoryStorage):
    async def list(self, prefix: str) -> list[str]:
        raise OSError("disk at /secret/path")


async def test_a_wal_listing_failure_is_reported_by_type(recorder: Recorder) -> None:
    backend = make_backend(recorder, periodic=None)
    response = await backend.handle_request(req(Operation.ROLLBACK, "", storage=BrokenListing()))
    assert response is not None
    assert response.data == {
        "error": "error listing WAL entries: internal error (OSError); see the plugin log"
    }


async def test_rollback_without_a_wal_callback_leaves_entries(recorder: Recorder) -> None:
    backend = make_backend(recorder, wal_rollback=None)
    storage = InMemoryStorage()
    await put_wal(storage, "x", None, created_at=0)
    assert await backend.handle_request(req(Operation.ROLLBACK, "", storage=storage)) is None
    assert len(storage.keys()) == 1


async def test_lifecycle_hooks(backend: Backend, recorder: Recorder) -> None:
    storage = InMemoryStorage()
    await backend.setup(
        BackendConfig(
            storage=storage,
            system_view=StaticSystemView(),
            logger=logging.getLogger("t"),
            config={"plugin_name": "x"},
            backend_uuid="u",
        )
    )
    await backend.initialize()
    assert recorder.initialized_with is storage
    await backend.invalidate_key("config")
    assert recorder.invalidated == ["config"]
    await backend.cleanup()
    await backend.cleanup()
    assert recorder.cleanups == 1
    assert backend.config == {"plugin_name": "x"}
    assert backend.backend_uuid == "u"


def test_special_paths_are_passed_through_as_a_copy(backend: Backend) -> None:
    paths = backend.special_paths()
    assert paths.root == ["items/*"]
    assert paths.seal_wrap_storage == ["config"]
    paths.root.append("mutated")
    assert backend.special_paths().root == ["items/*"]


@pytest.mark.parametrize(
    ("state", "local", "refused"),
    [
        (24576, False, True),  # performance standby
        (8224, False, False),  # active node
        (64, False, True),  # performance secondary
        (64, True, False),  # ... but a local mount is served there
    ],
)
async def test_forwarding_flags(backend: Backend, state: int, local: bool, refused: bool) -> None:
    await backend.setup(
        BackendConfig(
            storage=InMemoryStorage(),
            system_view=StaticSystemView(replication=state, is_local_mount=local),
            logger=logging.getLogger("t"),
        )
    )
    request = req(Operation.UPDATE, "forwarded", {"x": 1})
    if refused:
        with pytest.raises(LogicalError) as caught:
            await backend.handle_request(request)
        assert caught.value.message == READ_ONLY_STORAGE
    else:
        assert await backend.handle_request(request) is not None


@pytest.mark.parametrize(
    ("state", "local", "refused"),
    [
        (24576, False, True),  # performance standby
        (8224, False, False),  # active node
        (64, False, True),  # performance secondary
        (64, True, False),  # ... but a local mount is served there
    ],
)
async def test_a_callback_may_run_the_forwarding_check_itself(
    state: int, local: bool, refused: bool
) -> None:
    steps: list[str] = []

    async def mint(req: Request, data: FieldData) -> Response:
        steps.append("callback")
        await mounted.refuse_on_performance_nodes()
        steps.append("side effect")
        return Response(data={})

    operation = PathOperation(
        mint,
        forward_performance_standby=True,
        forward_performance_secondary=True,
        callback_checks_forwarding=True,
    )
    mounted = Backend(paths=[Path(pattern="mint", operations={Operation.UPDATE: operation})])
    await mounted.setup(
        BackendConfig(
            storage=InMemoryStorage(),
            system_view=StaticSystemView(replication=state, is_local_mount=local),
            logger=logging.getLogger("t"),
        )
    )
    request = req(Operation.UPDATE, "mint")
    if refused:
        with pytest.raises(LogicalError) as caught:
            await mounted.handle_request(request)
        assert caught.value.message == READ_ONLY_STORAGE
        # The framework left the check to the callback, which stopped before its side effect.
        assert steps == ["callback"]
    else:
        assert await mounted.handle_request(request) is not None
        assert steps == ["callback", "side effect"]


class BrokenEnvironment(StaticSystemView):
    async def plugin_env(self) -> PluginEnvironment:
        raise RuntimeError("system view unavailable")


async def test_root_help_never_fails(recorder: Recorder) -> None:
    backend = make_backend(recorder)
    before_setup = await backend.handle_request(req(Operation.HELP, ""))
    assert before_setup is not None
    assert before_setup.data is not None
    assert before_setup.data["openapi"]["info"]["version"] == "unknown"
    await backend.setup(
        BackendConfig(
            storage=InMemoryStorage(),
            system_view=BrokenEnvironment(),
            logger=logging.getLogger("t"),
        )
    )
    response = await backend.handle_request(req(Operation.HELP, "", {"requestResponsePrefix": 5}))
    assert response is not None
    assert response.data is not None
    assert set(response.data) == {"help", "see_also", "openapi"}
    assert isinstance(response.data["openapi"], dict)
    assert response.data["see_also"] is None
    assert response.data["help"].startswith("## DESCRIPTION\n\nA test backend.")


async def _set_up_on_openbao(backend: Backend) -> None:
    """Mount ``backend`` as on an OpenBao 2.7.2 server (documents get cached)."""
    await backend.setup(
        BackendConfig(
            storage=InMemoryStorage(),
            system_view=StaticSystemView(env=PluginEnvironment(vault_version="2.7.2")),
            logger=logging.getLogger("t"),
        )
    )


async def test_root_help_uses_the_request_prefix_and_server_version(recorder: Recorder) -> None:
    backend = make_backend(recorder)
    await _set_up_on_openbao(backend)
    response = await backend.handle_request(
        req(Operation.HELP, "", {"requestResponsePrefix": "myplugin"})
    )
    assert response is not None
    assert response.data is not None
    doc = response.data["openapi"]
    assert doc["info"]["version"] == "2.7.2"
    assert doc["info"]["title"] == "OpenBao API"
    assert doc["paths"]["/items/{name}"]["get"]["operationId"] == "myplugin-read-items-name"


async def test_openapi_is_built_once_and_handed_out_as_copies(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds: list[str] = []
    real = openapi.document_backend

    def counting(*args: Any) -> None:
        builds.append("backend")
        real(*args)

    monkeypatch.setattr(backend_module, "document_backend", counting)
    backend = make_backend(recorder)
    await _set_up_on_openbao(backend)

    async def document() -> dict[str, Any]:
        response = await backend.handle_request(
            req(Operation.HELP, "", {"requestResponsePrefix": "p"})
        )
        assert response is not None
        assert response.data is not None
        doc: dict[str, Any] = response.data["openapi"]
        return doc

    first = await document()
    expected = copy.deepcopy(first)
    first["paths"].clear()  # e.g. a caller trimming the document for its own use
    first["info"]["version"] = "changed"
    second = await document()
    assert second == expected
    second["components"]["schemas"]["X"] = {}
    assert await document() == expected
    assert builds == ["backend"]

    path_doc = await backend.handle_request(req(Operation.HELP, "items/a"))
    assert path_doc is not None
    assert path_doc.data is not None
    path_doc.data["openapi"]["paths"]["/items/{name}"]["get"]["operationId"] = "x"
    again = await backend.handle_request(req(Operation.HELP, "items/b"))
    assert again is not None
    assert again.data is not None
    assert again.data["openapi"]["paths"]["/items/{name}"]["get"]["operationId"] == (
        "read-items-name"
    )


def test_route_and_secret_lookup(backend: Backend) -> None:
    routed = backend.route("items/x")
    assert routed is not None
    assert routed.pattern.startswith("items/")
    assert backend.route("nowhere") is None
    assert backend.secret("thing") is not None
    assert backend.secret("nope") is None


@pytest.mark.parametrize(
    ("special", "problem"),
    [
        (SpecialPaths(unauthenticated=["login/*/x*"]), "only one '*'"),
        (SpecialPaths(unauthenticated=["login/+*"]), "'+*' is not allowed"),
        (SpecialPaths(unauthenticated=["login/*/x"]), "only allowed at the end"),
        (SpecialPaths(unauthenticated=["login/a+"]), "whole segment"),
        (SpecialPaths(unauthenticated=["login/+b/c"]), "whole segment"),
        (SpecialPaths(unauthenticated=["++/x"]), "whole segment"),
        (SpecialPaths(root=["config/*/keys"]), "only allowed at the end"),
        (SpecialPaths(root=["roles/+/rotate"]), "'+' is not a wildcard"),
    ],
)
def test_special_paths_the_host_would_refuse_fail_at_declaration(
    recorder: Recorder, special: SpecialPaths, problem: str
) -> None:
    with pytest.raises(ValueError, match="special path") as caught:
        make_backend(recorder, special_paths=special)
    assert problem in str(caught.value)


def test_valid_special_paths_are_accepted(recorder: Recorder) -> None:
    special = SpecialPaths(
        root=["config", "keys/*", "*"],
        unauthenticated=["login", "login/*", "+/login", "roles/+/creds", "roles/+/x*", "a/+"],
    )
    backend = make_backend(recorder, special_paths=special)
    assert backend.special_paths() == special


def test_an_existence_check_needs_a_create_handler(recorder: Recorder) -> None:
    with pytest.raises(ValueError, match="existence check but no create handler") as caught:
        Path(
            pattern="items/" + generic_name_regex("name"),
            operations={Operation.UPDATE: recorder.item_write},
            existence_check=recorder.exists,
        )
    assert "'items/" in str(caught.value)


async def test_captures_do_not_change_the_request_data(backend: Backend) -> None:
    request = req(Operation.READ, "items/a", {"name": "other", "count": "2"})
    response = await backend.handle_request(request)
    assert response is not None
    assert response.data == {"name": "a", "count": 2}
    assert request.data == {"name": "other", "count": "2"}


async def test_help_shows_the_route_as_it_is_matched(recorder: Recorder) -> None:
    backend = make_backend(
        recorder,
        paths=[
            Path(pattern="foo|bar", operations={Operation.READ: recorder.shared}),
            Path(pattern=r"price\$", operations={Operation.READ: recorder.shared}),
        ],
    )
    with pytest.raises(UnsupportedPathError):
        await backend.handle_request(req(Operation.READ, "foobaz"))  # Go would route it
    with pytest.raises(UnsupportedPathError):
        await backend.handle_request(req(Operation.READ, "price$extra"))  # Go would too
    page = await backend.handle_request(req(Operation.HELP, "bar"))
    assert page is not None
    assert page.data is not None
    assert "Matching Route: ^(?:foo|bar)$\n" in page.data["help"]
    page = await backend.handle_request(req(Operation.HELP, "price$"))
    assert page is not None
    assert page.data is not None
    assert "Matching Route: ^price\\$$\n" in page.data["help"]


async def test_a_document_that_is_not_json_is_rebuilt_not_cached(
    recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    when = datetime(2030, 1, 1, tzinfo=UTC)
    path = Path(
        pattern="dated",
        fields={"at": FieldSchema(FieldType.TIME)},
        operations={
            Operation.UPDATE: PathOperation(
                recorder.echo, examples=[RequestExample(data={"at": when})]
            )
        },
    )
    backend = make_backend(recorder, paths=[path])
    await _set_up_on_openbao(backend)
    for _ in range(2):
        page = await backend.handle_request(req(Operation.HELP, "dated"))
        assert page is not None
        assert page.data is not None
        body = page.data["openapi"]["paths"]["/dated"]["post"]["requestBody"]
        assert body["content"]["application/json"]["schema"]["example"] == {"at": when}
    assert "not JSON-serialisable" in caplog.text
