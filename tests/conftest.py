"""Fixtures shared by the suite: stores per backend, a runtime, a small asset document."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiln.clock import ManualClock
from kiln.config import load_settings
from kiln.runtime import Runtime, build_runtime
from kiln.store.duckdb import DuckDBStore
from kiln.store.postgres import PostgresStore
from tests.plant import plant_db, plant_runtime  # noqa: F401  (fixtures)
from tests.postgres import postgres_server, postgres_url  # noqa: F401  (fixtures)

NOW_MS = 1_764_000_000_000  # 2025-11-24T16:00:00Z: a fixed "now" for every test

BACKENDS = ["duckdb", "postgres"]


def small_city() -> dict[str, Any]:
    """Two enterprises, a press line and a kiln, enough for every store and API path."""
    return {
        "enterprises": [
            {
                "slug": "acme-auto",
                "name": "Acme Auto Parts",
                "name_zh": "艾克米汽配",
                "district": "nanhai",
                "industry": "3670",
                "sites": [
                    {
                        "slug": "nanhai-1",
                        "name": "Nanhai plant 1",
                        "lines": [
                            {
                                "slug": "tandem-a",
                                "name": "Tandem line A",
                                "area": "press-shop",
                                "stations": [
                                    {
                                        "slug": "op10",
                                        "position": 1,
                                        "equipment": [
                                            {
                                                "slug": "press-1",
                                                "name": "Draw press",
                                                "template": "press",
                                                "ideal_cycle_s": 6.0,
                                            }
                                        ],
                                    },
                                    {
                                        "slug": "op20",
                                        "position": 2,
                                        "operators": 2,
                                        "equipment": [
                                            {"slug": "robot-1", "template": "industrial_robot"}
                                        ],
                                    },
                                ],
                            }
                        ],
                    }
                ],
            },
            {
                "slug": "huamei-ceramics",
                "name": "Huamei Ceramics",
                "district": "chancheng",
                "industry": "C3071",
                "sites": [
                    {
                        "slug": "plant",
                        "lines": [
                            {
                                "slug": "kiln-1",
                                "stations": [
                                    {
                                        "slug": "firing",
                                        "equipment": [
                                            {"slug": "kiln-1", "template": "roller_kiln"}
                                        ],
                                    }
                                ],
                            }
                        ],
                    }
                ],
            },
        ]
    }


def open_store(backend: str, request: pytest.FixtureRequest, path: Path) -> Any:
    """An empty store of a backend: a DuckDB file at path, or a fresh PostgreSQL database."""
    if backend == "postgres":
        return PostgresStore(request.getfixturevalue("postgres_url"))
    return DuckDBStore(path)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DuckDBStore]:
    """An empty store of each backend, with the small city's assets."""
    s = open_store(request.param, request, tmp_path / "kiln.duckdb")
    s.import_assets(small_city())
    yield s
    s.close()


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    """A runtime on a temp DuckDB file with the small city, a manual clock, no simulator."""
    settings = load_settings(
        environ={},
        overrides={
            "store": {"path": str(tmp_path / "kiln.duckdb")},
            "simulator": {"enabled": False},
        },
    )
    rt = build_runtime(settings, clock=ManualClock(NOW_MS), simulate=False)
    rt.store.import_assets(small_city())
    yield rt
    rt.close()
