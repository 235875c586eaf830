"""Reading NAB's data CSVs and combined_windows.json, real files and broken ones."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from kiln.analytics.nab import Window
from kiln.cli.nab_files import read_series, read_windows
from kiln.errors import BadInput

NAB = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "nab"
MACHINE = "realKnownCause/machine_temperature_system_failure.csv"
AMBIENT = "realKnownCause/ambient_temperature_system_failure.csv"


def utc_ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def real(name: str) -> Path:
    path = NAB / name
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return path


def test_reads_the_machine_temperature_file_with_its_clock_step() -> None:
    ts, value = read_series(real(Path(MACHINE).name))
    assert len(ts) == len(value) == 22_695
    assert ts.dtype == np.int64
    assert value.dtype == np.float64
    assert ts[0] == utc_ms("2013-12-02 21:15:00")
    assert value[0] == pytest.approx(73.96732207)
    assert ts[-1] == utc_ms("2014-02-19 15:25:00")
    assert value.min() == pytest.approx(2.08, abs=0.01)
    assert value.max() == pytest.approx(108.51, abs=0.01)
    # One step back: 2014-01-07 02:55 is followed by 02:00, and 12 stamps appear twice.
    back = np.flatnonzero(np.diff(ts) < 0)
    assert back.tolist() == [10_148]  # data row 10,150 is row 10,149 from 0; the step is before it
    assert ts[10_149] == utc_ms("2014-01-07 02:00:00")
    assert len(ts) - len(np.unique(ts)) == 12


def test_reads_the_ambient_temperature_file() -> None:
    ts, _ = read_series(real(Path(AMBIENT).name))
    assert len(ts) == 7_267
    assert ts[0] == utc_ms("2013-07-04 00:00:00")
    assert ts[-1] == utc_ms("2014-05-28 15:00:00")
    assert np.diff(ts).max() == int(7.25 * 24 * 3_600_000)


def test_reads_the_real_windows() -> None:
    path = real("combined_windows.json")
    machine = read_windows(path, MACHINE)
    assert len(machine) == 4
    assert machine[0] == Window(utc_ms("2013-12-10 06:25:00"), utc_ms("2013-12-12 05:35:00"))
    assert machine[3] == Window(utc_ms("2014-02-07 14:55:00"), utc_ms("2014-02-09 14:05:00"))
    ambient = read_windows(path, AMBIENT)
    assert ambient == [
        Window(utc_ms("2013-12-15 07:00:00"), utc_ms("2013-12-30 09:00:00")),
        Window(utc_ms("2014-03-29 15:00:00"), utc_ms("2014-04-20 22:00:00")),
    ]


def write(tmp_path: Path, text: str, name: str = "s.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_small_series_with_a_bom_reads_as_utc(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_bytes(
        b"\xef\xbb\xbftimestamp,value\n2014-01-01 00:00:00,1.5\n2014-01-01 00:05:00,2\n"
    )
    ts, value = read_series(path)
    assert ts.tolist() == [1_388_534_400_000, 1_388_534_700_000]
    assert value.tolist() == [1.5, 2.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "line 1: header must be 'timestamp,value'"),
        ("time,value\n2014-01-01 00:00:00,1\n", "line 1: header"),
        ("timestamp,value\n", "has no data rows"),
        (
            "timestamp,value\n2014-01-01 00:00:00,1\n2014-01-01 00:05:00\n",
            "line 3: expected 2 fields",
        ),
        (
            "timestamp,value\n2014-01-01 00:00:00,1\n2014-01-01T00:05:00,2\n",
            "line 3: '2014-01-01T00:05",
        ),
        (
            "timestamp,value\n2014-01-01 00:00:00,1\n2014-02-30 00:00:00,2\n",
            "line 3: '2014-02-30 00:00:00' is not a valid",
        ),
        (
            "timestamp,value\n2014-01-01 00:00:00,1\n2014-01-01 00:05:00,hot\n",
            "line 3: value 'hot'",
        ),
        ("timestamp,value\n2014-01-01 00:00:00,nan\n", "line 2: value 'nan'"),
    ],
)
def test_a_bad_series_file_is_refused_naming_file_and_line(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(BadInput, match=message) as err:
        read_series(path)
    assert err.value.where == str(path)


def test_a_missing_series_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="cannot read") as err:
        read_series(tmp_path / "nope.csv")
    assert "nope.csv" in str(err.value)


KEY = "realKnownCause/x.csv"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": [}', "line 1: not JSON"),
        ("[]", "must be a JSON object"),
        ('{"other.csv": []}', "no windows for 'realKnownCause/x.csv' \\(keys: other.csv\\)"),
        ('{"realKnownCause/x.csv": {}}', "must be a list of \\[start, end\\] pairs"),
        (
            '{"realKnownCause/x.csv": [["2014-01-01 00:00:00.000000"]]}',
            "x.csv\\[0\\]: .* is not a pair",
        ),
        (
            '{"realKnownCause/x.csv": [["2014-01-01", "2014-01-02"]]}',
            "x.csv\\[0\\]: .* is not a pair",
        ),
        (
            '{"realKnownCause/x.csv": [["2014-13-01 00:00:00", "2014-01-02 00:00:00"]]}',
            "invalid time",
        ),
        (
            '{"realKnownCause/x.csv": [["2014-01-03 00:00:00", "2014-01-04 00:00:00"],'
            ' ["2014-01-01 00:00:00", "2014-01-02 00:00:00"]]}',
            "x.csv: windows are not sorted",
        ),
        (
            '{"realKnownCause/x.csv": [["2014-01-01 00:00:00", "2014-01-03 00:00:00"],'
            ' ["2014-01-02 00:00:00", "2014-01-04 00:00:00"]]}',
            "x.csv: window 1 overlaps window 0",
        ),
    ],
)
def test_a_bad_windows_file_is_refused_naming_file_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text, "windows.json")
    with pytest.raises(BadInput, match=message) as err:
        read_windows(path, KEY)
    assert err.value.where == str(path)


def test_windows_with_or_without_microseconds_read_the_same(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '{"realKnownCause/x.csv": [["2014-01-01 00:00:00.000000", "2014-01-01 01:00:00"]]}',
        "windows.json",
    )
    assert read_windows(path, KEY) == [Window(1_388_534_400_000, 1_388_538_000_000)]
