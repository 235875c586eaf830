"""The asset catalogue in memory: every asset row, indexed for the lookups ingest needs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from kiln.domain.assets import Enterprise, Equipment, Line, Signal, Site, Station


@dataclass(slots=True)
class AssetCatalog:
    """All assets, with dictionaries from names to ids; rebuilt whenever assets change."""

    enterprises: dict[int, Enterprise] = field(default_factory=dict)
    sites: dict[int, Site] = field(default_factory=dict)
    lines: dict[int, Line] = field(default_factory=dict)
    stations: dict[int, Station] = field(default_factory=dict)
    equipment: dict[int, Equipment] = field(default_factory=dict)
    signals: dict[int, Signal] = field(default_factory=dict)
    enterprise_by_slug: dict[str, int] = field(default_factory=dict)
    equipment_by_path: dict[tuple[int, str], int] = field(default_factory=dict)
    series_by_name: dict[tuple[int, str], int] = field(default_factory=dict)
    signals_of: dict[int, list[int]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        enterprises: Iterable[Enterprise],
        sites: Iterable[Site],
        lines: Iterable[Line],
        stations: Iterable[Station],
        equipment: Iterable[Equipment],
        signals: Iterable[Signal],
    ) -> AssetCatalog:
        """Index the given rows."""
        cat = cls(
            enterprises={e.id: e for e in enterprises},
            sites={s.id: s for s in sites},
            lines={x.id: x for x in lines},
            stations={s.id: s for s in stations},
            equipment={e.id: e for e in equipment},
            signals={s.id: s for s in signals},
        )
        cat.enterprise_by_slug = {e.slug: e.id for e in cat.enterprises.values()}
        cat.equipment_by_path = {(e.enterprise_id, e.slug): e.id for e in cat.equipment.values()}
        for s in cat.signals.values():
            cat.series_by_name[(s.equipment_id, s.name)] = s.id
            cat.signals_of.setdefault(s.equipment_id, []).append(s.id)
        return cat

    def equipment_id(self, enterprise_slug: str, equipment_slug: str) -> int | None:
        """The id of an enterprise's equipment, or None if either is unknown."""
        ent = self.enterprise_by_slug.get(enterprise_slug)
        return None if ent is None else self.equipment_by_path.get((ent, equipment_slug))

    def series_id(self, equipment_id: int, signal: str) -> int | None:
        """The series id of an equipment's signal, or None if unknown."""
        return self.series_by_name.get((equipment_id, signal))

    def equipment_of_enterprise(self, enterprise_id: int) -> list[Equipment]:
        """The enterprise's equipment, in id order."""
        return [e for e in self.equipment.values() if e.enterprise_id == enterprise_id]

    def line_of(self, equipment_id: int) -> Line:
        """The line an equipment stands on."""
        return self.lines[self.stations[self.equipment[equipment_id].station_id].line_id]
