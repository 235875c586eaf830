"""`kiln kpi`: the worked shift from a store file as a table, CSV and JSON; bad options named."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from kiln.cli import main
from kiln.store.duckdb import DuckDBStore
from tests.kpi_service.worked import worked_city, write_worked_shift


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    path = tmp_path_factory.mktemp("kpi") / "k.duckdb"
    store = DuckDBStore(path)
    write_worked_shift(store, store.import_assets(worked_city()))
    store.close()
    return {"KILN_STORE__PATH": str(path)}


SHIFT = ["kpi", "--enterprise", "worked-press", "--window", "shift", "--start", "2024-01-05T07:00"]


def test_json_gives_the_worked_shift(env: dict[str, str]) -> None:
    r = CliRunner().invoke(main, [*SHIFT, "--level", "equipment", "--format", "json"], env=env)
    assert r.exit_code == 0, r.output
    rows = {row["name"]: row for row in json.loads(r.output)["rows"]}
    assert round(rows["press"]["oee"], 4) == 0.7389
    assert rows["robot"]["reasons"]["oee"] == "no planned busy time (PBT = 0)"


def test_the_table_shows_percentages_and_reasons(env: dict[str, str]) -> None:
    r = CliRunner().invoke(main, [*SHIFT, "--level", "equipment"], env=env)
    assert r.exit_code == 0, r.output
    press = next(line for line in r.output.splitlines() if line.startswith("press "))
    assert "73.9%" in press
    assert "84.4%" in press
    assert "robot 2024-01-05 early: availability: no planned busy time (PBT = 0)" in r.output


def test_csv_has_a_header_and_a_row_per_line(env: dict[str, str]) -> None:
    r = CliRunner().invoke(main, [*SHIFT, "--format", "csv", "--no-energy"], env=env)
    assert r.exit_code == 0, r.output
    head, *rows = r.output.strip().splitlines()
    assert '"oee"' in head
    assert len(rows) == 1


def test_the_city_roll_up_needs_no_enterprise(env: dict[str, str]) -> None:
    args = ["kpi", "--level", "industry", "--window", "day", "--start", "2024-01-05"]
    r = CliRunner().invoke(main, [*args, "--format", "json"], env=env)
    assert r.exit_code == 0, r.output
    keys = {row["key"] for row in json.loads(r.output)["rows"]}
    assert keys == {"automobile", "ceramics"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--enterprise", "nobody"], "kiln: --enterprise: no enterprise 'nobody'"),
        (["--start", "yesterday"], "kiln: --start: 'yesterday' is not epoch ms or a date"),
        (["--window", "custom", "--start", "2024-01-05"], "kiln: --start: a custom window needs"),
    ],
)
def test_a_bad_option_is_named(env: dict[str, str], args: list[str], message: str) -> None:
    r = CliRunner().invoke(main, ["kpi", *args], env=env)
    assert r.exit_code == 1
    assert message in r.output


def test_help_names_the_command() -> None:
    assert "kiln kpi" in CliRunner().invoke(main, ["--help"]).output
