"""kpi_oee: OEE with its losses for one enterprise-month, from the store's columns.

200 equipment (8 lines of 25: presses feeding robot cells) over 30 days: a state change every
few minutes (about 1.7 M state intervals, sorted by equipment and start as the store returns
them) and a count row per equipment per minute (8.6 M rows), all made synthetically with NumPy.
Measured: ``kiln.kpi.kpi_table.kpi_table`` at equipment level over the month, from the Arrow
tables in to the Arrow KPI table out (time model under a 2x12 shift calendar with weekends and
Chinese holidays, quantities with PRI, every KPI, the six big losses). The line roll-up of the
same data is reported in the notes. No peer: the figure is an absolute time.

Target: < 200 ms.
"""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa

from benchmarks.common import Figure, cli, log, median, timed_repeats
from kiln.domain.assets import Enterprise, Equipment, Line, Site, Station
from kiln.domain.catalog import AssetCatalog
from kiln.domain.states import EquipmentState as S
from kiln.kpi.kpi_table import kpi_table
from kiln.kpi.shift_calendar import TWO_BY_TWELVE, ShiftCalendar

TARGET_MS = 200.0
EQUIPMENT = 200
LINES = 8
DAYS = 30
MINUTE_MS = 60_000
START_MS = 1_730_390_400_000  # 2024-11-01 00:00 in Foshan (UTC+8)
MEAN_STATE_MIN = 5.0


def make_catalog() -> AssetCatalog:
    """One enterprise, one site, 8 lines of 25 stations with one equipment each."""
    per_line = EQUIPMENT // LINES
    stations, equipment = [], []
    for e in range(1, EQUIPMENT + 1):
        line = 1 + (e - 1) // per_line
        position = 1 + (e - 1) % per_line
        robot = position > per_line // 2
        stations.append(Station(e, 1, line, f"op{e}", f"OP{e}", position=position))
        equipment.append(
            Equipment(
                e,
                1,
                e,
                f"eq-{e}",
                f"Equipment {e}",
                "industrial_robot" if robot else "press",
                30.0 if robot else 20.0,
            )
        )
    lines = [Line(k, 1, 1, f"line-{k}", f"Line {k}") for k in range(1, LINES + 1)]
    return AssetCatalog.build(
        [Enterprise(1, "bench-co", "Benchmark Co", "nanhai", "3670")],
        [Site(1, 1, "plant", "Plant")],
        lines,
        stations,
        equipment,
        [],
    )


def make_states(rng: np.random.Generator) -> pa.Table:
    """Back-to-back intervals per equipment: mostly running, some idle, setup and faults."""
    end_ms = START_MS + DAYS * 86_400_000
    per_eq = int(DAYS * 1440 / MEAN_STATE_MIN * 1.1)
    length = np.maximum(
        rng.exponential(MEAN_STATE_MIN * MINUTE_MS, (EQUIPMENT, per_eq)), 1_000
    ).astype(np.int64)
    start = START_MS + np.concatenate(
        [np.zeros((EQUIPMENT, 1), np.int64), np.cumsum(length, axis=1)[:, :-1]], axis=1
    )
    state = rng.choice(
        np.array([S.RUNNING, S.IDLE, S.SETUP, S.DOWN_FAULT], dtype=np.int8),
        size=(EQUIPMENT, per_eq),
        p=[0.7, 0.12, 0.08, 0.1],
    )
    eq = np.repeat(np.arange(1, EQUIPMENT + 1, dtype=np.int64), per_eq).reshape(EQUIPMENT, -1)
    keep = start < end_ms
    stop = np.minimum(start + length, end_ms)
    return pa.table(
        {"equipment": eq[keep], "start_ms": start[keep], "end_ms": stop[keep], "state": state[keep]}
    )


def make_counts(rng: np.random.Generator, states: pa.Table, cat: AssetCatalog) -> pa.Table:
    """One row per equipment per minute, reported at the minute's end: about 90 % of the ideal
    rate while running, nothing otherwise, 3 % scrap."""
    minutes = DAYS * 1440
    ts = START_MS + MINUTE_MS * np.arange(1, minutes + 1, dtype=np.int64) - 1
    eq = states.column("equipment").to_numpy()
    start = states.column("start_ms").to_numpy()
    running = states.column("state").to_numpy() == S.RUNNING
    heads = np.searchsorted(eq, np.arange(1, EQUIPMENT + 2))
    good = np.empty((EQUIPMENT, minutes), dtype=np.int64)
    for k in range(EQUIPMENT):
        a, b = heads[k], heads[k + 1]
        now = np.searchsorted(start[a:b], ts - MINUTE_MS // 2, side="right") - 1
        rate = 0.9 * 60.0 / float(cat.equipment[k + 1].ideal_cycle_s or 30.0)
        good[k] = rng.poisson(rate, minutes) * running[a:b][now]
    good = good.ravel()
    scrap = rng.binomial(good, 0.03)
    return pa.table(
        {
            "equipment": np.repeat(np.arange(1, EQUIPMENT + 1, dtype=np.int64), minutes),
            "ts_ms": np.tile(ts, EQUIPMENT),
            "good": good - scrap,
            "scrap": scrap,
        }
    )


def run(quick: bool) -> list[Figure]:
    rng = np.random.default_rng(2018)
    log(f"kpi_oee: making {DAYS} days of states and per-minute counts for {EQUIPMENT} equipment")
    cat, states = make_catalog(), make_states(rng)
    counts = make_counts(rng, states, cat)
    window = [(START_MS, START_MS + DAYS * 86_400_000)]
    calendars = {1: ShiftCalendar(TWO_BY_TWELVE)}

    def month(level: str) -> pa.Table:
        return kpi_table(states, counts, cat, windows=window, level=level, calendars=calendars)

    count, max_s = (5, 20.0) if quick else (15, 60.0)
    times = timed_repeats(lambda: month("equipment"), count=count, max_s=max_s, warmup=2)
    line_times = timed_repeats(lambda: month("line"), count=count, max_s=max_s, warmup=1)
    table = month("equipment")
    t0 = time.perf_counter()
    oee = np.array([v for v in table.column("oee").to_pylist() if v is not None])
    log(
        f"kpi_oee: median {1000 * median(times):.0f} ms over {len(times)} runs "
        f"({time.perf_counter() - t0:.3f} s to read the result)"
    )
    fig = Figure(
        "kpi_oee",
        f"kpi_table() at equipment level for one enterprise-month: {EQUIPMENT} equipment, "
        f"{DAYS} days, {states.num_rows:,} state intervals, {counts.num_rows:,} count rows, "
        "2x12 calendar with weekends and holidays; Arrow in, Arrow out",
        1000 * median(times),
        "ms",
        higher_is_better=False,
        target_value=TARGET_MS,
    )
    fig.notes.append("runs (ms): " + ", ".join(f"{1000 * t:.0f}" for t in times))
    fig.notes.append(
        f"line level (bottleneck rule), same data: median {1000 * median(line_times):.0f} ms"
    )
    fig.notes.append(
        "synthetic data runs through weekends and breaks too; that output counts in PQ while "
        "its time is outside PBT, which lifts OEE"
    )
    fig.notes.append(
        f"equipment OEE: median {np.median(oee):.3f}, min {oee.min():.3f}, max {oee.max():.3f}"
    )
    fig.details.update(
        state_intervals=states.num_rows,
        count_rows=counts.num_rows,
        runs_s=times,
        line_runs_s=line_times,
    )
    return [fig]


if __name__ == "__main__":
    cli("kpi_oee", run)
