"""The writer thread: group commits, batch-id idempotency across a group, isolation of a bad
bundle, back-pressure."""

from __future__ import annotations

import asyncio

import pytest

from kiln.domain.batches import Bundle, PointBatch
from kiln.store.duckdb import DuckDBStore
from kiln.store.writer import StoreWriter
from tests.conftest import NOW_MS


def series(store: DuckDBStore) -> int:
    cat = store.catalog()
    press = cat.equipment_id("acme-auto", "press-1")
    assert press is not None
    sid = cat.series_id(press, "tonnage")
    assert sid is not None
    return sid


async def test_concurrent_submits_are_committed_once_each(store: DuckDBStore) -> None:
    sid = series(store)
    writer = StoreWriter(store, max_pending=8)
    try:
        bundles = [Bundle(points=PointBatch.of([sid], [NOW_MS + i], [float(i)])) for i in range(50)]
        # Every batch twice, under its own id: the second copy must be skipped, grouped or not.
        results = await asyncio.gather(
            *(writer.submit(b, batch_id=f"b{i}") for i, b in enumerate(bundles)),
            *(writer.submit(b, batch_id=f"b{i}") for i, b in enumerate(bundles)),
        )
    finally:
        writer.close()
    assert sorted(results) == [0] * 50 + [1] * 50
    got = store.points([sid], NOW_MS, NOW_MS + 100).to_pydict()
    assert got["value"] == [float(i) for i in range(50)]


async def test_a_bad_bundle_fails_alone_and_the_rest_of_its_group_commits(
    store: DuckDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = series(store)
    original = store.write_group

    def picky(items: list[tuple[Bundle, str | None]]) -> list[int]:
        if any(bid == "poison" for _, bid in items):
            raise RuntimeError("constraint violated")
        return original(items)

    monkeypatch.setattr(store, "write_group", picky)
    writer = StoreWriter(store)
    good = Bundle(points=PointBatch.of([sid], [NOW_MS], [1.0]))
    try:
        results = await asyncio.gather(
            writer.submit(good, batch_id="ok-1"),
            writer.submit(good, batch_id="poison"),
            writer.submit(good, batch_id="ok-2"),
            return_exceptions=True,
        )
    finally:
        writer.close()
    # Alone, "poison" goes through write(), which writes via write_group too and fails.
    assert [type(r).__name__ if isinstance(r, BaseException) else r for r in results] == [
        1,
        "RuntimeError",
        1,
    ]
    assert store.points([sid], NOW_MS, NOW_MS + 1).num_rows == 2


def test_a_stopped_writer_refuses_work(store: DuckDBStore) -> None:
    writer = StoreWriter(store)
    writer.close()
    with pytest.raises(Exception, match="stopped"):
        writer.submit_sync(Bundle())
