"""Fixtures for the simulator tests: a hand-made line with one equipment of each template."""

from __future__ import annotations

from typing import Any

import pytest

from kiln.domain.templates import TEMPLATES

# 2025-11-24T00:00:00Z, a Monday (08:00 in Foshan): shifts change at 00:00 and 12:00 UTC.
MONDAY_MS = 1_763_942_400_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000


def _station(slug: str, position: int, operators: int, *equipment: tuple[str, str, float]) -> Any:
    return {
        "slug": slug,
        "name": slug.upper(),
        "position": position,
        "operators": operators,
        "equipment": [
            {"slug": q, "name": q, "template": t, "ideal_cycle_s": c} for q, t, c in equipment
        ],
    }


def one_of_each(*, copies: int = 1) -> dict[str, Any]:
    """One enterprise, one line: `copies` stations per template, then two manual stations.

    The cobot at the last station is the line's slow manual bottleneck.
    """
    n = len(TEMPLATES)
    stations = [
        _station(
            f"op{10 * (n * c + i + 1)}",
            n * c + i + 1,
            0,
            (f"{key.replace('_', '-')}-{c + 1}", key, t.ideal_cycle_s),
        )
        for c in range(copies)
        for i, (key, t) in enumerate(TEMPLATES.items())
    ]
    stations.append(_station("pack", 100, 2))
    stations.append(_station("fit", 101, 1, ("cobot-1", "industrial_robot", 120.0)))
    line = {"slug": "mixed-1", "name": "Mixed 1", "area": "x", "stations": stations}
    site = {"slug": "plant-1", "name": "Plant 1", "timezone": "Asia/Shanghai", "lines": [line]}
    enterprise = {
        "slug": "mixed-works",
        "name": "Mixed Works",
        "name_zh": "综合工厂",
        "district": "nanhai",
        "industry": "3670",
        "robot_maker": False,
        "sites": [site],
    }
    return {"enterprises": [enterprise]}


@pytest.fixture
def mixed_doc() -> dict[str, Any]:
    """The one-of-each document."""
    return one_of_each()
