from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from litellm_client import (
    GeneratedKey,
    GenerateKeyRequest,
    InvalidDurationError,
    KeyInfo,
    KeyList,
    KeyStatus,
    RegenerateKeyRequest,
    UpdateKeyRequest,
)


def test_generated_key_reads_the_real_generate_answer(samples: dict[str, Any]) -> None:
    body = samples["generated"]
    key = GeneratedKey.model_validate(body)
    assert key.key is not None
    assert key.key == body["key"]
    assert key.key.startswith("sk-")
    assert key.token == body["token"] == key.token_id
    assert key.key_alias == body["key_alias"]
    assert key.models == ["fake-gpt"]
    assert key.metadata == {"owner": "vault"}
    assert key.expires is not None
    assert key.expires.tzinfo is not None
    assert not key.recovered
    # Fields the model does not declare are kept, not dropped.
    assert key.model_extra is not None
    assert "router_settings" in key.model_extra


def test_key_info_reads_active_and_deleted_rows(samples: dict[str, Any]) -> None:
    active = KeyInfo.model_validate(samples["info"]["info"])
    assert active.status is KeyStatus.ACTIVE
    deleted = KeyInfo.model_validate(samples["info_deleted"]["info"])
    assert deleted.status is KeyStatus.DELETED
    assert deleted.deleted_at is not None
    assert deleted.deleted_by == "default_user_id"


def test_block_rows_say_org_id_and_still_fill_organization_id(samples: dict[str, Any]) -> None:
    row = dict(samples["blocked"], org_id="org-1")
    assert KeyInfo.model_validate(row).organization_id == "org-1"


def test_unknown_status_is_kept_as_text() -> None:
    info = KeyInfo.model_validate({"status": "suspended"})
    assert info.status == "suspended"
    assert not isinstance(info.status, KeyStatus)


def test_key_list_turns_bare_tokens_into_infos(samples: dict[str, Any]) -> None:
    tokens = KeyList.model_validate(samples["list_tokens"])
    full = KeyList.model_validate(samples["list_full"])
    assert [k.token for k in tokens.keys] == [k.token for k in full.keys]
    assert tokens.keys[0].key_alias is None
    assert full.keys[0].key_alias == samples["generated"]["key_alias"]
    assert full.total_pages == 1
    assert full.current_page == 1


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-27T02:40:17.282461Z",  # generate's expires
        "2026-11-27T02:40:17.282000Z",  # list rows
        "2026-11-27T02:40:17.282000+00:00",  # /key/info
        "2026-11-27 02:40:17.282000+00:00",  # messages
        "2026-11-27T02:40:17.282",  # naive: taken as UTC
    ],
)
def test_timestamps_in_every_proxy_form(text: str) -> None:
    info = KeyInfo.model_validate({"expires": text})
    assert info.expires is not None
    assert info.expires.tzinfo is not None
    assert abs(info.expires - datetime(2026, 11, 27, 2, 40, 17, 282000, tzinfo=UTC)) < timedelta(
        milliseconds=1
    )


aware = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@given(when=aware, style=st.sampled_from(["Z", "+00:00"]), millis=st.booleans())
def test_timestamp_round_trip(when: datetime, style: str, millis: bool) -> None:
    if millis:
        when = when.replace(microsecond=when.microsecond // 1000 * 1000)
    text = when.strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{when.microsecond // 1000:03d}" if millis else f"{when.microsecond:06d}"
    )
    info = KeyInfo.model_validate({"expires": text + style})
    assert info.expires == when


optional_text = st.none() | st.text(max_size=20)
rows = st.fixed_dictionaries(
    {
        "token": st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
        "key_alias": optional_text,
        "status": st.none() | st.sampled_from(list(KeyStatus)),
        "expires": st.none() | aware,
        "max_budget": st.none() | st.floats(min_value=0, max_value=1e6),
        "models": st.none() | st.lists(st.text(max_size=10), max_size=3),
        "metadata": st.none() | st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
        "blocked": st.none() | st.booleans(),
    },
    optional={"brand_new_field": st.integers()},
)


@given(rows)
def test_key_info_round_trips_through_json(row: dict[str, Any]) -> None:
    info = KeyInfo.model_validate(row)
    again = KeyInfo.model_validate_json(info.model_dump_json())
    assert again == info
    if "brand_new_field" in row:
        assert again.model_extra == {"brand_new_field": row["brand_new_field"]}


@given(rows, st.none() | st.text(min_size=4, max_size=30))
def test_generated_key_round_trips_and_from_info(row: dict[str, Any], raw: str | None) -> None:
    info = KeyInfo.model_validate(row)
    generated = GeneratedKey.from_info(info, key=raw)
    assert generated.recovered
    assert generated.key == raw
    assert generated.token == info.token
    assert generated.expires == info.expires
    assert GeneratedKey.model_validate_json(generated.model_dump_json()) == generated


request_fields = st.fixed_dictionaries(
    {},
    optional={
        "key_alias": st.none() | st.text(max_size=10),
        "models": st.lists(st.text(max_size=8), max_size=3),
        "max_budget": st.none() | st.floats(min_value=0, max_value=1e6),
        "duration": st.none()
        | st.sampled_from(["0s", "1h", "30d"])
        | st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
        "metadata": st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
        "rpm_limit": st.none() | st.integers(min_value=0, max_value=10**6),
        "blocked": st.none() | st.booleans(),
        "key": st.none() | st.text(min_size=16, max_size=40),
    },
)


@given(request_fields)
def test_requests_send_exactly_the_fields_that_were_set(fields: dict[str, Any]) -> None:
    body = GenerateKeyRequest.model_validate(fields).to_body()
    assert set(body) == set(fields)
    for name, value in fields.items():
        if name == "duration" and isinstance(value, timedelta):
            whole = value // timedelta(seconds=1)
            assert body[name] == f"{1 if whole == 0 and value else whole}s"
        else:
            assert body[name] == value
    # What was sent validates back to the same request.
    assert GenerateKeyRequest.model_validate(body).to_body() == body


def test_update_sends_explicit_none_as_null_and_omits_the_rest() -> None:
    body = UpdateKeyRequest(duration=None, max_budget=None, models=["fake-other"]).to_body()
    assert body == {"duration": None, "max_budget": None, "models": ["fake-other"]}


def test_request_models_refuse_unknown_fields_naming_them() -> None:
    with pytest.raises(ValueError, match="max_budgett"):
        GenerateKeyRequest.model_validate({"max_budgett": 1})


def test_request_models_refuse_bad_durations_naming_the_field() -> None:
    with pytest.raises(InvalidDurationError, match=r"^rotation_interval: "):
        UpdateKeyRequest(rotation_interval="1 day")
    with pytest.raises(InvalidDurationError, match=r"^budget_duration: "):
        GenerateKeyRequest(budget_duration="0s")


@pytest.mark.parametrize("budget", [-1.0, float("nan"), float("inf")])
def test_budgets_must_be_finite_and_not_negative(budget: float) -> None:
    with pytest.raises(ValueError, match="max_budget"):
        GenerateKeyRequest(max_budget=budget)


RAW = "sk-raw-key-that-must-not-show-0123"


@pytest.mark.parametrize(
    "model",
    [
        GeneratedKey(key=RAW, token="a" * 64),
        GenerateKeyRequest(key=RAW, key_alias="shown"),
        RegenerateKeyRequest(new_key=RAW, key_alias="shown"),
    ],
    ids=["GeneratedKey", "GenerateKeyRequest", "RegenerateKeyRequest"],
)
def test_raw_keys_stay_out_of_repr_and_str(
    model: GeneratedKey | GenerateKeyRequest | RegenerateKeyRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    logging.getLogger("an.application").warning("minted %s / %r", model, model)
    for text in (repr(model), str(model), f"{model}", caplog.text, repr([model])):
        assert RAW not in text
        assert RAW[3:] not in text
    assert "key_alias=" in repr(model) or "token=" in repr(model)  # the rest still shows
    # ... and the key is still there for whoever asks for it.
    held = model.new_key if isinstance(model, RegenerateKeyRequest) else model.key
    assert held == RAW
    assert RAW in model.model_dump(mode="json").values()


def test_field_names_clear_pydantic_protected_namespaces() -> None:
    # pydantic 2.7-2.9 warn on import about fields starting with a protected namespace, "model_"
    # by default (model_max_budget, model_rpm_limit, model_tpm_limit); later versions narrowed the
    # default. Check the names against the namespaces each model protects, old default included.
    for model in (
        GenerateKeyRequest,
        UpdateKeyRequest,
        RegenerateKeyRequest,
        GeneratedKey,
        KeyInfo,
    ):
        protected = model.model_config.get("protected_namespaces", ("model_",))
        clashes = [
            name
            for name in model.model_fields
            for prefix in protected
            if isinstance(prefix, str) and name.startswith(prefix)
        ]
        assert clashes == [], f"{model.__name__}: {clashes}"
    assert "model_max_budget" in GenerateKeyRequest.model_fields
