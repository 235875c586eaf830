"""CSV import: telemetry files in wide or long format, streamed in chunks into bundles.

Formats (the header names the columns; names are matched without regard to case):

* wide: a time column (``time``, ``timestamp``, ``ts``, ``datetime`` or ``_time``; else the
  first column) and one column per signal: named by the signal for the one equipment given
  (``--equipment press-1``: ``time,tonnage,lube_temp``), or ``equipment.signal``
  (``time,press-1.tonnage,robot-1.j1_torque``). An empty cell is no point;
* long: ``time,equipment,signal,value``, one point per row;
* auto: long when the header has ``equipment``, ``signal`` and ``value``, else wide.

Times are ISO 8601 (``2025-11-24T16:00:00+08:00``, ``...Z``, or without an offset, which is
read in the given time zone, Asia/Shanghai unless told), or epoch numbers: seconds below 10^11,
milliseconds above (``1764000000`` and ``1764000000000`` are the same instant). Values are
numbers; NaN and infinities are refused, as are times before 2000 or more than 10 minutes ahead.

The file is read twice, in blocks (pyarrow's streaming reader, never whole): first to check
every cell, so a bad cell (named by file, line and column) stores nothing; then to convert
each block into a bundle. Each chunk carries a batch id made of the file's content hash (with
the options that change the mapping) and the chunk's index, so the store's batch idempotency
makes an interrupted import, run again, store every point once.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pacsv

from kiln.domain.batches import Bundle, PointBatch
from kiln.domain.catalog import AssetCatalog
from kiln.errors import BadInput
from kiln.ingest.base import EARLIEST_MS, MAX_FUTURE_MS
from kiln.ingest.csv_cells import to_epoch_ms, to_floats

FORMATS = ("auto", "wide", "long")
TIME_NAMES = ("time", "timestamp", "ts", "datetime", "_time")
BLOCK_BYTES = 4 << 20  # bytes per chunk: fixed, so a re-run cuts the same chunks
MAX_REJECTS = 100


@dataclass(frozen=True, slots=True)
class CsvReject:
    """One bad cell or row: file, 1-based line and column, and why."""

    file: str
    line: int
    column: int
    reason: str

    def where(self) -> str:
        """``file:line:column``, as editors and compilers name a place."""
        return f"{self.file}:{self.line}:{self.column}"


class CsvRefused(BadInput):
    """The file has bad cells; nothing was stored. ``rejects`` names the first ones."""

    def __init__(self, rejects: list[CsvReject], count: int) -> None:
        first = rejects[0]
        more = f" (and {count - 1} more problem(s); nothing was stored)" if count > 1 else ""
        super().__init__(first.reason + more, where=first.where())
        self.rejects, self.count = rejects, count


@dataclass(frozen=True, slots=True)
class CsvChunk:
    """One block of the file as a bundle, with the batch id that makes it idempotent."""

    index: int
    batch_id: str
    bundle: Bundle
    rows: int


@dataclass(slots=True)
class _Plan:
    """What the header says: the format, the time column and where each value comes from."""

    names: list[str]
    format: str
    time_col: int
    series: dict[int, int] = field(default_factory=dict)  # wide: column -> series id
    long_cols: tuple[int, int, int] = (0, 0, 0)  # long: equipment, signal, value


class CsvImport:
    """One file to import for one enterprise: check it all, then yield its chunks."""

    def __init__(
        self,
        path: Path,
        catalog: AssetCatalog,
        *,
        enterprise: str,
        now_ms: int,
        equipment: str | None = None,
        fmt: str = "auto",
        timezone: str = "Asia/Shanghai",
        block_bytes: int = BLOCK_BYTES,
    ) -> None:
        self.path, self.catalog, self.now_ms = path, catalog, now_ms
        self.file = str(path)
        self.block_bytes = block_bytes
        ent = catalog.enterprise_by_slug.get(enterprise)
        if ent is None:
            raise BadInput(f"unknown enterprise {enterprise!r}", where="--enterprise")
        self.enterprise_id = ent
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise BadInput(f"unknown time zone {timezone!r}", where="--timezone") from None
        self.timezone = timezone
        if fmt not in FORMATS:
            raise BadInput(f"format {fmt!r}: use {', '.join(FORMATS)}", where="--format")
        self.options = (enterprise, equipment or "", fmt, timezone)
        self.plan = self._plan(self._header(), fmt, equipment)
        self._skipped: list[int] = []  # physical lines the reader could not split into cells

    # -- the header ------------------------------------------------------------------------

    def _header(self) -> list[str]:
        try:
            with self.path.open(encoding="utf-8-sig", newline="") as f:
                names = next(csv.reader([f.readline()]), [])
        except (OSError, UnicodeDecodeError) as err:
            raise BadInput(f"cannot read the header: {err}", where=f"{self.file}:1") from None
        if not names or len(names) < 2:
            raise BadInput("the header needs a time column and values", where=f"{self.file}:1")
        seen: set[str] = set()
        for k, n in enumerate(names):
            if n.strip().lower() in seen:
                raise BadInput(f"column {n!r} appears twice", where=f"{self.file}:1:{k + 1}")
            seen.add(n.strip().lower())
        return [n.strip() for n in names]

    def _plan(self, names: list[str], fmt: str, equipment: str | None) -> _Plan:
        lower = [n.lower() for n in names]
        if fmt == "auto":
            fmt = "long" if {"equipment", "signal", "value"} <= set(lower) else "wide"
        time_col = next((k for k, n in enumerate(lower) if n in TIME_NAMES), 0)
        plan = _Plan(names, fmt, time_col)
        if fmt == "long":
            missing = [c for c in ("equipment", "signal", "value") if c not in lower]
            extra = [n for n in lower if n not in ("equipment", "signal", "value", lower[time_col])]
            if missing or extra:
                why = f"missing {missing}" if missing else f"unexpected {extra}"
                raise BadInput(
                    f"a long file has time,equipment,signal,value: {why}", where=f"{self.file}:1"
                )
            plan.long_cols = (lower.index("equipment"), lower.index("signal"), lower.index("value"))
            return plan
        for k, name in enumerate(names):
            if k != time_col:
                plan.series[k] = self._wide_series(name, k, equipment)
        return plan

    def _wide_series(self, name: str, k: int, equipment: str | None) -> int:
        where = f"{self.file}:1:{k + 1}"
        if equipment is not None:
            eq_slug, signal = equipment, name
        elif "." in name:
            eq_slug, signal = name.split(".", 1)
        else:
            raise BadInput(
                f"column {name!r}: name it equipment.signal, or give --equipment", where=where
            )
        eid = self.catalog.equipment_by_path.get((self.enterprise_id, eq_slug))
        if eid is None:
            raise BadInput(f"column {name!r}: unknown equipment {eq_slug!r}", where=where)
        sid = self.catalog.series_by_name.get((eid, signal))
        if sid is None:
            raise BadInput(f"column {name!r}: {eq_slug!r} has no signal {signal!r}", where=where)
        return sid

    # -- reading -----------------------------------------------------------------------------

    def _batches(self) -> Iterator[tuple[int, pa.RecordBatch]]:
        """(index of the first data row, batch of string cells) per block of the file."""
        self._skipped = []

        def invalid(row: pacsv.InvalidRow) -> str:
            self._skipped.append(int(row.number or 0))
            return "skip"

        reader = pacsv.open_csv(
            self.path,
            read_options=pacsv.ReadOptions(
                use_threads=False,
                block_size=self.block_bytes,
                column_names=self.plan.names,
                skip_rows=1,
            ),
            parse_options=pacsv.ParseOptions(invalid_row_handler=invalid, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in self.plan.names},
                strings_can_be_null=True,
                null_values=[""],  # only an empty cell is no value: "NaN" or "NA" is refused
            ),
        )
        first = 0
        for batch in reader:
            yield first, batch
            first += batch.num_rows

    def _line(self, row: int) -> int:
        """The physical line of a data row (the header is line 1; skipped lines counted)."""
        line = row + 2
        for s in sorted(self._skipped):
            if s <= line:
                line += 1
        return line

    def check(self) -> int:
        """Read the whole file and return its rows; raise CsvRefused naming the bad cells."""
        rejects: list[CsvReject] = []
        count = rows = 0
        for first, batch in self._batches():
            found = self._convert(first, batch)[1]
            count += len(found)
            rejects += found[: MAX_REJECTS - len(rejects)]
            rows += batch.num_rows
        count += len(self._skipped)
        rejects += [self._ragged(line) for line in self._skipped[: MAX_REJECTS - len(rejects)]]
        if count:
            rejects.sort(key=lambda r: (r.line, r.column))
            raise CsvRefused(rejects, count)
        return rows

    def _ragged(self, line: int) -> CsvReject:
        return CsvReject(self.file, line, 1, f"expected {len(self.plan.names)} cells")

    def chunks(self) -> Iterator[CsvChunk]:
        """The file's chunks, converted (call `check` first: a bad cell raises here too)."""
        digest = self.digest()
        for index, (first, batch) in enumerate(self._batches()):
            bundle, rejects = self._convert(first, batch)
            rejects += [self._ragged(line) for line in self._skipped]
            if rejects:
                raise CsvRefused(rejects, len(rejects))
            yield CsvChunk(index, f"csv:{digest}:{index}", bundle, batch.num_rows)

    def digest(self) -> str:
        """A hash of the file's content and the options that change what it stores."""
        h = hashlib.sha256("\x00".join(self.options).encode())
        h.update(self.block_bytes.to_bytes(8, "little"))
        with self.path.open("rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
        return h.hexdigest()[:40]

    # -- converting --------------------------------------------------------------------------

    def _convert(self, first: int, batch: pa.RecordBatch) -> tuple[Bundle, list[CsvReject]]:
        rejects: list[CsvReject] = []

        def refuse(rows: np.ndarray, column: int, why: Callable[[int], str]) -> None:
            for r in rows[: MAX_REJECTS - len(rejects)].tolist():
                rejects.append(CsvReject(self.file, self._line(first + r), column + 1, why(r)))

        plan = self.plan
        times = batch.column(plan.time_col)
        if plan.format == "long":
            cells = [batch.column(k) for k in plan.long_cols]
            blank = _all_null([times, *cells])
            series, bad_eq, bad_sig, names = self._long_series(cells[0], cells[1])
            refuse(np.flatnonzero(bad_eq & ~blank), plan.long_cols[0], lambda r: names[r])
            refuse(np.flatnonzero(bad_sig & ~blank), plan.long_cols[1], lambda r: names[r])
            value_cols = [(plan.long_cols[2], series, cells[2])]
        else:
            blank = _all_null([batch.column(k) for k in range(batch.num_columns)])
            value_cols = [
                (k, np.full(batch.num_rows, sid, dtype=np.int64), batch.column(k))
                for k, sid in plan.series.items()
            ]
        ts_ms, bad_ts, why_ts = to_epoch_ms(times, self.timezone)
        ts_ms = np.where(bad_ts, 0, ts_ms)
        early, late = ts_ms < EARLIEST_MS, ts_ms > self.now_ms + MAX_FUTURE_MS
        refuse(np.flatnonzero(bad_ts & ~blank), plan.time_col, why_ts)
        refuse(
            np.flatnonzero((early | late) & ~bad_ts & ~blank),
            plan.time_col,
            lambda r: "before 2000-01-01" if early[r] else "more than 10 minutes ahead",
        )
        parts = []
        for k, series, cells in value_cols:
            values, present, bad, why = to_floats(cells)
            refuse(np.flatnonzero(bad & ~blank), k, why)
            if plan.format == "long":
                refuse(np.flatnonzero(~present & ~blank), k, lambda r: "the value is empty")
            keep = present & ~bad & ~blank
            parts.append(PointBatch(series[keep], ts_ms[keep], values[keep]))
        rejects.sort(key=lambda r: (r.line, r.column))
        if rejects:
            return Bundle(), rejects
        return Bundle(points=PointBatch.concat(parts)), []

    def _long_series(
        self, equipment: pa.Array, signal: pa.Array
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, str]]:
        """Series per row of a long file, and which rows name unknown equipment or signals."""
        eq_enc = pc.dictionary_encode(equipment.fill_null(""))
        sig_enc = pc.dictionary_encode(signal.fill_null(""))
        eq_code = np.asarray(eq_enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        sig_code = np.asarray(sig_enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        slugs, signals = eq_enc.dictionary.to_pylist(), sig_enc.dictionary.to_pylist()
        eids = np.array(
            [self.catalog.equipment_by_path.get((self.enterprise_id, s), -1) for s in slugs],
            dtype=np.int64,
        )
        pair = eq_code * max(len(signals), 1) + sig_code
        combos, inverse = np.unique(pair, return_inverse=True)
        sids = np.array(
            [
                self.catalog.series_by_name.get(
                    (int(eids[p // max(len(signals), 1)]), signals[p % max(len(signals), 1)]), -1
                )
                for p in combos.tolist()
            ],
            dtype=np.int64,
        )
        series = sids[inverse]
        bad_eq = eids[eq_code] < 0
        bad_sig = ~bad_eq & (series < 0)
        names: dict[int, str] = {}
        for r in np.flatnonzero(bad_eq | bad_sig)[:MAX_REJECTS].tolist():
            slug, sig = slugs[eq_code[r]], signals[sig_code[r]]
            names[r] = (
                f"unknown equipment {slug!r}" if bad_eq[r] else f"{slug!r} has no signal {sig!r}"
            )
        return series, bad_eq, bad_sig, names


def _all_null(columns: list[pa.Array]) -> np.ndarray:
    """Rows where every given cell is empty (a blank line)."""
    blank = np.ones(len(columns[0]), dtype=bool)
    for c in columns:
        blank &= np.asarray(c.is_null().to_numpy(zero_copy_only=False))
    return blank
