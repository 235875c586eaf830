"""The store contract: every backend passes these (the `store` fixture is parametrised)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiln.domain.batches import Bundle, CountBatch, PointBatch, StateBatch
from kiln.domain.states import EquipmentState as S
from kiln.errors import BadInput
from kiln.store.duckdb import DuckDBStore
from tests.conftest import NOW_MS, small_city

T0 = NOW_MS - 3_600_000


def ids(store: DuckDBStore) -> tuple[int, int, int]:
    cat = store.catalog()
    press = cat.equipment_id("acme-auto", "press-1")
    assert press is not None
    tonnage = cat.series_id(press, "tonnage")
    lube = cat.series_id(press, "lube_temp")
    assert tonnage is not None
    assert lube is not None
    return press, tonnage, lube


def test_points_come_back_ordered_by_series_then_time(store: DuckDBStore) -> None:
    _, a, b = ids(store)
    store.write(Bundle(points=PointBatch.of([b, a, a, b], [T0 + 2, T0 + 1, T0, T0], [4, 2, 1, 3])))
    got = store.points([a, b], T0, T0 + 10).to_pydict()
    assert got["series"] == sorted([a, a, b, b])
    assert got["value"] == ([1.0, 2.0, 3.0, 4.0] if a < b else [3.0, 4.0, 1.0, 2.0])


def test_points_window_is_half_open(store: DuckDBStore) -> None:
    _, a, _ = ids(store)
    store.write(Bundle(points=PointBatch.of([a] * 3, [T0, T0 + 1000, T0 + 2000], [1, 2, 3])))
    assert store.points([a], T0, T0 + 2000).to_pydict()["value"] == [1.0, 2.0]


def test_a_failing_bundle_stores_nothing(
    store: DuckDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    press, a, _ = ids(store)

    def fail(*_: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(type(store), "_write_counts", staticmethod(fail))
    bundle = Bundle(
        points=PointBatch.of([a], [T0], [1.0]),
        states=StateBatch.of([press], [T0], [S.RUNNING]),
        counts=CountBatch.of([press], [T0], [5], [0]),
    )
    with pytest.raises(RuntimeError, match="disk full"):
        store.write(bundle)
    assert store.points([a], 0, NOW_MS).num_rows == 0
    assert store.current_states([press]).num_rows == 0
    assert store.last_values([a]).num_rows == 0


def test_a_batch_written_twice_with_its_id_is_stored_once(store: DuckDBStore) -> None:
    _, a, _ = ids(store)
    bundle = Bundle(points=PointBatch.of([a, a], [T0, T0 + 1], [1.0, 2.0]))
    assert store.write(bundle, batch_id="gw-1") == 2
    assert store.write(bundle, batch_id="gw-1") == 0
    assert store.points([a], 0, NOW_MS).num_rows == 2


def test_buckets_aggregate_each_bucket(store: DuckDBStore) -> None:
    _, a, _ = ids(store)
    assert T0 % 60_000 == 0
    ts = T0 + np.arange(120) * 1000  # two minutes at 1 Hz
    store.write(Bundle(points=PointBatch.of([a] * 120, ts, np.arange(120.0))))
    got = store.buckets(a, T0, T0 + 120_000, bucket_ms=60_000).to_pydict()
    assert got == {
        "ts_ms": [T0, T0 + 60_000],
        "avg": [29.5, 89.5],
        "min": [0.0, 60.0],
        "max": [59.0, 119.0],
        "last": [59.0, 119.0],
        "count": [60, 60],
    }


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(span_s=st.integers(1, 40 * 86_400), max_points=st.integers(1, 2_000))
def test_buckets_never_exceed_max_points(store: DuckDBStore, span_s: int, max_points: int) -> None:
    _, a, _ = ids(store)
    if store.points([a], 0, NOW_MS + 1).num_rows == 0:
        ts = NOW_MS - np.arange(0, 40 * 86_400, 97) * 1000
        store.write(Bundle(points=PointBatch.of(np.full(len(ts), a), ts, np.ones(len(ts)))))
    table = store.buckets(a, NOW_MS - span_s * 1000, NOW_MS + 1, max_points=max_points)
    assert table.num_rows <= max_points


def test_last_value_is_the_latest_even_when_written_out_of_order(store: DuckDBStore) -> None:
    _, a, b = ids(store)
    store.write(Bundle(points=PointBatch.of([a, b], [T0 + 5000, T0], [5.0, 7.0])))
    store.write(Bundle(points=PointBatch.of([a], [T0 + 1000], [1.0])))  # late, older point
    got = store.last_values([a, b]).to_pydict()
    assert dict(zip(got["series"], got["value"], strict=True)) == {a: 5.0, b: 7.0}
    assert store.last_values().num_rows == 2


def test_state_intervals_tile_the_window(store: DuckDBStore) -> None:
    press, _, _ = ids(store)
    store.write(
        Bundle(
            states=StateBatch.of(
                [press] * 4,
                [T0 - 60_000, T0 + 600_000, T0 + 900_000, T0 + 1_200_000],
                [S.RUNNING, S.DOWN_FAULT, S.IDLE, S.RUNNING],
                [None, "overload", "starved", None],
            )
        )
    )
    rows = store.state_intervals([press], T0, T0 + 1_800_000).to_pylist()
    assert [(r["start_ms"] - T0, r["end_ms"] - T0, r["state"], r["reason"]) for r in rows] == [
        (0, 600_000, S.RUNNING, None),  # began before the window: clipped to its start
        (600_000, 900_000, S.DOWN_FAULT, "overload"),
        (900_000, 1_200_000, S.IDLE, "starved"),
        (1_200_000, 1_800_000, S.RUNNING, None),  # still open: runs to the window's end
    ]
    assert store.current_states([press]).to_pylist()[0]["state"] == S.RUNNING


def test_no_state_intervals_before_the_first_change(store: DuckDBStore) -> None:
    press, _, _ = ids(store)
    store.write(Bundle(states=StateBatch.of([press], [T0 + 1000], [S.SETUP])))
    rows = store.state_intervals([press], T0, T0 + 2000).to_pylist()
    assert [(r["start_ms"] - T0, r["end_ms"] - T0) for r in rows] == [(1000, 2000)]


def test_counts_are_summed_per_equipment_and_bucket(store: DuckDBStore) -> None:
    press, _, _ = ids(store)
    b0 = T0 - T0 % 60_000
    store.write(
        Bundle(
            counts=CountBatch.of(
                [press] * 3, [b0 + 1000, b0 + 2000, b0 + 61_000], [10, 5, 7], [1, 0, 2]
            )
        )
    )
    total = store.counts([press], b0, b0 + 120_000).to_pylist()
    assert [(r["good"], r["scrap"]) for r in total] == [(22, 3)]
    per_min = store.counts([press], b0, b0 + 120_000, bucket_ms=60_000).to_pylist()
    assert [(r["ts_ms"] - b0, r["good"], r["scrap"]) for r in per_min] == [
        (0, 15, 1),
        (60_000, 7, 2),
    ]


def test_compaction_keeps_every_point_and_every_answer(store: DuckDBStore) -> None:
    _, a, b = ids(store)
    ts = T0 + np.arange(300) * 1000
    for k in range(3):  # small live batches land in the hot table
        store.write(
            Bundle(
                points=PointBatch.of(
                    [a, b] * 50, np.repeat(ts[k * 50 : (k + 1) * 50], 2), np.arange(100.0) + k
                )
            )
        )
    before = store.points([a, b], 0, NOW_MS).to_pydict()
    buckets = store.buckets(a, T0, T0 + 300_000).to_pydict()
    # DuckDB moves the hot table's rows into points; PostgreSQL writes them in place.
    assert store.compact() == (300 if isinstance(store, DuckDBStore) else 0)
    assert store.hot_rows() == 0
    assert store.points([a, b], 0, NOW_MS).to_pydict() == before
    assert store.buckets(a, T0, T0 + 300_000).to_pydict() == buckets


def test_data_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "kiln.duckdb"
    s = DuckDBStore(path)
    s.import_assets(small_city())
    _, a, _ = ids(s)
    s.write(Bundle(points=PointBatch.of([a], [T0], [42.0])))
    s.close()
    again = DuckDBStore(path)
    try:
        assert again.points([a], 0, NOW_MS).to_pydict()["value"] == [42.0]
        assert again.catalog().series_id(ids(again)[0], "tonnage") == a
    finally:
        again.close()


def test_importing_the_same_assets_again_keeps_their_ids(store: DuckDBStore) -> None:
    before = ids(store)
    n = len(store.catalog().signals)
    store.import_assets(small_city())
    assert ids(store) == before
    assert len(store.catalog().signals) == n


def test_a_bad_asset_document_names_the_item_and_stores_nothing(store: DuckDBStore) -> None:
    doc = small_city()
    doc["enterprises"].append(
        {
            "slug": "new-co",
            "district": "nanhai",
            "industry": "3852",
            "sites": [
                {
                    "slug": "s",
                    "lines": [
                        {
                            "slug": "l",
                            "stations": [
                                {"slug": "st", "equipment": [{"slug": "x", "template": "toaster"}]}
                            ],
                        }
                    ],
                }
            ],
        }
    )
    n = len(store.catalog().enterprises)
    with pytest.raises(BadInput) as err:
        store.import_assets(doc, where="file.yaml")
    assert "enterprises[2].sites[0].lines[0].stations[0].equipment[0].template" in str(err.value)
    assert "toaster" in str(err.value)
    assert len(store.catalog().enterprises) == n


def test_stats_count_rows_and_bytes(store: DuckDBStore) -> None:
    _, a, _ = ids(store)
    store.write(Bundle(points=PointBatch.of([a] * 10, T0 + np.arange(10), np.ones(10))))
    stats = store.stats()
    assert stats.points == 10
    assert stats.bytes_on_disk > 0
    assert stats.bytes_per_point is not None


def test_a_state_without_reason_does_not_inherit_the_previous_reason(store: DuckDBStore) -> None:
    press, _, _ = ids(store)
    store.write(
        Bundle(
            states=StateBatch.of(
                [press, press], [T0, T0 + 1000], [S.IDLE, S.RUNNING], ["blocked", None]
            )
        )
    )
    now = store.current_states([press]).to_pylist()[0]
    assert (now["state"], now["reason"]) == (S.RUNNING, None)
    later = store.state_intervals([press], T0 + 2000, T0 + 3000).to_pylist()
    assert [(r["state"], r["reason"]) for r in later] == [(S.RUNNING, None)]


def test_a_group_stores_each_batch_id_once_even_when_repeated_inside_it(
    store: DuckDBStore,
) -> None:
    _, a, _ = ids(store)
    one = Bundle(points=PointBatch.of([a], [T0], [1.0]))
    two = Bundle(points=PointBatch.of([a], [T0 + 1], [2.0]))
    assert store.write(one, batch_id="gw-1") == 1
    added = store.write_group([(one, "gw-1"), (two, "gw-2"), (two, "gw-2"), (two, None)])
    assert added == [0, 1, 0, 1]
    assert store.points([a], T0, T0 + 10).to_pydict()["value"] == [1.0, 2.0, 2.0]


def test_a_failing_group_stores_nothing_and_claims_no_batch_id(
    store: DuckDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    press, a, _ = ids(store)

    def fail(*_: object) -> int:
        raise RuntimeError("disk full")

    with monkeypatch.context() as m:
        m.setattr(type(store), "_write_counts", staticmethod(fail))
        with pytest.raises(RuntimeError, match="disk full"):
            store.write_group(
                [
                    (Bundle(points=PointBatch.of([a], [T0], [1.0])), "gw-9"),
                    (Bundle(counts=CountBatch.of([press], [T0], [1], [0])), None),
                ]
            )
    assert store.points([a], T0, T0 + 10).num_rows == 0
    assert store.write(Bundle(points=PointBatch.of([a], [T0], [1.0])), batch_id="gw-9") == 1


def test_last_values_follow_the_latest_timestamp_not_arrival(store: DuckDBStore) -> None:
    _, a, b = ids(store)
    store.write(Bundle(points=PointBatch.of([a, b, a], [T0 + 5, T0, T0 + 9], [5.0, 1.0, 9.0])))
    store.write(Bundle(points=PointBatch.of([a, b], [T0 + 1, T0 + 2], [1.0, 2.0])))  # a is late
    got = store.last_values([a, b]).to_pydict()
    assert dict(zip(got["series"], got["value"], strict=True)) == {a: 9.0, b: 2.0}


def test_reorganize_resorts_closed_days_only_and_keeps_every_point(
    store: DuckDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kiln.store.duckdb.DIRECT_ROWS", 1)  # every batch straight to points
    _, a, b = ids(store)
    day = 86_400_000
    d0 = T0 - T0 % day - 2 * day  # two whole days back, then today
    # Hourly chunks, each sorted by series: the layout the backfill writes.
    for hour in range(50):
        t = np.arange(d0 + hour * 3_600_000, d0 + (hour + 1) * 3_600_000, 600_000)
        store.write(
            Bundle(points=PointBatch.of([a] * len(t) + [b] * len(t), np.r_[t, t], np.r_[t, -t]))
        )
    before = store.points([a, b], d0, d0 + 3 * day).to_pydict()
    assert store.reorganize() == 2 * 24 * 6  # the first day: 6 points an hour, 2 series
    assert store.reorganize() == 2 * 24 * 6  # the second day
    assert store.reorganize() == 0  # the third is still open
    assert store.points([a, b], d0, d0 + 3 * day).to_pydict() == before
    if not isinstance(store, DuckDBStore):
        return  # PostgreSQL vacuums the day; its index keeps each series in time order
    first_day = store._query(
        "SELECT series, ts FROM points WHERE ts < ? ORDER BY rowid", [d0 + day]
    ).to_pydict()
    pairs = list(zip(first_day["series"], first_day["ts"], strict=True))
    assert pairs == sorted(pairs)  # one run per series, in time order


@pytest.mark.parametrize("how", ["close", "compact-then-close", "crash"])
def test_last_values_survive_a_restart(tmp_path: Path, how: str) -> None:
    store = DuckDBStore(tmp_path / "k.duckdb")
    store.import_assets(small_city())
    _, a, b = ids(store)
    store.write(Bundle(points=PointBatch.of([a, a, b], [T0, T0 + 5, T0 + 1], [1.0, 5.0, 7.0])))
    store.write(Bundle(points=PointBatch.of([a], [T0 + 2], [2.0])))  # late: not the last
    if how == "compact-then-close":
        store.compact()
    if how == "crash":
        store._db.close()  # no clean close: the saved last values are stale
    else:
        store.close()
    again = DuckDBStore(tmp_path / "k.duckdb")
    try:
        got = again.last_values([a, b]).to_pydict()
        assert dict(
            zip(got["series"], zip(got["ts_ms"], got["value"], strict=True), strict=True)
        ) == {
            a: (T0 + 5, 5.0),
            b: (T0 + 1, 7.0),
        }
        assert again.last_values().num_rows == 2
    finally:
        again.close()


def test_old_batch_identities_are_forgotten_and_recent_ones_kept(store: DuckDBStore) -> None:
    _, a, _ = ids(store)
    one = Bundle(points=PointBatch.of([a], [T0], [1.0]))
    assert store.write(one, batch_id="gw-old") == 1
    assert store.forget_batches(0) == 0  # nothing was committed before 1970
    assert store.write(one, batch_id="gw-old") == 0  # still guarded
    far = 32_503_680_000_000  # year 3000: everything committed so far is older
    assert store.forget_batches(far) == 1
    # Forgotten: the same id is a new batch again (its point is stored once more).
    assert store.write(one, batch_id="gw-old") == 1
