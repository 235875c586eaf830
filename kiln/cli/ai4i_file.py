"""Reader for the AI4I 2020 predictive-maintenance CSV (UCI data set 601), into columns."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from kiln.analytics.failure_prediction import TYPES, Processes
from kiln.errors import BadInput

# The UCI header, unchanged; edited copies (renamed or dropped columns) are refused.
HEADER = [
    "UDI",
    "Product ID",
    "Type",
    "Air temperature [K]",
    "Process temperature [K]",
    "Rotational speed [rpm]",
    "Torque [Nm]",
    "Tool wear [min]",
    "Machine failure",
    "TWF",
    "HDF",
    "PWF",
    "OSF",
    "RNF",
]
MEASURES = {  # Processes field: column
    "air_k": "Air temperature [K]",
    "process_k": "Process temperature [K]",
    "speed_rpm": "Rotational speed [rpm]",
    "torque_nm": "Torque [Nm]",
    "wear_min": "Tool wear [min]",
}
FLAGS = {
    "failure": "Machine failure",
    "twf": "TWF",
    "hdf": "HDF",
    "pwf": "PWF",
    "osf": "OSF",
    "rnf": "RNF",
}


def _lines(path: Path) -> list[list[str]]:
    try:
        # The UCI file starts with a byte-order mark.
        with path.open(newline="", encoding="utf-8-sig") as f:
            return list(csv.reader(f))
    except OSError as err:
        raise BadInput(f"cannot read: {err.strerror}", where=str(path)) from err
    except UnicodeDecodeError as err:
        raise BadInput("is not UTF-8 text", where=str(path)) from err


def _floats(cells: list[str], column: str, path: Path) -> NDArray[np.float64]:
    try:
        values = np.array(cells, dtype=np.float64)
    except ValueError:
        values = np.array([_or_nan(c) for c in cells])
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        i = int(bad[0])
        raise BadInput(f"line {i + 2}: {column} {cells[i]!r} is not a number", where=str(path))
    return values


def _or_nan(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return np.nan


def _flags(cells: list[str], column: str, path: Path) -> NDArray[np.bool_]:
    col = np.array(cells)
    bad = np.flatnonzero((col != "0") & (col != "1"))
    if len(bad):
        i = int(bad[0])
        raise BadInput(f"line {i + 2}: {column} {cells[i]!r} is not 0 or 1", where=str(path))
    return np.asarray(col == "1", dtype=np.bool_)


def read_ai4i(path: Path) -> Processes:
    """The records of ai4i2020.csv as columns; a bad cell is refused naming its line."""
    lines = _lines(path)
    if not lines or lines[0] != HEADER:
        raise BadInput(f"line 1: header must be {','.join(HEADER)}", where=str(path))
    body = lines[1:]
    if not body:
        raise BadInput("has no data rows", where=str(path))
    for n, row in enumerate(body, start=2):
        if len(row) != len(HEADER):
            raise BadInput(
                f"line {n}: expected {len(HEADER)} fields, got {len(row)}", where=str(path)
            )
    columns = {name: [row[i] for row in body] for i, name in enumerate(HEADER)}
    kinds = np.array(columns["Type"])
    codes = np.full(len(body), -1, dtype=np.int64)
    for code, letter in enumerate(TYPES):
        codes[kinds == letter] = code
    bad = np.flatnonzero(codes < 0)
    if len(bad):
        i = int(bad[0])
        raise BadInput(
            f"line {i + 2}: Type {columns['Type'][i]!r} is not one of {'/'.join(TYPES)}",
            where=str(path),
        )
    f = {field: _floats(columns[col], col, path) for field, col in MEASURES.items()}
    b = {field: _flags(columns[col], col, path) for field, col in FLAGS.items()}
    return Processes(
        type_code=codes,
        air_k=f["air_k"],
        process_k=f["process_k"],
        speed_rpm=f["speed_rpm"],
        torque_nm=f["torque_nm"],
        wear_min=f["wear_min"],
        failure=b["failure"],
        twf=b["twf"],
        hdf=b["hdf"],
        pwf=b["pwf"],
        osf=b["osf"],
        rnf=b["rnf"],
    )
