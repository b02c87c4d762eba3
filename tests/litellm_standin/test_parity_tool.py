"""The parity check itself: normalisation, comparison, and no false alarms stand-in vs stand-in."""

from __future__ import annotations

import pytest

from e2e.litellm_standin import StandIn, parity
from e2e.litellm_standin.parity import Difference, Names, Observation, compare


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
        "expires": "<ts Z us>",
        "created_at": "<ts offset ms>",
        "budget_id": "<uuid>",
        "message": "Key Expiry time <time> and current time x",
        "spend": 0.3,
    }


def test_compare_reports_status_and_field_differences() -> None:
    real = [
        Observation("a", 200, {}, {"x": 1, "y": [1, 2]}),
        Observation("b", 404, {}, {"error": {}}),
    ]
    standin = [
        Observation("a", 200, {}, {"x": 2, "y": [1, 2], "z": 0}),
        Observation("b", 400, {}, {"error": {}}),
    ]
    found = compare("s", real, standin)
    assert [(d.label, d.where) for d in found] == [
        ("a", "body.x"),
        ("a", "body.z"),
        ("b", "status"),
    ]
    assert found[1] == Difference("s", "a", "body.z", "<absent>", 0)


def test_two_stand_ins_agree_on_every_scenario(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with StandIn(master_key="sk-parity-self-test") as other:
        monkeypatch.setenv("LITELLM_URL", other.url)
        monkeypatch.setenv("LITELLM_MASTER_KEY", other.master_key)
        assert parity.main([]) == 0
    report = capsys.readouterr().out
    assert "0 differences" in report
    assert "DIFFERENT" not in report
