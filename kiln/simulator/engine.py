"""The simulator: a factory city's equipment, advanced in time on demand.

`advance(to_ms)` returns everything the equipment reported in [previous, to_ms): telemetry
points, state changes and production counts, as columnar batches with catalogue ids. The result
does not depend on how time is cut: a day in one call or in 86 400 one-second calls is the same
data. Live mode is calling advance(now) every second; backfill is calling it an hour at a time.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

import numpy as np

from kiln.domain.batches import Bundle, PointBatch
from kiln.domain.catalog import AssetCatalog
from kiln.simulator.counts import MINUTE_MS, CountMeter
from kiln.simulator.episodes import EpisodeStream, stop_kinds
from kiln.simulator.failure_schedule import FailureSchedule, Subject
from kiln.simulator.failures import InjectedFailure
from kiln.simulator.fleet import Machine, read_fleet
from kiln.simulator.shifts import HOUR_MS
from kiln.simulator.signals import SignalBank
from kiln.simulator.timeline import StatePlan

SPEED_LOSS_SHARE = 0.12  # share of running spells at reduced speed (a performance loss)
KEEP_MS = HOUR_MS  # how much plan history to keep behind the present


class Simulator:
    """Points, state changes and counts of every equipment in an asset document, on demand.

    The catalogue gives the ids: `equipment_id(enterprise, equipment)` and `series_id(equipment,
    signal)` for every template signal; a missing one is BadInput naming the equipment. Each
    equipment fails about `failure_rate_per_week` times a week with a precursor (`failures`).
    """

    def __init__(
        self,
        doc: dict[str, Any],
        catalog: AssetCatalog,
        *,
        seed: int,
        start_ms: int,
        failure_rate_per_week: float = 0.5,
    ) -> None:
        if failure_rate_per_week < 0:
            raise ValueError("failure_rate_per_week must be >= 0")
        self.seed = seed
        self.machines: list[Machine] = read_fleet(doc, catalog, seed=seed)
        self._now_ms = start_ms
        subjects = [
            Subject(m.key(seed, "failures"), m.equipment_id, m.template.key, m.calendar,
                    m.template.mttr_min)
            for m in self.machines
        ]  # fmt: skip
        streams = [_episodes(m, seed, start_ms) for m in self.machines]
        self._failures = FailureSchedule(subjects, streams, start_ms, failure_rate_per_week)
        self._plan = StatePlan(
            streams,
            [m.calendar for m in self.machines],
            self._failures,
            np.array([m.equipment_id for m in self.machines], dtype=np.int64),
            start_ms,
        )
        self._banks = _banks(self.machines, seed)
        self._meter = CountMeter(self.machines, start_ms, seed)
        self._plan.extend_to(start_ms + 1, keep_from_ms=start_ms)

    @property
    def now_ms(self) -> int:
        """How far the simulation has advanced (the next call starts here)."""
        return self._now_ms

    @property
    def failures(self) -> list[InjectedFailure]:
        """Ground truth: every failure whose precursor has begun so far, by precursor start."""
        return self._failures.injected(self._now_ms)

    def advance(self, to_ms: int) -> Bundle:
        """Everything reported with now_ms <= ts < to_ms; then now_ms becomes to_ms.

        Points come grouped by template and signal, not in time order (sort them to store);
        state changes come in time order; counts come at minute ends, for minutes with running.
        Backfill an hour or so per call: a day of the default city is ~40 M points (~1 GB).
        """
        start = self._now_ms
        if to_ms < start:
            raise ValueError(f"advance to {to_ms} is before the simulation's present {start}")
        if to_ms == start:
            return Bundle()
        self._plan.extend_to(to_ms, keep_from_ms=start - KEEP_MS)
        active = self._failures.active(start - MINUTE_MS, to_ms)
        columns = [c for bank in self._banks for c in bank.points(start, to_ms, self._plan, active)]
        points = (
            PointBatch(
                np.concatenate([c[0] for c in columns]),
                np.concatenate([c[1] for c in columns]),
                np.concatenate([c[2] for c in columns]),
            )
            if columns
            else PointBatch.empty()
        )
        bundle = Bundle(
            points,
            self._plan.changes(start, to_ms),
            self._meter.counts(start, to_ms, self._plan, active),
        )
        self._now_ms = to_ms
        return bundle


def _episodes(m: Machine, seed: int, start_ms: int) -> EpisodeStream:
    kinds = stop_kinds(
        m.template, flow_share=m.flow_share, flow_reason=m.flow_reason, manual=m.manual
    )
    loss = 0.0 if m.template.continuous else SPEED_LOSS_SHARE
    return EpisodeStream(m.key(seed, "episodes"), start_ms, kinds, speed_loss_share=loss)


def _banks(machines: list[Machine], seed: int) -> list[SignalBank]:
    banks, lo = [], 0
    for _, group in groupby(machines, key=lambda m: m.template.key):
        members = list(group)
        banks.append(SignalBank(members[0].template, lo, members, seed))
        lo += len(members)
    return banks
