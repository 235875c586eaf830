"""Enterprise-level indicators an enterprise may consent to show the city, by name."""

from __future__ import annotations

# Names the plan tracker and KPI roll-ups use; an enterprise grants the city each one by name.
SHAREABLE_INDICATORS: dict[str, str] = {
    "equipment_online": "equipment connected and online",
    "robots_online": "robots installed and online",
    "robot_utilisation": "robot utilisation",
    "oee": "overall equipment effectiveness by line",
    "energy_per_unit": "energy per produced unit",
    "output_value": "monthly output value",
}
