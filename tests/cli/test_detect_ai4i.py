"""`kiln detect ai4i`: the comparison table and JSON, and the reader's refusals of bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kiln.cli.ai4i_file import HEADER, read_ai4i
from kiln.cli.detect_ai4i import ai4i
from kiln.errors import BadInput

AI4I = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "ai4i2020" / "ai4i2020.csv"
GOOD_ROW = "1,M14860,M,298.1,308.6,1551,42.8,0,0,0,0,0,0,0"


@pytest.fixture
def real() -> Path:
    if not AI4I.exists():
        pytest.skip(f"{AI4I} is absent")
    pytest.importorskip("sklearn")
    return AI4I


@pytest.mark.slow
def test_prints_the_comparison_table(real: Path) -> None:
    out = CliRunner().invoke(ai4i, [str(real)])
    assert out.exit_code == 0, out.output
    assert "test rows: 2000 of 10000 (stratified 80/20, seed 42), 68 failures" in out.output
    lines = {line.split("  ")[0]: line.split() for line in out.output.splitlines()}
    assert lines["failures caught"][2:5] == ["57", "of", "68"]  # the rules
    assert lines["false alarms"][2] == "0"
    assert lines["recall HDF"][2] == "29/29"
    assert lines["recall TWF"][2] == "1/10"


@pytest.mark.slow
def test_prints_json_with_the_same_counts(real: Path) -> None:
    out = CliRunner().invoke(ai4i, [str(real), "--json", "--seed", "42"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["protocol"]["seed"] == 42
    assert doc["protocol"]["test_failures"] == 68
    assert doc["rules"]["tp"] == 57
    assert doc["rules"]["precision"] == 1.0
    assert doc["rules"]["mode_recall"]["OSF"] == {"caught": 16, "total": 16, "recall": 1.0}
    assert doc["model"]["tp"] + doc["model"]["fn"] == 68
    assert doc["model"]["precision"] >= 0.93


@pytest.mark.slow
def test_another_seed_gives_another_split(real: Path) -> None:
    out = CliRunner().invoke(ai4i, [str(real), "--json", "--seed", "7"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["protocol"]["seed"] == 7


def test_a_missing_file_is_one_line_and_exit_1(tmp_path: Path) -> None:
    out = CliRunner().invoke(ai4i, [str(tmp_path / "none.csv")])
    assert out.exit_code == 1
    assert "none.csv: cannot read" in out.output


def write(tmp_path: Path, *rows: str, header: str = ",".join(HEADER)) -> Path:
    path = tmp_path / "ai4i.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_reads_a_small_file_with_a_bom(tmp_path: Path) -> None:
    path = tmp_path / "ai4i.csv"
    body = ",".join(HEADER) + "\n" + GOOD_ROW + "\n2,L1,L,298.2,308.7,1408,46.3,3,1,0,1,0,0,0\n"
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())
    p = read_ai4i(path)
    assert p.type_code.tolist() == [1, 0]
    assert p.torque_nm.tolist() == [42.8, 46.3]
    assert p.failure.tolist() == [False, True]
    assert p.hdf.tolist() == [False, True]


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        ((GOOD_ROW,), "UDI,Product ID,Type", "line 1: header must be UDI,Product ID"),
        ((), ",".join(HEADER), "has no data rows"),
        ((GOOD_ROW, "2,L1,L,298.2"), ",".join(HEADER), "line 3: expected 14 fields, got 4"),
        (
            (GOOD_ROW.replace(",M,", ",X,"),),
            ",".join(HEADER),
            "line 2: Type 'X' is not one of L/M/H",
        ),
        (
            (GOOD_ROW, GOOD_ROW.replace("42.8", "hot")),
            ",".join(HEADER),
            "line 3: Torque \\[Nm\\] 'hot'",
        ),
        (
            (GOOD_ROW.replace(",0,0,0,0,0,0,0", ",0,2,0,0,0,0,0"),),
            ",".join(HEADER),
            "line 2: Machine failure '2'",
        ),
    ],
)
def test_a_bad_file_is_refused_naming_file_and_line(
    tmp_path: Path, rows: tuple[str, ...], header: str, message: str
) -> None:
    path = write(tmp_path, *rows, header=header)
    with pytest.raises(BadInput, match=message) as err:
        read_ai4i(path)
    assert err.value.where == str(path)


def test_a_bad_file_through_the_command_is_one_line_and_exit_1(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_ROW.replace(",M,", ",X,"))
    out = CliRunner().invoke(ai4i, [str(path)])
    assert out.exit_code == 1
    assert out.output.strip() == f"kiln: {path}: line 2: Type 'X' is not one of L/M/H"
