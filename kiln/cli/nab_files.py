"""Readers for the Numenta Anomaly Benchmark's files: a data CSV and combined_windows.json.

NAB writes times as `YYYY-MM-DD HH:MM:SS` (windows add `.000000`) with no zone; they are read
as UTC. Rows keep file order, repeats included (see kiln.analytics.nab on clock steps).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np

from kiln.analytics.nab import F64, I64, Window, check_windows
from kiln.errors import BadInput

SERIES_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
WINDOW_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?")
HEADER = ["timestamp", "value"]


def _epoch_ms(text: str) -> int:
    # numpy reads a zone-less ISO time as UTC, which is what NAB means.
    return int(np.datetime64(text, "ms").astype(np.int64))


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return np.nan


def read_series(path: Path) -> tuple[I64, F64]:
    """Timestamps (UTC epoch ms) and values of a NAB data file, in file order."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            lines = list(csv.reader(f))
    except OSError as err:
        raise BadInput(f"cannot read: {err.strerror}", where=str(path)) from err
    except UnicodeDecodeError as err:
        raise BadInput("is not UTF-8 text", where=str(path)) from err
    if not lines or [c.strip() for c in lines[0]] != HEADER:
        raise BadInput("line 1: header must be 'timestamp,value'", where=str(path))
    body = lines[1:]
    if not body:
        raise BadInput("has no data rows", where=str(path))
    for n, row in enumerate(body, start=2):  # checked per line so an error names its line
        if len(row) != 2:
            raise BadInput(f"line {n}: expected 2 fields, got {len(row)}", where=str(path))
        if not SERIES_TIME.fullmatch(row[0].strip()):
            raise BadInput(
                f"line {n}: {row[0]!r} is not a time like 2013-12-02 21:15:00", where=str(path)
            )
    try:
        stamps = np.array([r[0].strip() for r in body], dtype="datetime64[ms]").astype(np.int64)
    except ValueError:
        for n, row in enumerate(body, start=2):
            try:
                _epoch_ms(row[0].strip())
            except ValueError:
                raise BadInput(
                    f"line {n}: {row[0]!r} is not a valid time", where=str(path)
                ) from None
        raise
    values = np.array([_number(r[1]) for r in body], dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        i = int(bad[0])
        raise BadInput(f"line {i + 2}: value {body[i][1]!r} is not a number", where=str(path))
    return stamps, values


def read_windows(path: Path, key: str) -> list[Window]:
    """The windows of one data file from combined_windows.json; key is relative to data/."""
    where = str(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise BadInput(f"cannot read: {err.strerror}", where=where) from err
    except json.JSONDecodeError as err:
        raise BadInput(f"line {err.lineno}: not JSON ({err.msg})", where=where) from err
    if not isinstance(doc, dict):
        raise BadInput("must be a JSON object keyed by data file", where=where)
    if key not in doc:
        known = ", ".join(sorted(doc)) or "none"
        raise BadInput(f"no windows for {key!r} (keys: {known})", where=where)
    entries = doc[key]
    if not isinstance(entries, list):
        raise BadInput(f"{key}: must be a list of [start, end] pairs", where=where)
    windows = []
    for k, pair in enumerate(entries):
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(t, str) and WINDOW_TIME.fullmatch(t) for t in pair)
        ):
            raise BadInput(
                f"{key}[{k}]: {pair!r} is not a pair of times like '2013-12-10 06:25:00.000000'",
                where=where,
            )
        try:
            windows.append(Window(_epoch_ms(pair[0]), _epoch_ms(pair[1])))
        except ValueError:
            raise BadInput(f"{key}[{k}]: {pair!r} holds an invalid time", where=where) from None
    try:
        check_windows(windows)
    except BadInput as err:
        raise BadInput(f"{key}: {err.what}", where=where) from None
    return windows
