"""The seed: the 2018-2020 plan, its indicators and the city's published figures, loaded into
an empty store (and never over what a city admin has changed)."""

from __future__ import annotations

import csv
import io
import tomllib
from importlib import resources
from typing import Any

from kiln.plan.documents import config_from, plan_from, published_from
from kiln.plan.storage import PlanStore

CONFIG_KIND, CONFIG_KEY, PLAN_KIND = "config", "indicators", "plan"


def seed_document() -> dict[str, Any]:
    """The seed file's contents (plans, indicators, industry sets)."""
    text = resources.files("kiln.plan").joinpath("seed/plan.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def seed_published_rows() -> list[dict[str, str]]:
    """The published figures shipped with Kiln, as CSV rows."""
    text = resources.files("kiln.plan").joinpath("seed/published.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def ensure_seeded(plans: PlanStore) -> bool:
    """Load the seed when no indicator configuration is stored yet; whether it did."""
    if plans.documents(CONFIG_KIND):
        return False
    doc = seed_document()
    config = config_from(doc)
    for key, pdoc in doc.get("plans", {}).items():
        plan_from(key, pdoc, config, where=f"seed plans.{key}")  # refuse a broken seed early
        plans.put_document(PLAN_KIND, key, pdoc)
    rows = seed_published_rows()
    plans.put_published(
        [
            published_from(r, config, where=f"seed published.csv line {i + 2}")
            for i, r in enumerate(rows)
        ]
    )
    plans.put_document(
        CONFIG_KIND,
        CONFIG_KEY,
        {"industry_sets": doc.get("industry_sets", {}), "indicators": doc.get("indicators", {})},
    )
    return True
