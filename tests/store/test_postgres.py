"""PostgresStore on its own: migrations in place, day partitions on demand, binary COPY, a
server restart, and several processes (here: several stores) sharing one database."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa
import pytest

from kiln.domain.batches import Bundle, CountBatch, PointBatch, StateBatch
from kiln.domain.dead_letters import DeadLetter
from kiln.domain.product_runs import ProductChange
from kiln.domain.states import EquipmentState as S
from kiln.errors import BadInput, Unavailable
from kiln.store import postgres as postgres_module
from kiln.store import postgres_pool
from kiln.store.duckdb import DuckDBStore
from kiln.store.postgres import PostgresStore
from kiln.store.postgres_binary import fetch_table
from kiln.store.postgres_migrations import migrate, migrations
from kiln.store.postgres_partitions import DAY_MS, DayPartitions
from kiln.store.postgres_telemetry import copy_points
from tests.conftest import NOW_MS, small_city
from tests.postgres import PostgresServer

T0 = NOW_MS - 3_600_000
DAY0 = NOW_MS - NOW_MS % DAY_MS  # 2025-11-24T00:00Z


def ids(store: PostgresStore | DuckDBStore) -> tuple[int, int, int]:
    cat = store.catalog()
    press = cat.equipment_id("acme-auto", "press-1")
    assert press is not None
    tonnage, lube = cat.series_id(press, "tonnage"), cat.series_id(press, "lube_temp")
    assert tonnage is not None
    assert lube is not None
    return press, tonnage, lube


@pytest.fixture
def pg(postgres_url: str) -> Iterator[PostgresStore]:
    s = PostgresStore(postgres_url)
    s.import_assets(small_city())
    yield s
    s.close()


def partitions(url: str, table: str) -> list[str]:
    with psycopg.connect(url) as con:
        rows = con.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass ORDER BY 1",
            [table],
        ).fetchall()
    return [r[0] for r in rows]


# -- migrations ----------------------------------------------------------------------------


def test_a_database_at_migration_1_is_upgraded_in_place_and_keeps_its_points(
    postgres_url: str,
) -> None:
    with psycopg.connect(postgres_url) as con:
        assert migrate(con, upto=1) == [1]
        DayPartitions().ensure(con, "points", np.array([T0]))
        with con.transaction():
            copy_points(con, PointBatch.of([7, 7], [T0, T0 + 1000], [1.5, 2.5]))
            con.execute("INSERT INTO series_last VALUES (7, %s, 2.5)", [T0 + 1000])
    store = PostgresStore(postgres_url)  # applies the rest
    try:
        assert store.points([7], 0, NOW_MS).to_pydict()["value"] == [1.5, 2.5]
        assert store.last_values([7]).to_pydict()["ts_ms"] == [T0 + 1000]
        assert len(store.import_assets(small_city()).enterprises) == 2
    finally:
        store.close()
    with psycopg.connect(postgres_url) as con:
        versions = [r[0] for r in con.execute("SELECT version FROM schema_migrations ORDER BY 1")]
        assert versions == [m.version for m in migrations()]
        assert migrate(con) == []  # nothing left to do


def test_processes_starting_together_apply_each_migration_once(postgres_url: str) -> None:
    applied: list[int] = []

    def start() -> None:
        with psycopg.connect(postgres_url) as con:
            applied.extend(migrate(con))

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(applied) == [m.version for m in migrations()]


def test_migrations_are_numbered_below_and_above_the_accounts_file() -> None:
    versions = [m.version for m in migrations()]
    assert versions[:3] == [1, 2, 3]
    assert 100 in versions


# -- partitions ----------------------------------------------------------------------------


def test_a_batch_spanning_two_days_creates_both_partitions(pg: PostgresStore) -> None:
    _, a, _ = ids(pg)
    ts = [DAY0 - 1000, DAY0, DAY0 + 1000]
    assert pg.write(Bundle(points=PointBatch.of([a] * 3, ts, [1.0, 2.0, 3.0]))) == 3
    url = pg._pool.conninfo
    assert partitions(url, "points") == ["points_20251123", "points_20251124"]
    assert pg.points([a], DAY0 - DAY_MS, DAY0 + DAY_MS).to_pydict()["ts_ms"] == ts


def test_a_back_filled_old_day_gets_its_own_partition(pg: PostgresStore) -> None:
    press, a, _ = ids(pg)
    old = DAY0 - 400 * DAY_MS
    pg.write(Bundle(points=PointBatch.of([a], [T0], [1.0])))
    pg.write(
        Bundle(
            points=PointBatch.of([a], [old + 5], [0.5]),
            counts=CountBatch.of([press], [old + 5], [3], [1]),
        )
    )
    url = pg._pool.conninfo
    assert partitions(url, "points") == ["points_20241020", "points_20251124"]
    assert partitions(url, "counts") == ["counts_20241020"]
    assert pg.points([a], 0, NOW_MS).to_pydict()["value"] == [0.5, 1.0]
    assert pg.last_values([a]).to_pydict()["value"] == [1.0]  # the old point is not the last


def test_a_day_another_process_created_is_taken_as_it_is(postgres_url: str) -> None:
    first, second = PostgresStore(postgres_url), PostgresStore(postgres_url)
    try:
        first.import_assets(small_city())
        _, a, _ = ids(first)
        first.write(Bundle(points=PointBatch.of([a], [T0], [1.0])))
        second.write(Bundle(points=PointBatch.of([a], [T0 + 1], [2.0])))  # its cache: no day
        assert first.points([a], 0, NOW_MS).num_rows == 2
    finally:
        first.close()
        second.close()


def test_stores_writing_a_new_day_at_once_create_it_once(postgres_url: str) -> None:
    stores = [PostgresStore(postgres_url) for _ in range(3)]
    errors: list[BaseException] = []

    def write(store: PostgresStore, k: int) -> None:
        try:
            for day in range(5):
                ts = DAY0 + day * DAY_MS + k
                store.write(Bundle(points=PointBatch.of([1, 2, 3], [ts] * 3, [1.0] * 3)))
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=write, args=(s, k)) for k, s in enumerate(stores)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(partitions(postgres_url, "points")) == 5
        assert stores[0].points([1, 2, 3], DAY0, DAY0 + 5 * DAY_MS).num_rows == 45
    finally:
        for s in stores:
            s.close()


def test_a_timestamp_no_day_can_hold_is_refused_and_names_the_column(pg: PostgresStore) -> None:
    _, a, _ = ids(pg)
    with pytest.raises(BadInput) as err:
        pg.write(Bundle(points=PointBatch.of([a], [2**62], [1.0])))
    assert err.value.where == "ts_ms"
    assert "outside the years 1000 to 9999" in err.value.what
    assert pg.points([a], 0, 2**63 - 1).num_rows == 0


def test_closed_days_are_vacuumed_once_each_and_compact_moves_nothing(pg: PostgresStore) -> None:
    _, a, b = ids(pg)
    d0 = DAY0 - 2 * DAY_MS
    for hour in range(50):
        t = np.arange(d0 + hour * 3_600_000, d0 + (hour + 1) * 3_600_000, 600_000)
        pg.write(
            Bundle(points=PointBatch.of([a] * len(t) + [b] * len(t), np.r_[t, t], np.r_[t, -t]))
        )
    before = pg.points([a, b], d0, d0 + 3 * DAY_MS).to_pydict()
    assert pg.compact() == 0
    assert pg.reorganize() == 2 * 24 * 6  # the first day
    assert pg.reorganize() == 2 * 24 * 6  # the second
    assert pg.reorganize() == 0  # the third is still open
    assert pg.points([a, b], d0, d0 + 3 * DAY_MS).to_pydict() == before


# -- writes --------------------------------------------------------------------------------


def test_a_redelivered_batch_is_stored_once_whichever_process_gets_it(postgres_url: str) -> None:
    first, second = PostgresStore(postgres_url), PostgresStore(postgres_url)
    try:
        first.import_assets(small_city())
        press, a, _ = ids(first)
        bundle = Bundle(
            points=PointBatch.of([a, a], [T0, T0 + 1], [1.0, 2.0]),
            states=StateBatch.of([press], [T0], [S.RUNNING]),
            counts=CountBatch.of([press], [T0], [4], [1]),
        )
        assert first.write(bundle, batch_id="gw-7") == 4
        assert second.write(bundle, batch_id="gw-7") == 0
        assert second.write_group([(bundle, "gw-7"), (bundle, "gw-8")]) == [0, 4]
        assert first.points([a], 0, NOW_MS).num_rows == 4
        assert first.counts([press], 0, NOW_MS).to_pydict()["good"] == [8]
    finally:
        first.close()
        second.close()


def test_a_failing_bundle_stores_nothing_and_claims_no_batch_id(
    pg: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    press, a, _ = ids(pg)

    def fail(*_: object) -> int:
        raise RuntimeError("disk full")

    bundle = Bundle(
        points=PointBatch.of([a], [T0], [1.0]),
        states=StateBatch.of([press], [T0], [S.RUNNING]),
        counts=CountBatch.of([press], [T0], [5], [0]),
    )
    with monkeypatch.context() as m:
        m.setattr(PostgresStore, "_write_counts", staticmethod(fail))
        with pytest.raises(RuntimeError, match="disk full"):
            pg.write(bundle, batch_id="gw-9")
    assert pg.points([a], 0, NOW_MS).num_rows == 0
    assert pg.current_states([press]).num_rows == 0
    assert pg.last_values([a]).num_rows == 0
    assert pg.write(bundle, batch_id="gw-9") == 3


def test_nan_and_infinities_come_back_as_duckdb_gives_them(
    postgres_url: str, tmp_path: Path
) -> None:
    values = [np.nan, np.inf, -np.inf, 1.5, -0.0, np.nan, 2.0, -np.inf]
    got: list[dict[str, pa.Table]] = []
    for store in (DuckDBStore(tmp_path / "k.duckdb"), PostgresStore(postgres_url)):
        try:
            store.import_assets(small_city())
            _, a, b = ids(store)
            ts = T0 + np.arange(len(values)) * 10_000
            store.write(Bundle(points=PointBatch.of([a] * len(values), ts, values)))
            store.write(Bundle(points=PointBatch.of([b, b], [T0, T0 + 1], [1.0, np.inf])))
            got.append(
                {
                    "points": store.points([a], T0, T0 + 80_000),
                    "buckets": store.buckets(a, T0, T0 + 80_000, bucket_ms=20_000),
                    "last": store.last_values([a, b]),
                }
            )
        finally:
            store.close()
    duck, pg = got
    stored = pg["points"].column("value").to_numpy()
    np.testing.assert_array_equal(stored, values)
    assert np.signbit(stored[4])  # -0.0 keeps its sign
    for name in duck:
        assert pg[name].schema == duck[name].schema
        for col in duck[name].column_names:
            np.testing.assert_array_equal(
                pg[name].column(col).to_numpy(), duck[name].column(col).to_numpy(), err_msg=name
            )
    # 30 s buckets (the nice width at least 20 s). A NaN is larger than any number, so max
    # (never min) is NaN; inf and -inf average to NaN; -inf alone stays -inf.
    first, _, last = pg["buckets"].to_pylist()
    assert (first["min"], first["count"]) == (-np.inf, 3)
    assert np.isnan(first["max"])
    assert np.isnan(first["avg"])
    assert (last["avg"], last["max"], last["last"]) == (-np.inf, 2.0, -np.inf)


# -- faults --------------------------------------------------------------------------------


def test_a_restart_between_writes_is_survived(
    pg: PostgresStore, postgres_server: PostgresServer
) -> None:
    _, a, _ = ids(pg)
    pg.write(Bundle(points=PointBatch.of([a], [T0], [1.0])))
    postgres_server.restart()  # every pooled connection is now dead
    assert pg.write(Bundle(points=PointBatch.of([a], [T0 + 1], [2.0]))) == 1
    assert pg.points([a], 0, NOW_MS).to_pydict()["value"] == [1.0, 2.0]
    assert pg.last_values([a]).to_pydict()["value"] == [2.0]


def test_a_connection_lost_mid_transaction_is_retried_once_and_stores_once(
    pg: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    press, a, _ = ids(pg)
    real = PostgresStore._write_counts
    kills: list[int] = []

    def lose_connection_once(conn: psycopg.Connection[tuple[object, ...]], bundle: Bundle) -> int:
        if not kills:
            kills.append(1)
            conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return real(conn, bundle)

    monkeypatch.setattr(PostgresStore, "_write_counts", staticmethod(lose_connection_once))
    bundle = Bundle(
        points=PointBatch.of([a], [T0], [1.0]), counts=CountBatch.of([press], [T0], [2], [0])
    )
    assert pg.write(bundle, batch_id="gw-1") == 2
    assert kills == [1]
    assert pg.points([a], 0, NOW_MS).num_rows == 1
    assert pg.counts([press], 0, NOW_MS).to_pydict()["good"] == [2]


def test_an_unreachable_server_is_unavailable_and_named(
    postgres_url: str, postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_pool, "WAIT_S", 0.5)
    monkeypatch.setattr(postgres_pool, "CONNECT_TIMEOUT_S", 1)
    store = PostgresStore(postgres_url)
    try:
        postgres_server.stop()
        try:
            with pytest.raises(Unavailable) as err:
                store.write(Bundle(points=PointBatch.of([1], [T0], [1.0])))
            assert err.value.what.startswith("PostgreSQL is unreachable")
            assert err.value.where == postgres_url
            assert isinstance(err.value.__cause__, psycopg.OperationalError)
            with pytest.raises(Unavailable):
                store.points([1], 0, NOW_MS)
            assert len(store.catalog().enterprises) == 0  # the cached catalogue still answers
        finally:
            postgres_server.start()
        store._pool.timeout = 10.0  # the pool reconnects in the background, within seconds
        assert store.write(Bundle(points=PointBatch.of([1], [T0], [1.0]))) == 1
    finally:
        store.close()
    with pytest.raises(Unavailable) as err:
        PostgresStore(postgres_url.rsplit(":", 1)[0] + ":1/kiln")
    assert "PostgreSQL is unreachable" in str(err.value)


# -- processes sharing a database ----------------------------------------------------------


def test_two_stores_on_one_database_see_each_others_assets_and_last_values(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_module, "CATALOG_CHECK_S", 0.0)
    serve, ingest = PostgresStore(postgres_url), PostgresStore(postgres_url)
    try:
        assert len(ingest.catalog().enterprises) == 0
        serve.import_assets(small_city())
        assert ingest.catalog().enterprise_by_slug == serve.catalog().enterprise_by_slug
        _, a, b = ids(ingest)
        ingest.write(Bundle(points=PointBatch.of([a, b], [T0 + 5, T0], [5.0, 7.0])))
        ingest.write(Bundle(points=PointBatch.of([a], [T0 + 1], [1.0])))  # late: not the last
        assert serve.last_values([a, b]).to_pydict() == {
            "series": [a, b],
            "ts_ms": [T0 + 5, T0],
            "value": [5.0, 7.0],
        }
        # An import by the other process hands out new ids after the ones already taken.
        more = small_city()
        more["enterprises"][0]["slug"] = "acme-two"
        ingest.import_assets(more)
        assert len(serve.catalog().enterprises) == 3
        assert len(set(serve.catalog().signals)) == len(serve.catalog().signals)
    finally:
        serve.close()
        ingest.close()


def test_writers_sharing_series_never_deadlock(postgres_url: str) -> None:
    stores = [PostgresStore(postgres_url) for _ in range(3)]
    errors: list[BaseException] = []

    def write(store: PostgresStore, k: int) -> None:
        rng = np.random.default_rng(k)
        try:
            for n in range(20):
                series = rng.permutation(50) + 1
                ts = np.full(50, T0 + n * 10 + k)
                store.write(Bundle(points=PointBatch.of(series, ts, series * 1.0)))
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=write, args=(s, k)) for k, s in enumerate(stores)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        last = stores[0].last_values()
        assert last.num_rows == 50
        assert set(last.column("ts_ms").to_pylist()) == {T0 + 19 * 10 + 2}
    finally:
        for s in stores:
            s.close()


# -- the same answers as DuckDB ------------------------------------------------------------


def fill(store: PostgresStore | DuckDBStore) -> tuple[int, int, int]:
    press, a, b = ids(store)
    robot = store.catalog().equipment_id("acme-auto", "robot-1")
    assert robot is not None
    ts = T0 - 3_600_000 + np.arange(0, 4 * 3_600_000, 7_000)
    store.write(
        Bundle(
            points=PointBatch.of(
                np.r_[[a] * len(ts), [b] * len(ts)], np.r_[ts, ts + 3], np.r_[ts % 997, ts % 13]
            ),
            states=StateBatch.of(
                [press, press, press, robot],
                [T0 - 86_400_000, T0 + 600_000, T0 + 900_000, T0 + 5],
                [S.RUNNING, S.DOWN_FAULT, S.RUNNING, S.IDLE],
                [None, "overload", None, "starved"],
            ),
            counts=CountBatch.of(
                [press] * 50 + [robot] * 50,
                np.r_[ts[300:350], ts[300:350] + 1],
                [3] * 100,
                [1] * 100,
            ),
        )
    )
    store.write_product_changes(
        [
            ProductChange(press, T0, "door", 6.0, 1, 1, 5, "ann"),
            ProductChange(robot, T0, "lid", None, 1),
        ]
    )
    store.write_dead_letters(
        [DeadLetter(T0 + k, "mqtt:plant", f"t/{k % 2}", f"bad {k}", b"x" * k, 1) for k in range(5)]
    )
    return press, robot, a


def answers(store: PostgresStore | DuckDBStore) -> dict[str, pa.Table]:
    press, robot, a = fill(store)
    _, _, b = ids(store)
    eq, lo, hi = [press, robot, 999], T0 - 1_800_000, T0 + 3_600_000
    cuts = [T0 + 1_234, T0 + 2 * 3_600_000]
    return {
        "points": store.points([a, b], lo, hi),
        "buckets": store.buckets(a, lo, hi, max_points=100),
        "empty buckets": store.buckets(a, 0, 1000),
        "last": store.last_values(),
        "intervals": store.state_intervals(eq, lo, hi),
        "current": store.current_states(),
        "current some": store.current_states([robot]),
        "counts": store.counts(eq, lo, hi),
        "counts by minute": store.counts(eq, lo, hi, bucket_ms=60_000),
        "changes": store.state_changes(eq, T0, hi),
        "changes with reasons": store.state_changes(eq, T0, hi, reasons=True),
        "count sums": store.count_sums(eq, T0 - 3_600_000, T0 + 3_600_000, cuts),
        "energy": store.energy_sums(
            [a, b], T0 - 3_600_000, T0 + 7_200_000, cuts, max_hold_ms=5_000
        ),
        "products": store.product_changes(eq, hi),
        "letters": store.dead_letters(1, limit=3),
        "letter counts": store.dead_letter_counts(1),
        "no letters": store.dead_letters(None),
    }


def test_every_read_answers_as_duckdb_does(postgres_url: str, tmp_path: Path) -> None:
    duck, pg = DuckDBStore(tmp_path / "k.duckdb"), PostgresStore(postgres_url)
    try:
        duck.import_assets(small_city())
        pg.import_assets(small_city())
        assert ids(duck) == ids(pg)
        want, got = answers(duck), answers(pg)
    finally:
        duck.close()
        pg.close()
    unordered = {"changes", "changes with reasons", "count sums", "energy"}
    for name, expected in want.items():
        actual = got[name]
        assert actual.schema == expected.schema, name
        if name in unordered:
            keys = [(c, "ascending") for c in expected.column_names]
            expected, actual = expected.sort_by(keys), actual.sort_by(keys)
        if name in {"energy", "buckets"}:
            for col in expected.column_names:
                np.testing.assert_allclose(
                    actual.column(col).to_numpy(), expected.column(col).to_numpy(), rtol=1e-12
                )
        else:
            assert actual.to_pydict() == expected.to_pydict(), name


def test_columns_with_nulls_and_no_rows_come_back_typed(pg: PostgresStore) -> None:
    schema = pa.schema([("k", pa.int32()), ("x", pa.float64()), ("s", pa.string())])
    query = (
        "SELECT k::int AS k, CASE WHEN k %% 2 = 0 THEN k * 0.5::float8 END AS x, "
        "CASE WHEN k > 1 THEN 'v' || k END AS s FROM generate_series(1, 4) k ORDER BY k DESC"
    )
    with pg._pool.connection() as con:
        got = fetch_table(con, query, [], schema)
        none = fetch_table(con, query + " LIMIT 0", [], schema)
    assert got.to_pydict() == {
        "k": [4, 3, 2, 1],
        "x": [2.0, None, 1.0, None],
        "s": ["v4", "v3", "v2", None],
    }
    assert none.schema == schema
    assert none.num_rows == 0


# -- rollups and retention -----------------------------------------------------------------


def rolled_up(url: str) -> tuple[int, int, int, int]:
    """(raw points, points in 1-minute rollups, in 1-hour rollups, hours awaiting rollup)."""
    with psycopg.connect(url) as con:
        row = con.execute(
            "SELECT (SELECT count(*) FROM points), (SELECT sum(n) FROM rollup_1m), "
            "(SELECT sum(n) FROM rollup_1h), (SELECT count(*) FROM rollup_dirty)"
        ).fetchone()
    assert row is not None
    return tuple(int(x or 0) for x in row)  # type: ignore[return-value]


def test_two_stores_compacting_at_once_count_each_point_once(postgres_url: str) -> None:
    stores = [PostgresStore(postgres_url) for _ in range(2)]
    try:
        stores[0].import_assets(small_city())
        _, a, b = ids(stores[0])
        rng = np.random.default_rng(3)
        for k in range(6):  # six back-filled days, then live writes while both compact
            ts = DAY0 - (k + 1) * DAY_MS + rng.integers(0, DAY_MS, 20_000)
            stores[k % 2].write(Bundle(points=PointBatch.of([a, b] * 10_000, ts, ts / 1e9)))

        def compact(store: PostgresStore) -> None:
            for i in range(3):
                store.write(Bundle(points=PointBatch.of([a], [T0 + i], [float(i)])))
                store.compact()

        threads = [threading.Thread(target=compact, args=(s,)) for s in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stores[0].compact()
        assert rolled_up(postgres_url) == (120_006, 120_006, 120_006, 0)
    finally:
        for s in stores:
            s.close()


def test_retention_drops_days_past_every_rule_and_a_late_point_makes_its_day_again(
    pg: PostgresStore,
) -> None:
    from kiln.config import RetentionSettings
    from kiln.store.retention import retention_plan

    _, a, b = ids(pg)
    ts = np.arange(DAY0 - 5 * DAY_MS, NOW_MS, 3_600_000)
    pg.write(
        Bundle(points=PointBatch.of([a] * len(ts) + [b] * len(ts), [*ts, *ts], [1.0] * 2 * len(ts)))
    )
    plan = retention_plan(pg.catalog(), RetentionSettings(raw_days=2), NOW_MS)
    removed = pg.retention(plan)
    url = pg._pool.conninfo
    assert partitions(url, "points")[0] == "points_20251122"  # three days dropped whole
    assert sum(r.rows for r in removed if r.table == "points") == 2 * 3 * 24
    late = DAY0 - 4 * DAY_MS + 5
    pg.write(Bundle(points=PointBatch.of([a], [late], [7.0])))
    pg.compact()  # merged into the rollups, and removed from the raw points
    assert pg.points([a], 0, DAY0 - 2 * DAY_MS).num_rows == 0
    hour = pg.buckets(a, late - 5, late + 3_599_995, bucket_ms=3_600_000).to_pylist()
    assert hour == [
        {"ts_ms": late - 5, "avg": 4.0, "min": 1.0, "max": 7.0, "last": 7.0, "count": 2}
    ]


def test_retention_of_some_series_deletes_and_keeps_the_day(pg: PostgresStore) -> None:
    from kiln.store.retention import Keep, RetentionGroup, RetentionPlan

    _, a, b = ids(pg)
    old = DAY0 - 40 * DAY_MS
    pg.write(Bundle(points=PointBatch.of([a, b], [old, old], [1.0, 2.0])))
    group = RetentionGroup("a", Keep(30, None, None), (a,), DAY0 - 30 * DAY_MS, None, None)
    assert [r.rows for r in pg.retention(RetentionPlan(NOW_MS, (group,)))] == [1]
    assert partitions(pg._pool.conninfo, "points") == ["points_20251015"]
    assert pg.points([a, b], old, old + 1).to_pydict()["series"] == [b]
