"""A benchmark enterprise: robots with 10 signals each, as many as a figure needs."""

from __future__ import annotations

from typing import Any

ENTERPRISE = "bench-co"
TEMPLATE = "industrial_robot"  # 10 signals per robot
SIGNALS_PER_ROBOT = 10
ROBOTS_PER_LINE = 25


def bench_city(signals: int) -> dict[str, Any]:
    """One enterprise with ceil(signals / 10) robots, 25 to a line, one station each."""
    robots = -(-signals // SIGNALS_PER_ROBOT)
    lines = []
    for first in range(0, robots, ROBOTS_PER_LINE):
        stations = [
            {
                "slug": f"op{k + 1}",
                "position": k + 1,
                "equipment": [{"slug": f"robot-{first + k + 1}", "template": TEMPLATE}],
            }
            for k in range(min(ROBOTS_PER_LINE, robots - first))
        ]
        lines.append({"slug": f"line-{first // ROBOTS_PER_LINE + 1}", "stations": stations})
    return {
        "enterprises": [
            {
                "slug": ENTERPRISE,
                "name": "Benchmark Co",
                "district": "nanhai",
                "industry": "3491",
                "sites": [{"slug": "plant", "lines": lines}],
            }
        ]
    }


def write_yaml(doc: dict[str, Any], path: Any) -> None:
    """Write an asset document as YAML (the format a user would hand to `assets = [...]`)."""
    import yaml

    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
