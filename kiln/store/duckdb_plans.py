"""The plan tracker's tables in DuckDB: documents, published figures and versioned filings."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from kiln.errors import Conflict
from kiln.plan.documents import Measure, PublishedFigure
from kiln.plan.fields import FIELD_NAMES, FLOWS, STOCKS
from kiln.plan.filings import Filing, Period
from kiln.plan.model import Scope
from kiln.plan.storage import filing_from_row

_FILING = (
    "SELECT enterprise_id, year, month, version, reason, filed_by, filed_ms, channel, flags, "
    + ", ".join(FIELD_NAMES)
    + " FROM filings"
)


class DuckDBPlans:
    """PlanStore on the store's DuckDB connection (one cursor per thread, one write lock)."""

    def __init__(
        self, cursor: Callable[[], duckdb.DuckDBPyConnection], lock: threading.Lock
    ) -> None:
        self._cursor = cursor
        self._lock = lock

    # -- documents and published figures -----------------------------------------------------

    def documents(self, kind: str) -> dict[str, dict[str, Any]]:
        """Stored documents of a kind, by key."""
        rows = self._cursor().execute(
            "SELECT key, doc FROM plan_documents WHERE kind = ? ORDER BY key", [kind]
        )
        return {str(k): json.loads(d) for k, d in rows.fetchall()}

    def put_document(self, kind: str, key: str, doc: dict[str, Any]) -> None:
        """Create or replace one document."""
        with self._lock:
            self._cursor().execute(
                "INSERT OR REPLACE INTO plan_documents VALUES (?, ?, ?)",
                [kind, key, json.dumps(doc, ensure_ascii=False)],
            )

    def delete_document(self, kind: str, key: str) -> bool:
        """Delete one document; whether it existed."""
        with self._lock:
            rows = self._cursor().execute(
                "DELETE FROM plan_documents WHERE kind = ? AND key = ? RETURNING key", [kind, key]
            )
            return bool(rows.fetchall())

    def published(self) -> list[PublishedFigure]:
        """Every published figure, by indicator and year."""
        rows = self._cursor().execute(
            "SELECT indicator, year, value, measure, scope, source, note, reliability "
            "FROM published_figures ORDER BY indicator, scope, year, measure"
        )
        return [
            PublishedFigure(
                r[0], int(r[1]), float(r[2]), Measure(r[3]), Scope.parse(r[4]), r[5], r[6], r[7]
            )
            for r in rows.fetchall()
        ]

    def put_published(self, figures: Sequence[PublishedFigure]) -> int:
        """Create or replace published figures."""
        if not figures:
            return 0
        with self._lock:
            con = self._cursor()
            con.executemany(
                "INSERT OR REPLACE INTO published_figures VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [f.indicator, f.scope.text, f.year, f.measure.value, f.value, f.source,
                     f.note, f.reliability]
                    for f in figures
                ],
            )  # fmt: skip
        return len(figures)

    # -- filings -----------------------------------------------------------------------------

    def write_filings(self, filings: Sequence[Filing]) -> int:
        """Store new versions atomically; Conflict when a version is not the next one."""
        if not filings:
            return 0
        cols: dict[str, list[Any]] = {
            "enterprise_id": [f.enterprise_id for f in filings],
            "year": [f.period.year for f in filings],
            "month": [f.period.month for f in filings],
            "version": [f.version for f in filings],
        }
        keys = pa.table(
            {
                "enterprise_id": pa.array(cols["enterprise_id"], pa.int32()),
                "year": pa.array(cols["year"], pa.int16()),
                "month": pa.array(cols["month"], pa.int8()),
                "version": pa.array(cols["version"], pa.int32()),
            }
        )
        if len(set(zip(*(cols[k] for k in ("enterprise_id", "year", "month")), strict=True))) < len(
            filings
        ):
            raise Conflict(
                "the same enterprise and period twice in one submission", where="filings"
            )
        rows = keys.append_column("current", pa.array([True] * len(filings)))
        for name, typ, values in (
            ("reason", pa.string(), [f.reason for f in filings]),
            ("filed_by", pa.string(), [f.filed_by for f in filings]),
            ("filed_ms", pa.int64(), [f.filed_ms for f in filings]),
            ("channel", pa.string(), [f.channel for f in filings]),
            (
                "flags",
                pa.string(),
                [
                    json.dumps([{"field": g.field, "what": g.what} for g in f.flags])
                    if f.flags
                    else None
                    for f in filings
                ],
            ),
        ):
            rows = rows.append_column(name, pa.array(values, typ))
        for name in FIELD_NAMES:
            rows = rows.append_column(
                name, pa.array([f.figures.get(name) for f in filings], pa.float64())
            )
        with self._lock:
            con = self._cursor()
            con.execute("BEGIN TRANSACTION")
            try:
                con.register("_new", rows)
                stale = con.execute(
                    "SELECT n.enterprise_id, n.year, n.month, n.version, "
                    "coalesce(max(f.version), 0) FROM _new n LEFT JOIN filings f "
                    "USING (enterprise_id, year, month) GROUP BY ALL "
                    "HAVING n.version <> coalesce(max(f.version), 0) + 1 LIMIT 1"
                ).fetchall()
                if stale:
                    e, y, m, v, have = stale[0]
                    raise Conflict(
                        f"enterprise {e} period {Period(y, m).text}: version {v} was sent but "
                        f"version {have} is stored; read it again and resubmit",
                        where="filings",
                    )
                con.execute(
                    "UPDATE filings SET current = false FROM _new n "
                    "WHERE filings.current AND filings.enterprise_id = n.enterprise_id "
                    "AND filings.year = n.year AND filings.month = n.month"
                )
                names = ", ".join(rows.column_names)
                con.execute(f"INSERT INTO filings ({names}) SELECT {names} FROM _new")
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            finally:
                con.unregister("_new")
        return len(filings)

    def current_filings(
        self, keys: Sequence[tuple[int, Period]]
    ) -> dict[tuple[int, Period], Filing]:
        """The current version of each (enterprise, period) that has one."""
        if not keys:
            return {}
        want = pa.table(
            {
                "e": pa.array([k[0] for k in keys], pa.int32()),
                "y": pa.array([k[1].year for k in keys], pa.int16()),
                "m": pa.array([k[1].month for k in keys], pa.int8()),
            }
        )
        con = self._cursor()
        con.register("_want", want)
        try:
            rows = con.execute(
                f"{_FILING} f SEMI JOIN _want w "
                "ON f.enterprise_id = w.e AND f.year = w.y AND f.month = w.m WHERE f.current"
            ).fetchall()
        finally:
            con.unregister("_want")
        found = [filing_from_row(r) for r in rows]
        return {(f.enterprise_id, f.period): f for f in found}

    def filing_history(self, enterprise_id: int, period: Period) -> list[Filing]:
        """Every version, oldest first."""
        rows = self._cursor().execute(
            f"{_FILING} WHERE enterprise_id = ? AND year = ? AND month = ? ORDER BY version",
            [enterprise_id, period.year, period.month],
        )
        return [filing_from_row(r) for r in rows.fetchall()]

    def filings(
        self, enterprise_id: int | None, first_year: int, last_year: int, *, limit: int = 10_000
    ) -> list[Filing]:
        """Current filings, newest period first."""
        where = "current AND year BETWEEN ? AND ?"
        args: list[Any] = [first_year, last_year]
        if enterprise_id is not None:
            where += " AND enterprise_id = ?"
            args.append(enterprise_id)
        rows = self._cursor().execute(
            f"{_FILING} WHERE {where} ORDER BY year DESC, month DESC, enterprise_id LIMIT ?",
            [*args, limit],
        )
        return [filing_from_row(r) for r in rows.fetchall()]

    def yearly(self, first_year: int, last_year: int, *, through_month: int = 12) -> pa.Table:
        """Per enterprise and year: flows summed, stocks as at the last month filed."""
        flows = ", ".join(f"sum({n}) AS {n}" for n in FLOWS)
        stocks = ", ".join(f"arg_max({n}, month) AS {n}" for n in STOCKS)
        pick = ", ".join(
            f"CASE WHEN a.enterprise_id IS NOT NULL THEN a.{n} ELSE m.{n} END AS {n}"
            for n in FIELD_NAMES
        )
        annual_ok = "true" if through_month >= 12 else "false"
        sql = (
            "WITH cur AS (SELECT * FROM filings WHERE current AND year BETWEEN $a AND $b), "
            f"a AS (SELECT * FROM cur WHERE month = 0 AND {annual_ok}), "
            f"m AS (SELECT enterprise_id, year, count(*) AS months, max(month) AS last_month, "
            f"max(filed_ms) AS filed_ms, {flows}, {stocks} FROM cur "
            "WHERE month BETWEEN 1 AND $t GROUP BY enterprise_id, year) "
            "SELECT coalesce(a.enterprise_id, m.enterprise_id) AS enterprise_id, "
            "coalesce(a.year, m.year)::INTEGER AS year, "
            "(CASE WHEN a.enterprise_id IS NOT NULL THEN 12 ELSE m.months END)::INTEGER AS months, "
            "(CASE WHEN a.enterprise_id IS NOT NULL THEN 12 ELSE m.last_month END)::INTEGER "
            "AS last_month, "
            "greatest(a.filed_ms, m.filed_ms) AS filed_ms, "
            f"{pick} FROM a FULL OUTER JOIN m USING (enterprise_id, year) "
            "ORDER BY year, enterprise_id"
        )
        return (
            self._cursor()
            .sql(sql, params={"a": first_year, "b": last_year, "t": through_month})
            .to_arrow_table()
        )
