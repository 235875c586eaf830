"""`kiln store`: the report, retention (dry run and real), Parquet export; bad options named."""

from __future__ import annotations

import json
import time
from pathlib import Path

import duckdb
import numpy as np
import pytest
from click.testing import CliRunner

from kiln.cli import main
from kiln.cli import store as store_cli
from kiln.domain.batches import Bundle, PointBatch
from kiln.store.duckdb import DuckDBStore
from tests.conftest import small_city

if "store" not in main.commands:  # until kiln/cli/__init__.py registers it
    main.add_command(store_cli.store)

DAY, HOUR = 86_400_000, 3_600_000


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A store file with one point an hour of every signal over the last 40 days."""
    path = tmp_path / "k.duckdb"
    store = DuckDBStore(path)
    store.import_assets(small_city())
    now = int(time.time() * 1000)
    today = now - now % DAY
    sids = np.array(sorted(store.catalog().signals))
    ts = np.arange(today - 40 * DAY, now, HOUR)
    batch = PointBatch.of(
        np.repeat(sids, len(ts)), np.tile(ts, len(sids)), np.ones(len(ts) * len(sids))
    )
    store.write(Bundle(points=batch))
    store.compact()
    store.close()
    return {"KILN_STORE__PATH": str(path)}


def run(env: dict[str, str], *args: str) -> str:
    r = CliRunner().invoke(main, ["store", *args], env=env)
    assert r.exit_code == 0, r.output
    return r.output


def test_the_report_shows_tables_enterprises_days_and_what_goes_next(env: dict[str, str]) -> None:
    out = run(env, "report")
    assert "rollup_1m" in out
    assert "acme-auto" in out
    assert "oldest raw day: " in out
    assert "retention will remove next:" in out
    assert "points: would remove" in out  # 40 days kept, 30 by default


def test_the_report_as_json_is_the_apis_body(env: dict[str, str]) -> None:
    body = json.loads(run(env, "report", "--json", "--days", "3"))
    assert len(body["raw_by_day"]) == 3
    assert {t["name"] for t in body["tables"]} >= {"points", "rollup_1m", "rollup_1h"}
    assert body["retention_next"][0]["table"] == "points"
    assert body["retention_next"][0]["rows"] > 0


def test_a_dry_run_removes_nothing_and_a_run_removes_it(env: dict[str, str]) -> None:
    dry = run(env, "retention", "--dry-run")
    assert "points: would remove" in dry
    assert run(env, "retention", "--dry-run") == dry
    real = run(env, "retention")
    assert real.replace("removed", "would remove") == dry
    assert run(env, "retention", "--dry-run").strip() == "nothing would be removed"


def test_a_rule_matching_nothing_is_warned_of(env: dict[str, str]) -> None:
    r = CliRunner().invoke(
        main, ["store", "retention", "--dry-run"], env={**env, "KILN_RETENTION__ENTERPRISES": "x"}
    )
    assert r.exit_code == 1  # a mapping cannot come from a variable: named, refused
    assert "retention.enterprises" in r.output


def test_export_writes_hive_partitioned_parquet(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "parquet"
    today = time.strftime("%Y-%m-%d", time.gmtime())
    text = run(env, "export", "--out", str(out), "--to", today, "--enterprise", "huamei-ceramics")
    assert text.startswith("wrote ")
    assert "(41 days with data)" in text
    with duckdb.connect() as con:
        got = con.execute(
            f"SELECT count(DISTINCT date), min(enterprise), max(enterprise) "
            f"FROM read_parquet('{out}/**/*.parquet', hive_partitioning=true)"
        ).fetchall()
    assert got == [(41, "huamei-ceramics", "huamei-ceramics")]


def test_export_of_hourly_rollups(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "hourly"
    text = run(env, "export", "--out", str(out), "--from", "2000-01-01", "--rollup", "1h")
    assert "days with data" in text
    assert list(out.glob("date=*/enterprise=acme-auto/part-0.parquet"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "yesterday"], "kiln: --from: 'yesterday' is not a date (2025-11-24)"),
        (["--enterprise", "nosuch"], "kiln: --enterprise: no enterprise 'nosuch'"),
        (["--from", "2025-02-02", "--to", "2025-02-01"], "kiln: --to: --to is before --from"),
    ],
)
def test_bad_export_options_are_named(
    env: dict[str, str], tmp_path: Path, args: list[str], message: str
) -> None:
    r = CliRunner().invoke(main, ["store", "export", "--out", str(tmp_path / "x"), *args], env=env)
    assert r.exit_code == 1
    assert message in r.output
