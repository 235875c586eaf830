"""Installations (the advisor's follow-up) and people's preferences on both backends."""

from __future__ import annotations

from typing import Any

import pytest

from kiln.store.installation_tables import Installation


def _item(**kw: Any) -> Installation:
    base = dict(
        id=0, enterprise_id=1, line_id=3, station_id=7, installed_ms=1_000, solution_id=None,
        description="cobot cell", prediction={"robot_cycle_s": 28.0, "throughput_gain": 0.11},
        recorded_ms=2_000, recorded_by="acme",
    )  # fmt: skip
    return Installation(**{**base, **kw})


def test_installations_are_numbered_kept_with_their_prediction_and_removed(store: Any) -> None:
    first = store.installations.add(_item())
    second = store.installations.add(_item(line_id=4, installed_ms=500, solution_id=12))
    assert (first.id, second.id) == (1, 2)
    assert store.installations.get(1) == first
    assert store.installations.get(1).prediction == {"robot_cycle_s": 28.0, "throughput_gain": 0.11}
    assert [i.id for i in store.installations.of_lines([3, 4])] == [2, 1]  # by installed time
    assert store.installations.of_lines([]) == []
    assert store.installations.delete(1) is True
    assert store.installations.delete(1) is False
    assert store.installations.get(1) is None


def test_preferences_are_kept_and_replaced(store: Any) -> None:
    assert store.preferences.get("acme", "language") is None
    store.preferences.put("acme", "language", "zh", 1)
    store.preferences.put("huamei", "language", "en", 1)
    store.preferences.put("acme", "language", "en", 2)
    assert store.preferences.get("acme", "language") == "en"
    assert store.preferences.get("huamei", "language") == "en"
    with pytest.raises(ValueError, match="longer than"):
        store.preferences.put("acme", "language", "x" * 500, 3)
