"""The worked shift of domain.md 1.3 as a store would hold it: an asset document with a
3x8 calendar, and the press's state changes, counts and power readings of 5 January 2024."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from kiln.domain.batches import Bundle, CountBatch, PointBatch, StateBatch
from kiln.domain.catalog import AssetCatalog
from kiln.domain.states import EquipmentState as S
from kiln.store.base import Store

FOSHAN = ZoneInfo("Asia/Shanghai")
MINUTE_MS = 60_000
DAY_MS = 86_400_000
WORKED_DAY = (2024, 1, 5)  # a Friday, an ordinary working day


def local_ms(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> int:
    """UTC epoch ms of a wall-clock time in Foshan."""
    return round(datetime(y, mo, d, h, mi, tzinfo=FOSHAN).timestamp() * 1000)


def at(h: int, mi: int = 0) -> int:
    """A time of the worked day."""
    return local_ms(*WORKED_DAY, h, mi)


def press_works(slug: str, *, district: str = "nanhai", industry: str = "3670") -> dict[str, Any]:
    """One enterprise with one press line: a press (PRI 30 s) and a robot, 3x8 shifts."""
    return {
        "slug": slug,
        "name": slug.replace("-", " ").title(),
        "district": district,
        "industry": industry,
        "sites": [
            {
                "slug": "plant",
                "shifts": "3x8",
                "workdays": "mon-fri",
                "holidays": "cn",
                "lines": [
                    {
                        "slug": "press-line",
                        "name": "Press line",
                        "stations": [
                            {
                                "slug": "op10",
                                "position": 1,
                                "equipment": [
                                    {"slug": "press", "template": "press", "ideal_cycle_s": 30.0}
                                ],
                            },
                            {
                                "slug": "op20",
                                "position": 2,
                                "equipment": [
                                    {
                                        "slug": "robot",
                                        "template": "industrial_robot",
                                        "ideal_cycle_s": 12.0,
                                    }
                                ],
                            },
                        ],
                    }
                ],
            }
        ],
    }


def worked_city() -> dict[str, Any]:
    """Three press works in Nanhai (automobile parts), and one ceramics works in Chancheng."""
    return {
        "enterprises": [
            press_works("worked-press"),
            press_works("second-press"),
            press_works("third-press"),
            press_works("lone-tiles", district="chancheng", industry="3071"),
        ]
    }


# The early shift (06:00-14:00, meal 10:00-10:30): setup, runs broken by three 15-minute
# faults, and a fault during the meal break that the calendar overrides; off shift around it.
WORKED_LOG = [
    (local_ms(2024, 1, 4, 22), S.OFF_SHIFT, None),
    (at(6), S.SETUP, "changeover"),
    (at(6, 25), S.RUNNING, None),
    (at(8), S.DOWN_FAULT, "die jam"),
    (at(8, 15), S.RUNNING, None),
    (at(10), S.DOWN_FAULT, "lube alarm"),  # in the break: PDOT, not ADET
    (at(10, 20), S.RUNNING, None),
    (at(12), S.DOWN_FAULT, "die jam"),
    (at(12, 15), S.RUNNING, None),
    (at(13), S.DOWN_FAULT, "misfeed"),
    (at(13, 15), S.RUNNING, None),
    (at(14), S.OFF_SHIFT, None),
]


def write_worked_shift(
    store: Store, catalog: AssetCatalog, enterprise: str = "worked-press"
) -> int:
    """Write the worked shift for the enterprise's press; return the press's id.

    700 parts: 665 good, 21 scrap and 14 rework, reported every 10 minutes; the robot reports
    nothing.
    1 260 kWh: 157.5 kW read every 5 minutes from 06:00 to 14:00.
    """
    press = catalog.equipment_id(enterprise, "press")
    assert press is not None
    power = catalog.series_id(press, "main_motor_power")
    ts = [at(6, 30) + k * 10 * MINUTE_MS for k in range(45)]
    good = [15] * 35 + [14] * 10  # 665
    scrap = [1] * 21 + [0] * 24  # 21
    rework = [0] * 21 + [1] * 14 + [0] * 10  # 14
    kw_ts = [at(6) + k * 5 * MINUTE_MS for k in range(96)]
    store.write(
        Bundle(
            points=PointBatch.of([power] * len(kw_ts), kw_ts, [157.5] * len(kw_ts)),
            states=StateBatch.of(
                [press] * len(WORKED_LOG),
                [t for t, _, _ in WORKED_LOG],
                [s for _, s, _ in WORKED_LOG],
                [r for _, _, r in WORKED_LOG],
            ),
            counts=CountBatch.of([press] * len(ts), ts, good, scrap, rework),
        )
    )
    return press
