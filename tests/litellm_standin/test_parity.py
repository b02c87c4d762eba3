"""The parity tool itself: normalisation, comparison, tolerances and exit status."""

from __future__ import annotations

import httpx
import pytest
import respx

from tests.support.litellm_standin import VERSIONS, StandIn, parity
from tests.support.litellm_standin.parity import Difference, Names, Observation, compare
from tests.support.litellm_standin.scenarios import tolerated


def test_run_specific_values_become_placeholders() -> None:
    names = Names(prefix="parity-1234-")
    names.add("sk-abcdefghijklmnop", "raw")
    reduced = names.reduce(
        {
            "key": "sk-abcdefghijklmnop",
            "key_alias": "parity-1234-gen",
            "expires": "2026-11-27T02:40:17.282461Z",
            "created_at": "2026-11-27T02:40:17.282000+00:00",
            "budget_id": "5dc7cc0d-da2b-4ea5-8e22-6c3eb9d72496",
            "message": "Key Expiry time 2026-11-27 01:40:21.737000+00:00 and current time x",
            "spend": 0.1 + 0.2,
        }
    )
    assert reduced == {
        "key": "<raw1>",
        "key_alias": "<p>gen",
        "expires": "<ts Z>",
        "created_at": "<ts offset>",
        "budget_id": "<uuid>",
        "message": "Key Expiry time <time> and current time x",
        "spend": 0.3,
    }


def test_compare_reports_status_and_field_differences() -> None:
    real = [Observation("a", 200, {}, {"x": 1, "y": [1, 2]}), Observation("b", 404, {}, {})]
    standin = [
        Observation("a", 200, {}, {"x": 2, "y": [1, 2], "z": 0}),
        Observation("b", 400, {}, {}),
    ]
    found = compare("s", real, standin)
    assert [(d.label, d.where) for d in found] == [
        ("a", "body.x"),
        ("a", "body.z"),
        ("b", "status"),
    ]
    assert found[1] == Difference("s", "a", "body.z", "<absent>", 0)


def test_tolerances_match_by_pattern_and_state_a_reason() -> None:
    usage = Difference("budgets", "tiny call 0", "body.usage.prompt_tokens", 8, 10)
    assert tolerated("1.106.12", usage) is not None
    assert "counts the prompt itself" in (tolerated("1.106.12", usage) or "")
    elsewhere = Difference("llm_calls", "allowed", "body.usage.prompt_tokens", 8, 10)
    assert tolerated("1.106.12", elsewhere) is None


@pytest.mark.parametrize("version", VERSIONS)
def test_two_stand_ins_agree_on_every_scenario(
    version: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with StandIn(master_key="sk-parity-self-test", version=version) as other:
        monkeypatch.setenv("LITELLM_URL", other.url)
        monkeypatch.setenv("LITELLM_MASTER_KEY", other.master_key)
        assert parity.main([]) == 0
    report = capsys.readouterr().out
    assert f"parity with LiteLLM {version} at" in report
    assert "0 unexplained differences, 0 tolerated" in report


def test_an_unexplained_difference_fails_the_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A proxy that refuses custom keys answers one scenario differently from the stand-in.
    with StandIn(master_key="sk-parity-strict", disable_custom_api_keys=True) as other:
        monkeypatch.setenv("LITELLM_URL", other.url)
        monkeypatch.setenv("LITELLM_MASTER_KEY", other.master_key)
        assert parity.main(["--scenario", "custom_keys"]) == 1
    report = capsys.readouterr().out
    assert "DIFFERENT custom_keys/mint custom status:" in report


def test_a_proxy_of_another_version_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LITELLM_URL", "http://proxy.test:4000")
    monkeypatch.setenv("LITELLM_MASTER_KEY", "sk-anything")
    with respx.mock(base_url="http://proxy.test:4000") as mock:
        mock.post("/chat/completions").mock(
            return_value=httpx.Response(200, json={}, headers={"x-litellm-version": "1.110.1"})
        )
        assert parity.main([]) == 2
    assert (
        "is LiteLLM 1.110.1; the stand-in models ('1.106.12', '1.108.5')" in capsys.readouterr().out
    )
