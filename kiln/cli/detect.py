"""`kiln detect`: run the anomaly monitor over labelled data and say how well it did.

`score` runs it over a NAB-format series and scores its raise events by the NAB rules;
`simulated` runs it over the simulated city's history and scores it on the injected failures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import numpy as np

from kiln.analytics.failure_eval import FailureReport, KnownFailure, evaluate, running_during
from kiln.analytics.monitor import AnomalyMonitor
from kiln.analytics.nab import PROFILES, score_detections
from kiln.cli.nab_files import read_series, read_windows
from kiln.domain.batches import PointBatch
from kiln.domain.catalog import AssetCatalog
from kiln.domain.states import EquipmentState

HOUR_MS = 3_600_000
NAB_CHUNK = 288  # a day of five-minute rows per batch, as a gateway might forward them
SIM_START_MS = 1_763_942_400_000  # 2025-11-24T00:00:00Z, a Monday
# A precursor the equipment ran through for less than this cannot show in running minutes.
SEEN_RUNNING_MS = HOUR_MS


@click.group()
def detect() -> None:
    """Score the anomaly monitor on labelled data (NAB files, the simulator's failures)."""


def raise_rows(ts_ms: np.ndarray, raises_ms: list[int], bucket_ms: int) -> np.ndarray:
    """Booleans per row: True on the row whose bucket completed each raise.

    >>> raise_rows(np.array([0, 300_000, 600_000]), [360_000], 60_000).tolist()
    [False, True, False]
    """
    mono = np.maximum.accumulate(ts_ms)
    hit = np.zeros(len(ts_ms), dtype=bool)
    for t in raises_ms:
        hit[min(int(np.searchsorted(mono, t - bucket_ms)), len(ts_ms) - 1)] = True
    return hit


def monitor_series(ts_ms: np.ndarray, value: np.ndarray) -> tuple[list[int], AnomalyMonitor]:
    """Raise times of the monitor over one series fed a day of rows at a time."""
    mon = AnomalyMonitor(AssetCatalog())
    raises = []
    ones = np.ones(len(ts_ms), dtype=np.int64)
    for i in range(0, len(ts_ms), NAB_CHUNK):
        batch = PointBatch.of(
            ones[i : i + NAB_CHUNK], ts_ms[i : i + NAB_CHUNK], value[i : i + NAB_CHUNK]
        )
        raises += [c.ts_ms for c in mon.observe(batch) if c.active]
    return raises, mon


@detect.command()
@click.argument("series", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--windows",
    "windows_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="NAB combined_windows.json.",
)
@click.option("--key", required=True, help="The file's key in it, e.g. realKnownCause/x.csv.")
@click.option(
    "--profile",
    type=click.Choice([*PROFILES, "all"]),
    default="all",
    show_default=True,
    help="NAB weight profile.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def score(series: Path, windows_path: Path, key: str, profile: str, as_json: bool) -> None:
    """Run the monitor over a NAB series and score its raises by the NAB rules."""
    ts, value = read_series(series)
    windows = read_windows(windows_path, key)
    raises, mon = monitor_series(ts, value)
    detected = raise_rows(ts, raises, mon.settings.bucket_ms)
    names = list(PROFILES) if profile == "all" else [profile]
    results = [score_detections(ts, detected, windows, PROFILES[p]) for p in names]
    if as_json:
        out = [
            {
                "profile": s.profile,
                "windows": s.windows,
                "detected_windows": s.detected_windows,
                "false_positives": s.false_positives,
                "raw": s.raw,
                "normalized": s.normalized,
                "raises": len(raises),
            }
            for s in results
        ]
        click.echo(json.dumps(out, indent=2))
        return
    first = results[0]
    click.echo(
        f"{key}: {len(raises)} raises; windows detected {first.detected_windows}/{first.windows}, "
        f"false positives {first.false_positives}"
    )
    for s in results:
        click.echo(f"  {s.profile:<20} raw {s.raw:8.3f}  normalised {s.normalized:6.1f}")


def run_simulated(
    enterprises: int, days: float, seed: int
) -> tuple[FailureReport, FailureReport, int]:
    """Backfill the simulated city an hour per batch through the monitor; score on failures.

    Returns the report over all failures, the report over those whose equipment ran at least
    `SEEN_RUNNING_MS` of their precursor, and how many equipment were watched.
    """
    from kiln.simulator.engine import Simulator
    from kiln.simulator.world import build_city

    doc = build_city(seed=seed, enterprises=enterprises)
    catalog = catalog_of_document(doc)
    sim = Simulator(doc, catalog, seed=seed, start_ms=SIM_START_MS)
    mon = AnomalyMonitor(catalog)
    raises: dict[int, list[int]] = {}
    states = []
    hours = round(days * 24)
    for h in range(hours):
        bundle = sim.advance(SIM_START_MS + (h + 1) * HOUR_MS)
        states.append(bundle.states)
        for c in mon.observe(bundle.points, bundle.states):
            if c.active:
                raises.setdefault(c.equipment_id, []).append(c.ts_ms)
    truth = [
        KnownFailure(f.equipment_id, f.precursor_start_ms, f.failure_ms, f.end_ms)
        for f in sim.failures
    ]
    ran = running_during(
        truth,
        np.concatenate([s.equipment for s in states]),
        np.concatenate([s.ts_ms for s in states]),
        np.concatenate([s.state for s in states]) == EquipmentState.RUNNING,
    )
    n_eq, start_ms = len(catalog.equipment), SIM_START_MS + mon.settings.warmup_ms
    end_ms = SIM_START_MS + hours * HOUR_MS
    report = evaluate(raises, truth, equipment=n_eq, start_ms=start_ms, end_ms=end_ms)
    # Failures not seen running still define their spans, so a raise in them is not false.
    seen = [f for f, r in zip(truth, ran, strict=True) if r >= SEEN_RUNNING_MS]
    hidden = [f for f, r in zip(truth, ran, strict=True) if r < SEEN_RUNNING_MS]
    seen_report = evaluate(
        raises, seen, equipment=n_eq, start_ms=start_ms, end_ms=end_ms, excused=hidden
    )
    return report, seen_report, n_eq


def catalog_of_document(doc: dict[str, Any]) -> AssetCatalog:
    """Number an asset document's assets in document order, one signal per template signal."""
    from kiln.domain.assets import Enterprise, Equipment, Line, Signal, Site, Station
    from kiln.domain.templates import TEMPLATES

    ents: list[Enterprise] = []
    sites: list[Site] = []
    lines: list[Line] = []
    stations: list[Station] = []
    equipment: list[Equipment] = []
    signals: list[Signal] = []
    for e in doc["enterprises"]:
        eid = len(ents) + 1
        ents.append(Enterprise(eid, e["slug"], e["name"], e["district"], e["industry"]))
        for s in e["sites"]:
            sites.append(Site(len(sites) + 1, eid, s["slug"], s["name"], s["timezone"]))
            for ln in s["lines"]:
                lid = len(lines) + 1
                lines.append(Line(lid, eid, len(sites), ln["slug"], ln["name"], ln["area"]))
                for st in ln["stations"]:
                    tid = len(stations) + 1
                    stations.append(Station(tid, eid, lid, st["slug"], st["name"], st["position"]))
                    for q in st["equipment"]:
                        qid = len(equipment) + 1
                        equipment.append(
                            Equipment(qid, eid, tid, q["slug"], q["name"], q["template"])
                        )
                        for spec in TEMPLATES[q["template"]].signals:
                            signals.append(
                                Signal(
                                    len(signals) + 1, eid, qid, spec.name, spec.unit, "gauge",
                                    spec.lo, spec.hi,
                                )
                            )  # fmt: skip
    return AssetCatalog.build(ents, sites, lines, stations, equipment, signals)


@detect.command()
@click.option("--enterprises", type=int, default=3, show_default=True, help="Enterprises.")
@click.option("--days", type=float, default=14.0, show_default=True, help="Days of history.")
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the city.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def simulated(enterprises: int, days: float, seed: int, as_json: bool) -> None:
    """Run the monitor over the simulated city's history and score it on injected failures."""
    if enterprises < 1 or days <= 1:
        raise click.BadParameter("need at least one enterprise and more than one day")
    r, seen, n_eq = run_simulated(enterprises, days, seed)
    out: dict[str, Any] = {"equipment": n_eq, **_figures(r), "seen_running": _figures(seen)}
    if as_json:
        click.echo(json.dumps(out, indent=2))
        return
    click.echo(
        f"{n_eq} equipment, {days:g} days: detected {r.detected}/{r.failures} failures "
        f"({100 * r.detection_rate:.0f} %) before they happened; "
        f"{seen.detected}/{seen.failures} of those whose precursor ran at least "
        f"{SEEN_RUNNING_MS // 60_000} min\n"
        f"lead time: median {out['median_lead_min']:.0f} min, mean {out['mean_lead_min']:.0f} min\n"
        f"false alarms: {r.false_alarms} ({r.false_per_equipment_day:.3f} per equipment-day, "
        f"{r.false_per_equipment_week:.2f} per equipment-week)"
    )


def _figures(r: FailureReport) -> dict[str, Any]:
    return {
        "failures": r.failures,
        "detected": r.detected,
        "detection_rate": r.detection_rate,
        "median_lead_min": r.median_lead_ms / 60_000,
        "mean_lead_min": r.mean_lead_ms / 60_000,
        "false_alarms": r.false_alarms,
        "false_per_equipment_day": r.false_per_equipment_day,
        "false_per_equipment_week": r.false_per_equipment_week,
    }


try:  # the AI4I command lives in its own module, written alongside this one
    from kiln.cli.detect_ai4i import ai4i

    detect.add_command(ai4i)
except ImportError:  # pragma: no cover - until that module exists
    pass
