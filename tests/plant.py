"""A simulated plant for the advisor and the city panels: one enterprise whose assembly line
is paced by a slow manual station (the simulator's planted bottleneck), and a runtime over it."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiln.clock import ManualClock
from kiln.config import load_settings
from kiln.domain.batches import Bundle
from kiln.runtime import Runtime, build_runtime
from kiln.simulator.engine import Simulator
from kiln.simulator.world import build_city
from kiln.store.duckdb import DuckDBStore

DAY_MS = 86_400_000
START_MS = 1_763_942_400_000  # 2025-11-24 00:00 UTC
DAYS = 7
ENTERPRISE = "shenghua-home-appliances"
LINE = "assembly-1"
NECK = "manual-2"  # the slow manual station (with a counting cobot) that paces the line


def plant() -> dict[str, Any]:
    """The one enterprise of the seed-7 city with the planted manual bottleneck."""
    city = build_city(seed=7, enterprises=8)
    return {"enterprises": [e for e in city["enterprises"] if e["slug"] == ENTERPRISE]}


def simulate(store: DuckDBStore, doc: dict[str, Any], start_ms: int, days: int) -> None:
    """Write `days` of the document's simulated production, an hour at a time."""
    catalog = store.import_assets(doc)
    sim = Simulator(doc, catalog, seed=7, start_ms=start_ms)
    for h in range(days * 24):
        b = sim.advance(start_ms + (h + 1) * 3_600_000)
        store.write(Bundle(b.points.sorted(), b.states, b.counts))


def with_robot(doc: dict[str, Any], cycle_s: float) -> dict[str, Any]:
    """The plant after a robot cell replaced the bottleneck's manual work: its cycle falls to
    cycle_s and its operators go."""
    out = copy.deepcopy(doc)
    for line in out["enterprises"][0]["sites"][0]["lines"]:
        if line["slug"] != LINE:
            continue
        for st in line["stations"]:
            if st["slug"] == NECK:
                st["operators"] = 0
                for eq in st["equipment"]:
                    eq["ideal_cycle_s"] = round(cycle_s, 1)
    return out


@pytest.fixture(scope="session")
def plant_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB file with a week of the plant, made once per session."""
    path = tmp_path_factory.mktemp("advisor") / "plant.duckdb"
    store = DuckDBStore(path)
    try:
        simulate(store, plant(), START_MS, DAYS)
    finally:
        store.close()
    return path


@pytest.fixture
def plant_runtime(plant_db: Path, tmp_path: Path) -> Iterator[Runtime]:
    """A runtime over a copy of the plant's week, its clock an hour after the week."""
    path = tmp_path / "kiln.duckdb"
    shutil.copy(plant_db, path)
    settings = load_settings(
        environ={},
        overrides={"store": {"path": str(path)}, "simulator": {"enabled": False}},
    )
    rt = build_runtime(
        settings, clock=ManualClock(START_MS + DAYS * DAY_MS + 3_600_000), simulate=False
    )
    yield rt
    rt.close()
