"""`kiln detect`: the monitor scored on NAB files and on the simulator's injected failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kiln.cli.detect import detect

NAB = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "nab"
MACHINE = "realKnownCause/machine_temperature_system_failure.csv"
needs_nab = pytest.mark.skipif(not NAB.exists(), reason="NAB development files not in shared/data")


def _score(name: str) -> list[dict[str, Any]]:
    res = CliRunner().invoke(
        detect,
        ["score", str(NAB / name.split("/")[1]), "--windows", str(NAB / "combined_windows.json"),
         "--key", name, "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    out: list[dict[str, Any]] = json.loads(res.output)
    return out


@needs_nab
def test_machine_temperature_detects_all_four_windows() -> None:
    out = _score(MACHINE)
    assert [s["profile"] for s in out] == ["standard", "reward_low_FP_rate", "reward_low_FN_rate"]
    assert out[0]["detected_windows"] == 4


@needs_nab
def test_machine_temperature_has_at_most_two_false_positives() -> None:
    out = _score(MACHINE)[0]
    assert out["detected_windows"] == 4
    assert out["false_positives"] <= 2


def test_a_missing_window_key_is_refused_naming_the_file(tmp_path: Path) -> None:
    series = tmp_path / "s.csv"
    series.write_text("timestamp,value\n2014-01-01 00:00:00,1.0\n")
    windows = tmp_path / "w.json"
    windows.write_text("{}")
    res = CliRunner().invoke(
        detect, ["score", str(series), "--windows", str(windows), "--key", "x.csv"]
    )
    assert res.exit_code != 0
    assert "no windows for 'x.csv'" in str(res.exception)


def _simulated(enterprises: int, days: int, seed: int) -> dict[str, Any]:
    res = CliRunner().invoke(
        detect,
        ["simulated", "--enterprises", str(enterprises), "--days", str(days), "--seed", str(seed),
         "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    out: dict[str, Any] = json.loads(res.output)
    return out


def test_simulated_failures_meet_the_targets() -> None:
    out = _simulated(3, 14, 11)
    assert (out["equipment"], out["failures"], out["detected"]) == (26, 24, 24)
    assert out["detection_rate"] >= 0.9
    assert out["median_lead_min"] >= 30
    assert out["false_per_equipment_week"] < 1.0
    assert out["false_alarms"] == 11
    # Precursors count working time, so every one is seen running for an hour or more.
    seen = out["seen_running"]
    assert (seen["failures"], seen["detected"], seen["false_alarms"]) == (24, 24, 11)


@pytest.mark.xfail(
    strict=True,
    reason="1 enterprise x 10 days, seed 7: 9/11 detected. press-3's first brake-wear "
    "precursor fell in the detector's warm-up day, so its learned band already holds its "
    "second; press-4's, which ran across the Sunday shutdown (32 h from start to failure), "
    "stayed under the raise threshold",
)
def test_simulated_failures_meet_the_targets_on_the_small_seed_7_city() -> None:
    out = _simulated(1, 10, 7)
    assert out["detection_rate"] >= 0.9


def test_simulated_refuses_a_span_too_short_to_learn() -> None:
    res = CliRunner().invoke(detect, ["simulated", "--days", "0.5"])
    assert res.exit_code == 2
    assert "more than one day" in res.output
