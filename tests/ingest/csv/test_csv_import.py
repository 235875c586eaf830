"""CSV import: wide and long files become points; times in any zone; a bad cell is named by
file, line and column and nothing is stored; an interrupted import run again stores each point
once; the `kiln import` command."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kiln.cli.import_csv import import_csv
from kiln.errors import BadInput
from kiln.ingest.csv_import import CsvImport, CsvRefused
from kiln.runtime import Runtime
from kiln.store.duckdb import DuckDBStore
from tests.conftest import NOW_MS, small_city

T0 = "2025-11-24T15:00:00+08:00"  # 07:00 UTC
T0_MS = 1_763_967_600_000


def points(runtime: Runtime, equipment: str, signal: str) -> list[tuple[int, float]]:
    eid = runtime.catalog.equipment_id("acme-auto", equipment)
    assert eid is not None
    sid = runtime.catalog.series_id(eid, signal)
    assert sid is not None
    got = runtime.store.points([sid], 0, NOW_MS + 1).to_pydict()
    return list(zip(got["ts_ms"], got["value"], strict=True))


def run(runtime: Runtime, path: Path, **options: object) -> int:
    job = CsvImport(path, runtime.catalog, enterprise="acme-auto", now_ms=NOW_MS, **options)  # type: ignore[arg-type]
    job.check()
    return sum(runtime.writer.submit_sync(c.bundle, batch_id=c.batch_id) for c in job.chunks())


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_wide_file_of_one_equipment_becomes_points(runtime: Runtime, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "time,tonnage,lube_temp\n"
        f"{T0},8100.5,41.2\n"
        "2025-11-24T15:00:01+08:00,8101,\n"  # an empty cell is no point
        "2025-11-24T07:00:02Z,8102,41.4\n",
    )
    assert run(runtime, path, equipment="press-1") == 5
    assert points(runtime, "press-1", "tonnage") == [
        (T0_MS, 8100.5),
        (T0_MS + 1000, 8101.0),
        (T0_MS + 2000, 8102.0),
    ]
    assert points(runtime, "press-1", "lube_temp") == [(T0_MS, 41.2), (T0_MS + 2000, 41.4)]


def test_a_wide_file_may_name_equipment_dot_signal(runtime: Runtime, tmp_path: Path) -> None:
    path = write(tmp_path, f"Timestamp,press-1.tonnage,robot-1.j1_torque\n{T0},1,2\n")
    assert run(runtime, path) == 2
    assert points(runtime, "robot-1", "j1_torque") == [(T0_MS, 2.0)]


def test_a_long_file_becomes_points(runtime: Runtime, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "time,equipment,signal,value\n"
        f"{T0},press-1,tonnage,8100\n"
        f"{T0},robot-1,j1_torque,12.5\n"
        "2025-11-24T15:00:01+08:00,press-1,tonnage,8200\n",
    )
    assert run(runtime, path) == 3
    assert points(runtime, "press-1", "tonnage") == [(T0_MS, 8100.0), (T0_MS + 1000, 8200.0)]


@pytest.mark.parametrize(
    ("cell", "timezone", "ms"),
    [
        ("2025-11-24 15:00:00", "Asia/Shanghai", T0_MS),  # naive: the factory's zone
        ("2025-11-24T15:00:00.250", "Asia/Shanghai", T0_MS + 250),
        ("2025-11-24 07:00:00", "UTC", T0_MS),
        ("2025-11-24 08:00:00", "Europe/Berlin", T0_MS),
        ("2025-11-24T15:00:00+08:00", "Europe/Berlin", T0_MS),  # an offset wins
        ("2025-11-24T07:00:00Z", "Asia/Shanghai", T0_MS),
        (str(T0_MS // 1000), "Europe/Berlin", T0_MS),  # epoch seconds
        (str(T0_MS), "Asia/Shanghai", T0_MS),  # epoch milliseconds
    ],
)
def test_times_are_read_in_any_form_and_zone(
    runtime: Runtime, tmp_path: Path, cell: str, timezone: str, ms: int
) -> None:
    path = write(tmp_path, f"time,tonnage\n{cell},1\n")
    assert run(runtime, path, equipment="press-1", timezone=timezone) == 1
    assert points(runtime, "press-1", "tonnage") == [(ms, 1.0)]


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        (
            "nonsense,1,2",
            1,
            "cannot read time 'nonsense': use ISO 8601 or epoch seconds or milliseconds",
        ),
        (f"{T0},1,hot", 3, "'hot' is not a number"),
        (f"{T0},nan,1", 2, "'nan' is not a finite number"),
        (",1,2", 1, "the time is empty"),
        ("1999-12-31T00:00:00Z,1,2", 1, "before 2000-01-01"),
        (f"{T0},1,2,3", 1, "expected 3 cells"),
    ],
)
def test_a_bad_cell_is_named_by_file_line_and_column_and_nothing_is_stored(
    runtime: Runtime, tmp_path: Path, row: str, column: int, reason: str
) -> None:
    good = "".join(f"{T0_MS + k * 1000},{k},{k}\n" for k in range(300))
    path = write(tmp_path, "time,tonnage,lube_temp\n" + good + "\n" + row + "\n" + good)
    job = CsvImport(
        path, runtime.catalog, enterprise="acme-auto", equipment="press-1", now_ms=NOW_MS,
        block_bytes=1024,
    )  # fmt: skip
    with pytest.raises(CsvRefused) as raised:
        job.check()
    assert [(r.line, r.column, r.reason) for r in raised.value.rejects] == [(303, column, reason)]
    assert raised.value.where == f"{path}:303:{column}"
    assert runtime.store.stats().points == 0


def test_header_problems_name_the_column(runtime: Runtime, tmp_path: Path) -> None:
    cases = {
        "time,tonnage,nope\n": (":1:3", "'press-1' has no signal 'nope'"),
        "time,ghost.x\n": (":1:2", "unknown equipment 'ghost'"),
        "time,tonnage,tonnage\n": (":1:3", "appears twice"),
    }
    for header, (where, what) in cases.items():
        path = write(tmp_path, header + f"{T0},1,2\n")
        equipment = None if "ghost" in header else "press-1"
        with pytest.raises(BadInput) as raised:
            CsvImport(
                path, runtime.catalog, enterprise="acme-auto", equipment=equipment, now_ms=NOW_MS
            )
        assert raised.value.where.endswith(where)
        assert what in raised.value.what
    path = write(tmp_path, f"time,tonnage\n{T0},1\n")
    with pytest.raises(BadInput, match=r"name it equipment\.signal, or give --equipment"):
        CsvImport(path, runtime.catalog, enterprise="acme-auto", now_ms=NOW_MS)
    with pytest.raises(BadInput, match="unknown time zone 'Mars/Olympus'"):
        CsvImport(
            path, runtime.catalog, enterprise="acme-auto", now_ms=NOW_MS, timezone="Mars/Olympus"
        )


def test_unknown_equipment_in_a_long_file_is_named(runtime: Runtime, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"time,equipment,signal,value\n{T0},press-1,tonnage,1\n{T0},kiln-1,firing_temp,2\n"
        f"{T0},press-1,nope,3\n",
    )
    job = CsvImport(path, runtime.catalog, enterprise="acme-auto", now_ms=NOW_MS)
    with pytest.raises(CsvRefused) as raised:
        job.check()
    assert [(r.line, r.column, r.reason) for r in raised.value.rejects] == [
        (3, 2, "unknown equipment 'kiln-1'"),
        (4, 3, "'press-1' has no signal 'nope'"),
    ]


def test_an_interrupted_import_run_again_stores_each_point_once(
    runtime: Runtime, tmp_path: Path
) -> None:
    rows = 2000
    path = write(
        tmp_path,
        "time,tonnage,lube_temp\n"
        + "".join(f"{T0_MS + k * 1000},{k},{k / 2}\n" for k in range(rows)),
    )

    def job() -> CsvImport:
        return CsvImport(
            path, runtime.catalog, enterprise="acme-auto", equipment="press-1", now_ms=NOW_MS,
            block_bytes=4096,
        )  # fmt: skip

    first = job()
    first.check()

    def cut_after_three_chunks() -> None:
        for done, chunk in enumerate(first.chunks()):
            if done == 3:
                raise RuntimeError("power cut")
            runtime.writer.submit_sync(chunk.bundle, batch_id=chunk.batch_id)

    with pytest.raises(RuntimeError, match="power cut"):
        cut_after_three_chunks()
    partial = runtime.store.stats().points
    assert 0 < partial < 2 * rows
    again = job()
    again.check()
    added = [runtime.writer.submit_sync(c.bundle, batch_id=c.batch_id) for c in again.chunks()]
    assert added[:3] == [0, 0, 0]  # the chunks stored before the cut are skipped
    assert sum(added) + partial == 2 * rows
    assert runtime.store.stats().points == 2 * rows
    assert len(points(runtime, "press-1", "tonnage")) == rows


@pytest.fixture
def store_env(tmp_path: Path) -> dict[str, str]:
    """Settings for the command: a store file holding the small city's assets."""
    path = tmp_path / "kiln.duckdb"
    store = DuckDBStore(path)
    store.import_assets(small_city())
    store.close()
    return {"KILN_STORE__PATH": str(path), "KILN_SIMULATOR__ENABLED": "false"}


def test_the_import_command_loads_a_file_and_prints_a_summary(
    tmp_path: Path, store_env: dict[str, str]
) -> None:
    path = write(
        tmp_path,
        "time,equipment,signal,value\n"
        + "".join(f"{T0_MS + k},press-1,tonnage,{k}\n" for k in range(50)),
    )
    args = [str(path), "--enterprise", "acme-auto", "--format", "long"]
    r = CliRunner().invoke(import_csv, args, env=store_env)
    assert r.exit_code == 0, r.output
    assert f"{path}: 50 rows, 50 points stored in 1 chunk(s)" in r.output
    again = CliRunner().invoke(import_csv, args, env=store_env)
    assert again.exit_code == 0, again.output
    assert "0 points stored in 1 chunk(s), 1 already imported before" in again.output


def test_the_import_command_names_a_bad_cell_and_exits_1(
    tmp_path: Path, store_env: dict[str, str]
) -> None:
    path = write(tmp_path, f"time,tonnage\n{T0},1\n{T0},oops\n")
    r = CliRunner().invoke(
        import_csv,
        [str(path), "--enterprise", "acme-auto", "--equipment", "press-1"],
        env=store_env,
    )
    assert r.exit_code == 1
    assert f"kiln: {path}:3:2: 'oops' is not a number" in r.output
    missing = CliRunner().invoke(
        import_csv, [str(path), "--enterprise", "nobody", "--equipment", "press-1"], env=store_env
    )
    assert missing.exit_code == 1
    assert "--enterprise: unknown enterprise 'nobody'" in missing.output
