"""Which OPC UA variable becomes which signal, and the series ids those signals have."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from kiln.domain.catalog import AssetCatalog


@dataclass(frozen=True, slots=True)
class Target:
    """One monitored variable and the equipment signal its values become."""

    node: str  # node id as text, e.g. "ns=2;s=press-1.tonnage"
    equipment: str  # equipment slug
    signal: str
    found_by: str = "node"  # "node" (configured), "folder" (browse name) or "robot" (OPC 40010)

    def label(self) -> str:
        """The signal's path, for messages: ``press-1/tonnage``."""
        return f"{self.equipment}/{self.signal}"


def merge(*tiers: Iterable[Target]) -> list[Target]:
    """Targets of all tiers, where a later tier never maps a signal an earlier one already has.

    Configured nodes come first, then folder variables, then robot variables, so each
    signal is fed by the most specific setting and no series gets two sources.

    >>> a = Target("ns=2;s=a", "press-1", "tonnage")
    >>> b = Target("ns=2;s=b", "press-1", "tonnage", "folder")
    >>> c = Target("ns=2;s=c", "press-1", "lube_temp", "folder")
    >>> [t.node for t in merge([a], [b, c])]
    ['ns=2;s=a', 'ns=2;s=c']
    """
    taken: set[tuple[str, str]] = set()
    out: list[Target] = []
    for tier in tiers:
        batch = list(tier)
        out.extend(t for t in batch if (t.equipment, t.signal) not in taken)
        taken.update((t.equipment, t.signal) for t in batch)
    return out


class SeriesMap:
    """The series id of each target (by position), resolved again whenever the catalogue changes.

    Unknown mappings resolve to -1 with the reason, so values of a node whose equipment is
    registered later start flowing without a reconnect.
    """

    def __init__(self, targets: Sequence[Target], enterprise: str) -> None:
        self.targets = list(targets)
        self.enterprise = enterprise
        self.series: NDArray[np.int64] = np.full(len(self.targets), -1, dtype=np.int64)
        self.why: list[str | None] = ["not resolved yet"] * len(self.targets)
        self.enterprise_id: int | None = None
        self._catalog: AssetCatalog | None = None

    def resolve(self, catalog: AssetCatalog) -> NDArray[np.int64]:
        """Series ids for the catalogue (cached until the sink hands out a new catalogue)."""
        if catalog is self._catalog:
            return self.series
        self._catalog = catalog
        self.enterprise_id = catalog.enterprise_by_slug.get(self.enterprise)
        for i, t in enumerate(self.targets):
            sid, why = _lookup(catalog, self.enterprise_id, self.enterprise, t)
            self.series[i] = -1 if sid is None else sid
            self.why[i] = why
        return self.series


def _lookup(
    catalog: AssetCatalog, enterprise_id: int | None, enterprise: str, t: Target
) -> tuple[int | None, str | None]:
    if enterprise_id is None:
        return None, f"unknown enterprise {enterprise!r}"
    eid = catalog.equipment_by_path.get((enterprise_id, t.equipment))
    if eid is None:
        return None, f"unknown equipment {t.equipment!r} of enterprise {enterprise!r}"
    sid = catalog.series_by_name.get((eid, t.signal))
    if sid is None:
        return None, f"unknown signal {t.signal!r} of equipment {t.equipment!r}"
    return sid, None


def known_signals(catalog: AssetCatalog, enterprise: str, equipment: str) -> frozenset[str]:
    """The signal names an enterprise's equipment has (empty when either is unknown)."""
    eid = catalog.equipment_id(enterprise, equipment)
    if eid is None:
        return frozenset()
    return frozenset(catalog.signals[s].name for s in catalog.signals_of.get(eid, []))
