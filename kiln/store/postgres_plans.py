"""The plan tracker's tables in PostgreSQL: documents, published figures and versioned filings."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
import pyarrow as pa
from psycopg.rows import TupleRow

from kiln.errors import Conflict, Unavailable
from kiln.plan.documents import Measure, PublishedFigure
from kiln.plan.fields import FIELD_NAMES, FLOWS, STOCKS
from kiln.plan.filings import Filing, Period
from kiln.plan.model import Scope
from kiln.plan.storage import YEARLY_COLUMNS, filing_from_row
from kiln.store.postgres_pool import Connection, Pool, describe, unreachable

_FILING = (
    "SELECT enterprise_id, year, month, version, reason, filed_by, filed_ms, channel, flags, "
    + ", ".join(FIELD_NAMES)
    + " FROM filings"
)
_NEW_COLUMNS = (
    "enterprise_id", "year", "month", "version", "current", "reason", "filed_by", "filed_ms",
    "channel", "flags", *FIELD_NAMES,
)  # fmt: skip
# yearly()'s types, as DuckDB gives them.
_YEARLY_SCHEMA = pa.schema(
    [
        pa.field(name, typ)
        for name, typ in zip(
            YEARLY_COLUMNS,
            (pa.int32(), pa.int32(), pa.int32(), pa.int32(), pa.int64()),
            strict=True,
        )
    ]
    + [pa.field(name, pa.float64()) for name in FIELD_NAMES]
)


def _row(f: Filing) -> tuple[Any, ...]:
    """A filing as a row of _NEW_COLUMNS; numbers made Python's, as NumPy's are not adapted."""
    flags = json.dumps([{"field": g.field, "what": g.what} for g in f.flags]) if f.flags else None
    figures = [f.figures.get(n) for n in FIELD_NAMES]
    return (
        int(f.enterprise_id), int(f.period.year), int(f.period.month), int(f.version), True,
        f.reason, f.filed_by, int(f.filed_ms), f.channel, flags,
        *(None if v is None else float(v) for v in figures),
    )  # fmt: skip


def _yearly_sql(through_month: int) -> str:
    """Flows summed over the months filed, stocks from the last month that filed them (as
    DuckDB's arg_max, which passes over NULLs), an annual filing winning when it may."""
    flows = ", ".join(f"sum({n}) AS {n}" for n in FLOWS)
    stocks = ", ".join(
        f"(array_agg({n} ORDER BY month DESC) FILTER (WHERE {n} IS NOT NULL))[1] AS {n}"
        for n in STOCKS
    )
    pick = ", ".join(
        f"CASE WHEN a.enterprise_id IS NOT NULL THEN a.{n} ELSE m.{n} END AS {n}"
        for n in FIELD_NAMES
    )
    annual_ok = "true" if through_month >= 12 else "false"
    return (
        "WITH cur AS (SELECT * FROM filings WHERE current AND year BETWEEN %(a)s AND %(b)s), "
        f"a AS (SELECT * FROM cur WHERE month = 0 AND {annual_ok}), "
        "m AS (SELECT enterprise_id, year, count(*) AS months, max(month) AS last_month, "
        f"max(filed_ms) AS filed_ms, {flows}, {stocks} FROM cur "
        "WHERE month BETWEEN 1 AND %(t)s GROUP BY enterprise_id, year) "
        "SELECT coalesce(a.enterprise_id, m.enterprise_id) AS enterprise_id, "
        "coalesce(a.year, m.year)::integer AS year, "
        "(CASE WHEN a.enterprise_id IS NOT NULL THEN 12 ELSE m.months END)::integer AS months, "
        "(CASE WHEN a.enterprise_id IS NOT NULL THEN 12 ELSE m.last_month END)::integer "
        "AS last_month, greatest(a.filed_ms, m.filed_ms) AS filed_ms, "
        f"{pick} FROM a FULL OUTER JOIN m USING (enterprise_id, year) "
        "ORDER BY year, enterprise_id"
    )


@contextmanager
def _transaction(pool: Pool) -> Iterator[Connection]:
    """A pooled connection in one transaction: committed on leaving, rolled back on an error;
    a server that cannot be reached becomes Unavailable (a refused statement stays itself)."""
    try:
        with pool.connection() as con:
            yield con
    except (psycopg.OperationalError, psycopg.InterfaceError) as err:
        if not unreachable(err):
            raise
        where = describe(pool.conninfo) if isinstance(pool.conninfo, str) else ""
        raise Unavailable(f"PostgreSQL is unreachable: {err}", where=where) from err


class PostgresPlans:
    """PlanStore on a PostgreSQL connection pool; one transaction per call."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    def _rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[TupleRow]:
        with _transaction(self._pool) as con:
            return con.execute(sql, params).fetchall()

    # -- documents and published figures -----------------------------------------------------

    def documents(self, kind: str) -> dict[str, dict[str, Any]]:
        """Stored documents of a kind, by key."""
        # COLLATE "C": byte order, as DuckDB sorts, whatever the database's locale.
        rows = self._rows(
            'SELECT key, doc FROM plan_documents WHERE kind = %s ORDER BY key COLLATE "C"', [kind]
        )
        return {str(k): json.loads(d) for k, d in rows}

    def put_document(self, kind: str, key: str, doc: dict[str, Any]) -> None:
        """Create or replace one document."""
        with _transaction(self._pool) as con:
            con.execute(
                "INSERT INTO plan_documents VALUES (%s, %s, %s) "
                "ON CONFLICT (kind, key) DO UPDATE SET doc = excluded.doc",
                [kind, key, json.dumps(doc, ensure_ascii=False)],
            )

    def delete_document(self, kind: str, key: str) -> bool:
        """Delete one document; whether it existed."""
        return bool(
            self._rows(
                "DELETE FROM plan_documents WHERE kind = %s AND key = %s RETURNING key", [kind, key]
            )
        )

    def published(self) -> list[PublishedFigure]:
        """Every published figure, by indicator and year."""
        rows = self._rows(
            "SELECT indicator, year, value, measure, scope, source, note, reliability "
            'FROM published_figures ORDER BY indicator COLLATE "C", scope COLLATE "C", year, '
            'measure COLLATE "C"'
        )
        return [
            PublishedFigure(
                r[0], int(r[1]), float(r[2]), Measure(r[3]), Scope.parse(r[4]), r[5], r[6], r[7]
            )
            for r in rows
        ]

    def put_published(self, figures: Sequence[PublishedFigure]) -> int:
        """Create or replace published figures."""
        if not figures:
            return 0
        with _transaction(self._pool) as con, con.cursor() as cur:
            cur.executemany(
                "INSERT INTO published_figures VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (indicator, scope, year, measure) DO UPDATE SET "
                "value = excluded.value, source = excluded.source, note = excluded.note, "
                "reliability = excluded.reliability",
                [
                    (f.indicator, f.scope.text, f.year, f.measure.value, f.value, f.source,
                     f.note, f.reliability)
                    for f in figures
                ],
            )  # fmt: skip
        return len(figures)

    # -- filings -----------------------------------------------------------------------------

    def write_filings(self, filings: Sequence[Filing]) -> int:
        """Store new versions atomically; Conflict when a version is not the next one."""
        if not filings:
            return 0
        keys = {(f.enterprise_id, f.period) for f in filings}
        if len(keys) < len(filings):
            raise Conflict(
                "the same enterprise and period twice in one submission", where="filings"
            )
        names = ", ".join(_NEW_COLUMNS)
        with _transaction(self._pool) as con:
            # One filer at a time, across processes, so the version check below still holds
            # when the rows go in; readers are not blocked.
            con.execute("LOCK TABLE filings IN SHARE ROW EXCLUSIVE MODE")
            con.execute("CREATE TEMP TABLE _new_filings (LIKE filings) ON COMMIT DROP")
            with con.cursor().copy(f"COPY _new_filings ({names}) FROM STDIN") as copy:
                for f in filings:
                    copy.write_row(_row(f))
            con.execute("ANALYZE _new_filings")
            stale = con.execute(
                "SELECT n.enterprise_id, n.year, n.month, n.version, coalesce(max(f.version), 0) "
                "FROM _new_filings n LEFT JOIN filings f USING (enterprise_id, year, month) "
                "GROUP BY n.enterprise_id, n.year, n.month, n.version "
                "HAVING n.version <> coalesce(max(f.version), 0) + 1 "
                "ORDER BY n.enterprise_id, n.year, n.month LIMIT 1"
            ).fetchall()
            if stale:
                e, y, m, v, have = stale[0]
                raise Conflict(
                    f"enterprise {e} period {Period(y, m).text}: version {v} was sent but "
                    f"version {have} is stored; read it again and resubmit",
                    where="filings",
                )
            con.execute(
                "UPDATE filings f SET current = false FROM _new_filings n "
                "WHERE f.current AND f.enterprise_id = n.enterprise_id "
                "AND f.year = n.year AND f.month = n.month"
            )
            con.execute(f"INSERT INTO filings ({names}) SELECT {names} FROM _new_filings")
        return len(filings)

    def current_filings(
        self, keys: Sequence[tuple[int, Period]]
    ) -> dict[tuple[int, Period], Filing]:
        """The current version of each (enterprise, period) that has one."""
        if not keys:
            return {}
        rows = self._rows(
            f"{_FILING} WHERE current AND (enterprise_id, year, month) IN "
            "(SELECT * FROM unnest(%s::integer[], %s::smallint[], %s::smallint[]))",
            [[k[0] for k in keys], [k[1].year for k in keys], [k[1].month for k in keys]],
        )
        found = [filing_from_row(r) for r in rows]
        return {(f.enterprise_id, f.period): f for f in found}

    def filing_history(self, enterprise_id: int, period: Period) -> list[Filing]:
        """Every version, oldest first."""
        rows = self._rows(
            f"{_FILING} WHERE enterprise_id = %s AND year = %s AND month = %s ORDER BY version",
            [enterprise_id, period.year, period.month],
        )
        return [filing_from_row(r) for r in rows]

    def filings(
        self, enterprise_id: int | None, first_year: int, last_year: int, *, limit: int = 10_000
    ) -> list[Filing]:
        """Current filings, newest period first."""
        where = "current AND year BETWEEN %s AND %s"
        args: list[Any] = [first_year, last_year]
        if enterprise_id is not None:
            where += " AND enterprise_id = %s"
            args.append(enterprise_id)
        rows = self._rows(
            f"{_FILING} WHERE {where} ORDER BY year DESC, month DESC, enterprise_id LIMIT %s",
            [*args, limit],
        )
        return [filing_from_row(r) for r in rows]

    def yearly(self, first_year: int, last_year: int, *, through_month: int = 12) -> pa.Table:
        """Per enterprise and year: flows summed, stocks as at the last month filed."""
        rows = self._rows(
            _yearly_sql(through_month), {"a": first_year, "b": last_year, "t": through_month}
        )
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(_YEARLY_SCHEMA)
        return pa.Table.from_arrays(
            [pa.array(c, f.type) for c, f in zip(columns, _YEARLY_SCHEMA, strict=True)],
            schema=_YEARLY_SCHEMA,
        )
