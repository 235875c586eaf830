"""CityFeed: the simulated city as named values, for the protocol speakers.

The speakers (an MQTT publisher, Sparkplug edge nodes, OPC UA and Modbus servers) need names,
not Kiln's ids: which enterprise, site, line, station, equipment and signal a value belongs to.
The feed builds the city in a private in-memory catalogue, advances the simulator, and hands out
each step's bundle with the lookups that turn ids back into names.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiln.domain.batches import Bundle
from kiln.domain.catalog import AssetCatalog
from kiln.simulator.engine import Simulator
from kiln.simulator.world import build_city
from kiln.store.duckdb import DuckDBStore


@dataclass(frozen=True, slots=True)
class EquipmentPath:
    """Where an equipment stands, by slugs (ISA-95: enterprise/site/line/station/equipment)."""

    enterprise: str
    site: str
    line: str
    station: str
    equipment: str
    template: str

    def topic(self, root: str) -> str:
        """The unified-namespace topic of the equipment under a root."""
        return "/".join((root, self.enterprise, self.site, self.line, self.station, self.equipment))


@dataclass(frozen=True, slots=True)
class SeriesName:
    """A series id's equipment and signal."""

    equipment_id: int
    signal: str
    unit: str


class CityFeed:
    """The seeded city, stepped in time, with names for every id it produces."""

    def __init__(self, *, seed: int = 7, enterprises: int = 40, start_ms: int) -> None:
        self.doc = build_city(seed=seed, enterprises=enterprises)
        store = DuckDBStore(":memory:")
        try:
            self.catalog: AssetCatalog = store.import_assets(self.doc, where="simulator")
        finally:
            store.close()
        self.sim = Simulator(self.doc, self.catalog, seed=seed, start_ms=start_ms - start_ms % 1000)
        cat = self.catalog
        self.paths: dict[int, EquipmentPath] = {}
        for e in cat.equipment.values():
            station = cat.stations[e.station_id]
            line = cat.lines[station.line_id]
            self.paths[e.id] = EquipmentPath(
                cat.enterprises[e.enterprise_id].slug,
                cat.sites[line.site_id].slug,
                line.slug,
                station.slug,
                e.slug,
                e.template,
            )
        self.series: dict[int, SeriesName] = {
            s.id: SeriesName(s.equipment_id, s.name, s.unit) for s in cat.signals.values()
        }

    @property
    def now_ms(self) -> int:
        """How far the city has been simulated."""
        return self.sim.now_ms

    def step(self, to_ms: int) -> Bundle:
        """Everything the city produced since the last step, up to to_ms."""
        return self.sim.advance(to_ms) if to_ms > self.sim.now_ms else Bundle()

    def equipment_of(self, enterprise: str) -> list[int]:
        """The ids of one enterprise's equipment, in id order."""
        eid = self.catalog.enterprise_by_slug[enterprise]
        return [e.id for e in self.catalog.equipment_of_enterprise(eid)]
