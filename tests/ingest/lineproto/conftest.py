"""Fixtures of the line-protocol tests: the small city's catalogue, and the API's clients."""

from __future__ import annotations

import pytest

from kiln.domain.catalog import AssetCatalog
from kiln.store.duckdb import DuckDBStore
from tests.api.conftest import clients
from tests.conftest import small_city

__all__ = ["catalog", "clients"]


@pytest.fixture(scope="module")
def catalog() -> AssetCatalog:
    """The small city's assets, indexed (no store needed after)."""
    store = DuckDBStore(":memory:")
    cat = store.import_assets(small_city())
    store.close()
    return cat
