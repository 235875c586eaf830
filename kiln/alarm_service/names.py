"""What people call an alarm's enterprise and equipment, from the asset catalogue."""

from __future__ import annotations

from collections.abc import Callable

from kiln.domain.alarms import AlarmEvent
from kiln.domain.catalog import AssetCatalog
from kiln.notify.payload import Names, fallback_names
from kiln.store.base import Store


def names_of(catalog: AssetCatalog, event: AlarmEvent) -> Names:
    """The names of an event's enterprise and equipment, with its path in the plant."""
    ent = catalog.enterprises.get(event.enterprise_id)
    eq = catalog.equipment.get(event.equipment_id)
    if ent is None or eq is None:
        return fallback_names(event)
    parts = [ent.slug]
    station = catalog.stations.get(eq.station_id)
    line = catalog.lines.get(station.line_id) if station else None
    site = catalog.sites.get(line.site_id) if line else None
    parts += [x.slug for x in (site, line, station) if x is not None]
    parts.append(eq.slug)
    return Names(ent.slug, ent.name, eq.name, "/".join(parts))


def describer(store: Store) -> Callable[[AlarmEvent], Names]:
    """A describe callback for the notifier; the store keeps its catalogue in memory."""
    return lambda event: names_of(store.catalog(), event)
