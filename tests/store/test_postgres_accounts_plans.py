"""Accounts and plans on PostgreSQL give what they give on DuckDB: each test runs on both,
then PostgreSQL alone is shared by several processes and lost."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from psycopg_pool import ConnectionPool

from kiln.auth.accounts import Accounts, UserRow
from kiln.auth.roles import Role
from kiln.errors import Conflict, NotFound, Unavailable
from kiln.plan.documents import Measure, PublishedFigure
from kiln.plan.filings import Filing, Flag, Period
from kiln.plan.model import CITY, Scope
from kiln.plan.storage import PlanStore
from kiln.store.base import Store
from kiln.store.duckdb import DuckDBStore
from kiln.store.postgres import PostgresStore
from kiln.store.postgres_accounts import PostgresAccounts
from kiln.store.postgres_plans import PostgresPlans
from tests.conftest import NOW_MS


@pytest.fixture(params=["duckdb", "postgres"])
def backend(request: pytest.FixtureRequest) -> Iterator[Store]:
    """An empty store of each backend (only its accounts and plans are used)."""
    store: Any  # either backend, used through the Store protocol
    if request.param == "duckdb":
        store = DuckDBStore(":memory:")
    else:
        store = PostgresStore(request.getfixturevalue("postgres_url"), pool_size=4)
    yield store
    store.close()


@pytest.fixture
def stores(postgres_url: str) -> Iterator[list[PostgresStore]]:
    """Three stores on one database, as three processes sharing it would have."""
    made = [PostgresStore(postgres_url, pool_size=4) for _ in range(3)]
    yield made
    for store in made:
        store.close()


# -- accounts ---------------------------------------------------------------------------------


def test_users_are_numbered_from_one_and_found_by_any_case(backend: Store) -> None:
    acc = backend.accounts
    alice = acc.add_user("Alice", "h1", Role.CITY_ADMIN, None, NOW_MS)
    bob = acc.add_user("bob", "h2", Role.ENTERPRISE_VIEWER, 7, NOW_MS)
    assert (alice.id, bob.id) == (1, 2)
    assert acc.user(2) == bob
    assert acc.user_by_name("ALICE") == alice
    assert acc.user(3) is None
    assert acc.user_by_name("carol") is None


def test_a_taken_name_in_any_case_is_a_conflict_and_spends_no_id(backend: Store) -> None:
    acc = backend.accounts
    acc.add_user("alice", "h", Role.CITY_ADMIN, None, NOW_MS)
    with pytest.raises(Conflict, match=r"^username: user 'ALICE' exists$"):
        acc.add_user("ALICE", "h", Role.CITY_ADMIN, None, NOW_MS)
    assert acc.add_user("bob", "h", Role.CITY_ADMIN, None, NOW_MS).id == 2


def test_users_of_an_enterprise_of_the_city_and_of_everyone(backend: Store) -> None:
    acc = backend.accounts
    a = acc.add_user("a", "h", Role.CITY_ANALYST, None, NOW_MS)
    b = acc.add_user("b", "h", Role.ENTERPRISE_ADMIN, 5, NOW_MS)
    c = acc.add_user("c", "h", Role.ENTERPRISE_VIEWER, 5, NOW_MS)
    d = acc.add_user("d", "h", Role.ENTERPRISE_VIEWER, 6, NOW_MS)
    assert acc.users(5) == [b, c]
    assert acc.users(None) == [a]
    assert acc.users() == [a]
    assert acc.users(9) == []
    assert acc.users(5, every=True) == [a, b, c, d]


def test_a_new_password_ends_the_users_sessions_only(backend: Store) -> None:
    acc = backend.accounts
    u = acc.add_user("u", "old", Role.CITY_ADMIN, None, NOW_MS)
    v = acc.add_user("v", "old", Role.CITY_ADMIN, None, NOW_MS)
    acc.add_session("s-u", u.id, "csrf-u", NOW_MS, NOW_MS + 1000)
    acc.add_session("s-v", v.id, "csrf-v", NOW_MS, NOW_MS + 1000)
    acc.set_password(u.id, "new")
    assert acc.user(u.id) == UserRow(u.id, "u", "new", u.role, None, False)
    assert acc.session("s-u", NOW_MS) is None
    assert acc.session("s-v", NOW_MS) == (v.id, "csrf-v")


def test_disabling_a_user_ends_sessions_and_revokes_live_tokens(backend: Store) -> None:
    acc = backend.accounts
    u = acc.add_user("u", "h", Role.ENTERPRISE_ADMIN, 3, NOW_MS)
    acc.add_session("s", u.id, "c", NOW_MS, NOW_MS + 1000)
    t1 = token(acc, u.id, "laptop")
    t2 = token(acc, u.id, "phone")
    acc.revoke_token(t1, NOW_MS + 1)
    acc.disable_user(u.id, NOW_MS + 2)
    user = acc.user(u.id)
    assert user is not None
    assert user.disabled
    assert acc.session("s", NOW_MS) is None
    assert [t.revoked_ms for t in acc.tokens(user_id=u.id)] == [NOW_MS + 1, NOW_MS + 2]
    assert t2 == 2
    with pytest.raises(NotFound, match=r"^path: user_id: no user 99$"):
        acc.disable_user(99, NOW_MS)


def token(acc: Accounts, user_id: int | None, name: str, **kw: Any) -> int:
    args: dict[str, Any] = {"token_hash": f"hash-{name}", "role": Role.ENTERPRISE_VIEWER,
                            "enterprise_id": 3, "equipment": None, "now_ms": NOW_MS,
                            "expires_ms": None}  # fmt: skip
    return acc.add_token(user_id=user_id, name=name, **{**args, **kw}).id


def test_a_token_is_found_by_id_and_by_hash_as_it_was_stored(backend: Store) -> None:
    acc = backend.accounts
    tid = token(acc, None, "feed", token_hash="abc", role=Role.DEVICE, equipment=[4, 2],
                expires_ms=NOW_MS + 10, mqtt_hash="m")  # fmt: skip
    row = acc.token(tid)
    assert row is not None
    assert (row.id, row.name, row.role, row.enterprise_id) == (1, "feed", Role.DEVICE, 3)
    assert (row.created_ms, row.expires_ms, row.revoked_ms, row.last_used_ms) == (
        NOW_MS, NOW_MS + 10, None, None,
    )  # fmt: skip
    assert row.equipment == (4, 2)
    assert acc.token_by_hash("abc") == row
    assert acc.token_by_hash("abd") is None
    assert acc.token(2) is None


def test_tokens_of_a_user_and_of_an_enterprise(backend: Store) -> None:
    acc = backend.accounts
    mine = token(acc, 1, "mine")
    device = token(acc, None, "device", role=Role.DEVICE)
    token(acc, 2, "other", enterprise_id=4)
    city = token(acc, 5, "city", enterprise_id=None)
    assert [t.id for t in acc.tokens(user_id=1)] == [mine]
    assert [t.id for t in acc.tokens(enterprise_id=3)] == [mine, device]
    assert [t.id for t in acc.tokens()] == [city]


def test_revoking_keeps_the_first_time_and_touching_records_use(backend: Store) -> None:
    acc = backend.accounts
    t = token(acc, 1, "t")
    acc.touch_token(t, NOW_MS + 5)
    acc.revoke_token(t, NOW_MS + 7)
    acc.revoke_token(t, NOW_MS + 9)
    row = acc.token(t)
    assert row is not None
    assert (row.last_used_ms, row.revoked_ms) == (NOW_MS + 5, NOW_MS + 7)


def test_broker_credentials_are_the_live_device_tokens_with_a_broker_password(
    backend: Store,
) -> None:
    acc = backend.accounts
    live = token(acc, None, "live", role=Role.DEVICE, mqtt_hash="m1")
    gone = token(acc, None, "gone", role=Role.DEVICE, mqtt_hash="m2", enterprise_id=4)
    token(acc, None, "http-only", role=Role.DEVICE)
    token(acc, 1, "person", mqtt_hash="m3")
    other = token(acc, None, "other", role=Role.DEVICE, mqtt_hash="m4", enterprise_id=4)
    acc.revoke_token(gone, NOW_MS)
    assert acc.broker_credentials() == [(live, 3, "m1"), (other, 4, "m4")]


def test_a_session_lives_until_it_expires_or_ends(backend: Store) -> None:
    acc = backend.accounts
    acc.add_session("s", 4, "csrf", NOW_MS, NOW_MS + 100)
    assert acc.session("s", NOW_MS + 99) == (4, "csrf")
    assert acc.session("s", NOW_MS + 100) is None
    assert acc.session("t", NOW_MS) is None
    acc.end_session("s")
    assert acc.session("s", NOW_MS) is None
    acc.end_session("s")


def test_a_consent_is_granted_once_while_live_and_can_be_granted_again(backend: Store) -> None:
    acc = backend.accounts
    acc.grant(3, "oee", 1, NOW_MS)
    acc.grant(3, "oee", 2, NOW_MS + 1)
    acc.grant(3, "energy", None, NOW_MS + 2)
    acc.grant(2, "oee", 1, NOW_MS + 3)
    assert acc.consents(3) == [
        {"enterprise_id": 3, "indicator": "energy", "granted_by": None, "granted_ms": NOW_MS + 2},
        {"enterprise_id": 3, "indicator": "oee", "granted_by": 1, "granted_ms": NOW_MS},
    ]
    assert [(c["enterprise_id"], c["indicator"]) for c in acc.consents()] == [
        (2, "oee"), (3, "energy"), (3, "oee"),
    ]  # fmt: skip
    assert acc.revoke(3, "oee", NOW_MS + 4)
    assert not acc.revoke(3, "oee", NOW_MS + 5)
    assert not acc.revoke(3, "salaries", NOW_MS + 5)
    assert [c["indicator"] for c in acc.consents(3)] == ["energy"]
    acc.grant(3, "oee", 9, NOW_MS + 6)
    assert acc.consents(3)[1]["granted_by"] == 9


def test_the_audit_log_is_newest_first_and_pages_back(backend: Store) -> None:
    acc = backend.accounts
    for i, eid in enumerate([3, None, 3, 4, 3]):
        acc.audit(ts_ms=NOW_MS + i, actor=f"a{i}", role="city_admin", enterprise_id=eid,
                  action=f"act{i}")  # fmt: skip
    acc.audit(ts_ms=NOW_MS + 9, actor="x", role=None, enterprise_id=3, action="full",
              target="t", detail="d", address="10.0.0.1")  # fmt: skip
    log = acc.audit_log(enterprise_id=None, every=True)
    assert [x["id"] for x in log] == [6, 5, 4, 3, 2, 1]
    assert log[0] == {
        "id": 6, "ts_ms": NOW_MS + 9, "actor": "x", "role": None, "enterprise_id": 3,
        "action": "full", "target": "t", "detail": "d", "address": "10.0.0.1",
    }  # fmt: skip
    assert log[-1]["target"] == ""
    own = acc.audit_log(enterprise_id=3, every=False)
    assert [x["action"] for x in own] == ["full", "act4", "act2", "act0"]
    page = acc.audit_log(enterprise_id=3, every=False, limit=2, before_id=5)
    assert [x["action"] for x in page] == ["act2", "act0"]
    assert acc.audit_log(enterprise_id=None, every=False) == []


# -- documents and published figures ------------------------------------------------------------


def test_documents_are_replaced_listed_by_key_and_deleted(backend: Store) -> None:
    plans = backend.plans
    plans.put_document("plan", "b", {"name_zh": "行动计划", "z": 1, "a": [1.5, None]})
    plans.put_document("plan", "a", {"v": 1})
    plans.put_document("plan", "B", {"v": 0})
    plans.put_document("config", "a", {"c": True})
    plans.put_document("plan", "a", {"v": 2})
    docs = plans.documents("plan")
    assert list(docs) == ["B", "a", "b"]
    assert docs["a"] == {"v": 2}
    assert list(docs["b"]) == ["name_zh", "z", "a"]
    assert docs["b"]["name_zh"] == "行动计划"
    assert plans.delete_document("plan", "a")
    assert not plans.delete_document("plan", "a")
    assert list(plans.documents("plan")) == ["B", "b"]
    assert plans.documents("config") == {"a": {"c": True}}
    assert plans.documents("none") == {}


def test_published_figures_are_replaced_by_indicator_scope_year_and_measure(
    backend: Store,
) -> None:
    plans = backend.plans
    district = Scope.parse("district:nanhai")
    first = [
        PublishedFigure("total_output", 2020, 9e11, source="bureau"),
        PublishedFigure("total_output", 2020, 5.1, Measure.GROWTH),
        PublishedFigure("total_output", 2019, 8e11, scope=district, reliability="low"),
        PublishedFigure("robots", 2020, 1200.0, note="estimate"),
    ]
    assert plans.put_published(first) == 4
    assert plans.put_published([PublishedFigure("total_output", 2020, 9.5e11, note="revised")]) == 1
    assert plans.published() == [
        first[3],
        first[1],
        PublishedFigure("total_output", 2020, 9.5e11, note="revised"),
        first[2],
    ]
    assert plans.published()[2].scope == CITY


# -- filings ------------------------------------------------------------------------------------


def filing(eid: int, period: Period, version: int = 1, **figures: float) -> Filing:
    return Filing(eid, period, figures or {"output_value": 100.0}, version=version,
                  reason="" if version == 1 else f"fix {version}", filed_by="ann",
                  filed_ms=NOW_MS + version, channel="csv")  # fmt: skip


def test_a_correction_becomes_current_and_keeps_every_version(backend: Store) -> None:
    plans = backend.plans
    march = Period(2020, 3)
    first = Filing(1, march, {"output_value": 1e8, "employees": 40.0}, filed_ms=NOW_MS,
                   flags=(Flag("employees", "more than 10x"),))  # fmt: skip
    assert plans.write_filings([first, filing(2, march)]) == 2
    fixed = filing(1, march, 2, output_value=2e8)
    assert plans.write_filings([fixed]) == 1
    assert plans.filing_history(1, march) == [first, fixed]
    assert plans.current_filings([(1, march), (2, march), (3, march), (1, Period(2020))]) == {
        (1, march): fixed,
        (2, march): filing(2, march),
    }
    assert plans.current_filings([]) == {}
    assert plans.filing_history(1, Period(2020, 4)) == []


def test_a_version_that_is_not_the_next_one_is_refused_and_nothing_is_stored(
    backend: Store,
) -> None:
    plans = backend.plans
    plans.write_filings([filing(1, Period(2020, 3))])
    good = filing(2, Period(2020, 3))
    for late, have in ((filing(1, Period(2020, 3)), 1), (filing(1, Period(2020, 3), 3), 1),
                       (filing(1, Period(2020, 4), 2), 0)):  # fmt: skip
        with pytest.raises(Conflict) as err:
            plans.write_filings([good, late])
        assert str(err.value) == (
            f"filings: enterprise 1 period {late.period.text}: version {late.version} was sent "
            f"but version {have} is stored; read it again and resubmit"
        )
    assert plans.current_filings([(2, Period(2020, 3))]) == {}
    assert [f.version for f in plans.filing_history(1, Period(2020, 3))] == [1]


def test_one_period_twice_in_a_submission_is_refused(backend: Store) -> None:
    twice = [filing(1, Period(2020, 3)), filing(1, Period(2020, 3), output_value=5.0)]
    with pytest.raises(Conflict, match=r"^filings: the same enterprise and period twice in one"):
        backend.plans.write_filings(twice)
    assert backend.plans.write_filings([]) == 0


def test_current_filings_come_newest_period_first(backend: Store) -> None:
    plans = backend.plans
    plans.write_filings([filing(e, Period(y, m)) for e in (2, 1) for y in (2019, 2020, 2021)
                         for m in (0, 1, 12)])  # fmt: skip
    plans.write_filings([filing(1, Period(2020, 12), 2)])
    got = [(f.enterprise_id, f.period.text, f.version) for f in plans.filings(None, 2020, 2021)]
    assert got[:4] == [(1, "2021-12", 1), (2, "2021-12", 1), (1, "2021-01", 1), (2, "2021-01", 1)]
    assert len(got) == 12
    assert (1, "2020-12", 2) in got
    one = plans.filings(1, 2019, 2020, limit=4)
    assert [(f.enterprise_id, f.period.text) for f in one] == [
        (1, "2020-12"), (1, "2020-01"), (1, "2020"), (1, "2019-12"),
    ]  # fmt: skip


def write_a_year(plans: PlanStore) -> None:
    """Enterprise 1 files months (robots left blank in March), 2 a year and months, 3 a year."""
    plans.write_filings(
        [filing(1, Period(2020, m), output_value=10.0 * m, robots_installed=float(m),
                employees=50.0 + m) for m in (1, 2, 4)]
        + [filing(1, Period(2020, 3), output_value=30.0, employees=53.0),
           filing(2, Period(2020), output_value=1000.0, employees=80.0),
           filing(2, Period(2020, 1), output_value=70.0, revenue=60.0, robots_installed=2.0),
           filing(3, Period(2021), revenue=5.0), filing(3, Period(2019, 5), energy_use=1.5)]
    )  # fmt: skip
    plans.write_filings([filing(1, Period(2020, 4), 2, output_value=45.0, employees=49.0)])


def test_yearly_sums_flows_and_takes_stocks_at_the_last_month_filed(backend: Store) -> None:
    write_a_year(backend.plans)
    t = backend.plans.yearly(2019, 2021).to_pylist()
    assert [(r["enterprise_id"], r["year"], r["months"], r["last_month"]) for r in t] == [
        (3, 2019, 1, 5), (1, 2020, 4, 4), (2, 2020, 12, 12), (3, 2021, 12, 12),
    ]  # fmt: skip
    one = t[1]
    assert one["output_value"] == 10 + 20 + 30 + 45
    assert (one["robots_installed"], one["employees"], one["revenue"]) == (2.0, 49.0, None)
    assert one["filed_ms"] == NOW_MS + 2
    assert (t[2]["output_value"], t[2]["employees"], t[2]["revenue"]) == (1000.0, 80.0, None)


def test_yearly_through_a_month_leaves_annual_filings_out(backend: Store) -> None:
    write_a_year(backend.plans)
    t = backend.plans.yearly(2020, 2020, through_month=3).to_pylist()
    assert [(r["enterprise_id"], r["months"], r["output_value"]) for r in t] == [
        (1, 3, 60.0), (2, 1, 70.0),
    ]  # fmt: skip
    assert t[0]["robots_installed"] == 2.0


def test_yearly_has_the_same_columns_and_types_on_both_even_when_empty(
    stores: list[PostgresStore],
) -> None:
    duck = DuckDBStore(":memory:")
    pg = stores[0].plans
    assert pg.yearly(2020, 2020).equals(duck.plans.yearly(2020, 2020))
    for plans in (duck.plans, pg):
        write_a_year(plans)
    for first, last, through in ((2019, 2021, 12), (2020, 2020, 3), (2022, 2023, 12)):
        want = duck.plans.yearly(first, last, through_month=through)
        got = pg.yearly(first, last, through_month=through)
        assert got.schema == want.schema
        assert got.equals(want)
    duck.close()


def test_fifty_thousand_filings_go_in_at_once(backend: Store) -> None:
    many = [filing(e, Period(y, m), output_value=float(e)) for e in range(1, 401)
            for y in range(2012, 2021) for m in range(0, 13)][:50_000]  # fmt: skip
    assert len(many) >= 46_000
    assert backend.plans.write_filings(many) == len(many)
    assert backend.plans.yearly(2020, 2020).num_rows == 400
    fixed = [filing(e, Period(2020, 12), 2, output_value=0.0) for e in range(1, 401)]
    assert backend.plans.write_filings(fixed) == 400
    assert sum(backend.plans.yearly(2020, 2020).column("output_value").to_pylist()) == sum(
        range(1, 401)
    )


# -- PostgreSQL only: several processes, and a server that is gone ------------------------------


def run_together(work: Callable[[int], None], n: int) -> None:
    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_processes_sharing_the_database_never_share_an_id(stores: list[PostgresStore]) -> None:
    made: list[int] = []

    def add(n: int) -> None:
        acc = stores[n % 3].accounts
        made.append(acc.add_user(f"user-{n}", "h", Role.CITY_ANALYST, None, NOW_MS).id)
        made.append(token(acc, None, f"t{n}"))

    run_together(add, 30)
    assert sorted(made) == sorted(list(range(1, 31)) * 2)


def test_two_filers_of_one_version_at_once_store_it_once(stores: list[PostgresStore]) -> None:
    start = threading.Barrier(2)
    errors: list[str] = []

    def file(n: int) -> None:
        start.wait()
        try:
            stores[n].plans.write_filings([filing(1, Period(2020, 3), output_value=n)])
        except Conflict as err:
            errors.append(str(err))

    run_together(file, 2)
    assert errors == [
        "filings: enterprise 1 period 2020-03: version 1 was sent but version 1 is stored; "
        "read it again and resubmit"
    ]
    assert len(stores[2].plans.filing_history(1, Period(2020, 3))) == 1


def test_an_unreachable_server_is_unavailable() -> None:
    from tests.mosquitto import free_port

    port = free_port()
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres?connect_timeout=1"
    pool: ConnectionPool = ConnectionPool(url, min_size=0, max_size=1, timeout=0.5, open=True)
    try:
        gone = rf"^postgresql://postgres@127\.0\.0\.1:{port}/postgres: PostgreSQL is unreachable"
        with pytest.raises(Unavailable, match=gone):
            PostgresAccounts(pool).user(1)
        with pytest.raises(Unavailable, match=gone):
            PostgresPlans(pool).documents("plan")
    finally:
        pool.close()
