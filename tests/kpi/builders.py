"""Hand-made inputs for the KPI tests: Foshan local times, a small catalogue, the worked shift."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from kiln.domain.assets import Enterprise, Equipment, Line, Site, Station
from kiln.domain.catalog import AssetCatalog
from kiln.domain.states import EquipmentState as S
from kiln.kpi.energy import EnergyReadings
from kiln.kpi.shift_calendar import Break, Shift, ShiftCalendar, ShiftPattern

FOSHAN = ZoneInfo("Asia/Shanghai")
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000


def local_ms(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> int:
    """UTC epoch ms of a wall-clock time in Foshan."""
    return round(datetime(y, mo, d, h, mi, tzinfo=FOSHAN).timestamp() * 1000)


# One 8-hour shift from 08:00 with a 30-minute break at 12:00: the shift of domain.md 1.3.
EIGHT_HOURS = ShiftPattern("1x8", (Shift("day", 8 * 60, 480, (Break(240, 30),)),))
WORKED_DAY = (2024, 1, 5)  # a Friday, an ordinary working day


def catalog(*equipment: Equipment, lines: int = 1, industry: str = "3670") -> AssetCatalog:
    """One enterprise, one site, `lines` lines; station i of a line holds equipment with
    station_id i (positions follow station ids)."""
    ent = Enterprise(1, "acme", "Acme", "nanhai", industry)
    site = Site(1, 1, "plant", "Plant")
    line_rows = [Line(k, 1, 1, f"line-{k}", f"Line {k}") for k in range(1, lines + 1)]
    station_ids = sorted({e.station_id for e in equipment})
    stations = [
        Station(s, 1, 1 + (s - 1) % lines if lines > 1 else 1, f"op{s}", f"OP{s}", position=s)
        for s in station_ids
    ]
    return AssetCatalog.build([ent], [site], line_rows, stations, equipment, [])


def press(
    eid: int = 1, station: int = 1, pri_s: float | None = 30.0, template: str = "press"
) -> Equipment:
    """A press (or other template) at a station, with its ideal cycle."""
    return Equipment(eid, 1, station, f"eq-{eid}", f"Equipment {eid}", template, pri_s)


def states_table(rows: list[tuple[int, int, int, S]]) -> pa.Table:
    """The store's state interval table from (equipment, start_ms, end_ms, state) rows."""
    eq, a, b, st = zip(*rows, strict=True) if rows else ((), (), (), ())
    return pa.table(
        {
            "equipment": pa.array(eq, pa.int64()),
            "start_ms": pa.array(a, pa.int64()),
            "end_ms": pa.array(b, pa.int64()),
            "state": pa.array([int(s) for s in st], pa.int8()),
            "reason": pa.array([None] * len(eq), pa.string()),
        }
    )


def counts_table(rows: list[tuple[int, int, int, int, int]]) -> pa.Table:
    """The counts table from (equipment, ts_ms, good, scrap, rework) rows."""
    eq, ts, g, s, r = zip(*rows, strict=True) if rows else ((), (), (), (), ())
    return pa.table(
        {
            name: pa.array(col, pa.int64())
            for name, col in (
                ("equipment", eq),
                ("ts_ms", ts),
                ("good", g),
                ("scrap", s),
                ("rework", r),
            )
        }
    )


def worked_log(eid: int = 1) -> tuple[pa.Table, pa.Table, EnergyReadings]:
    """domain.md 1.3 as a state log, counts and an energy meter on 5 January 2024.

    08:00-08:25 setup; runs with faults 10:00, 14:00 and 15:00 (15 min each); a fault during
    the 12:00 break that the calendar overrides; idle before the shift, nothing after it.
    """

    def at(h: int, mi: int = 0) -> int:
        return local_ms(*WORKED_DAY, h, mi)

    log = [
        (at(6), at(8), S.IDLE),  # outside POT: ignored
        (at(8), at(8, 25), S.SETUP),
        (at(8, 25), at(10), S.RUNNING),
        (at(10), at(10, 15), S.DOWN_FAULT),
        (at(10, 15), at(12), S.RUNNING),
        (at(12), at(12, 20), S.DOWN_FAULT),  # in the break: PDOT, not ADET
        (at(12, 20), at(14), S.RUNNING),
        (at(14), at(14, 15), S.DOWN_FAULT),
        (at(14, 15), at(15), S.RUNNING),
        (at(15), at(15, 15), S.DOWN_FAULT),
        (at(15, 15), at(16), S.RUNNING),
    ]
    states = states_table([(eid, a, b, s) for a, b, s in log])
    # 700 parts over the shift: 665 good, 21 scrap, 14 rework, reported every 10 minutes.
    ts = [at(8, 30) + k * 10 * MINUTE_MS for k in range(45)]
    good = _spread(665, len(ts))
    scrap = _spread(21, len(ts))
    rework = _spread(14, len(ts))
    counts = counts_table(
        [(eid, t, g, s, r) for t, g, s, r in zip(ts, good, scrap, rework, strict=True)]
    )
    energy = EnergyReadings.of([eid] * 8, [at(9 + k) for k in range(8)], [157.5] * 8)
    return states, counts, energy


def _spread(total: int, n: int) -> list[int]:
    base = np.full(n, total // n)
    base[: total % n] += 1
    return base.tolist()


def worked_calendar() -> ShiftCalendar:
    """The press shop's calendar: the 8-hour shift, weekends and Chinese holidays off."""
    return ShiftCalendar(EIGHT_HOURS)


def worked_window() -> tuple[int, int]:
    """The calendar day of the worked shift, local midnight to midnight (1440 min)."""
    start = local_ms(*WORKED_DAY)
    return start, start + DAY_MS
