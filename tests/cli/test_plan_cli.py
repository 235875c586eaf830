"""`kiln plan`: the seeded plan's status, and filings loaded from a CSV file."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kiln.cli import main
from kiln.plan.filings import Period
from kiln.store.duckdb import DuckDBStore
from tests.conftest import small_city


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "k.duckdb"
    store = DuckDBStore(path)
    store.import_assets(small_city())
    store.close()
    return {"KILN_STORE__PATH": str(path)}


def test_status_tells_the_seeded_plan_missed_its_targets(env: dict[str, str]) -> None:
    r = CliRunner().invoke(main, ["plan", "status"], env=env)
    assert r.exit_code == 0, r.output
    assert "[missed] Output of robots and intelligent equipment above 120 bn yuan" in r.output
    assert "Missed: 90 bn yuan in 2020 against a floor of 120 bn yuan" in r.output
    zh = CliRunner().invoke(main, ["plan", "status", "--lang", "zh"], env=env)
    assert "2020年机器人及智能装备产值超过1200亿元" in zh.output


def test_file_loads_a_csv_and_refuses_a_bad_row_naming_it(
    env: dict[str, str], tmp_path: Path
) -> None:
    good = tmp_path / "ok.csv"
    good.write_text(
        "企业,报告期,工业总产值,单位\nacme-auto,2024-01,1200,万元\nacme-auto,2024-02,1300,万元\n",
        encoding="gb18030",
    )
    r = CliRunner().invoke(main, ["plan", "file", str(good)], env=env)
    assert r.exit_code == 0, r.output
    assert "stored 2 filings (0 corrections)" in r.output
    bad = tmp_path / "bad.csv"
    bad.write_text("enterprise,period,output_value\nacme-auto,2024-03,x\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["plan", "file", str(bad)], env=env)
    assert r.exit_code == 1
    assert "bad.csv: line 2: output_value" in r.output
    store = DuckDBStore(env["KILN_STORE__PATH"])
    try:
        eid = store.catalog().enterprise_by_slug["acme-auto"]
        found = store.plans.current_filings([(eid, Period(2024, 2)), (eid, Period(2024, 3))])
    finally:
        store.close()
    assert [f.figures["output_value"] for f in found.values()] == [1.3e7]
