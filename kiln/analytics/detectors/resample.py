"""Bucket means per series, carried across batches: what the detectors see instead of raw points.

A precursor grows over hours, so scoring every 1 Hz sample adds cost and noise, not warning:
the monitor scores one mean per series per bucket (a minute by default). A bucket is emitted
when a later bucket of its series begins; its time is the bucket's end, when it is complete.
A point older than its series' open bucket joins the open bucket (it is late, not lost).
"""

from __future__ import annotations

import numpy as np

from kiln.analytics.detectors.base import F64, I64, SeriesRows, check_columns, grow


class BucketMeans:
    """Per-series means over fixed buckets of time, emitted as each bucket closes."""

    def __init__(self, bucket_ms: int = 60_000) -> None:
        if bucket_ms < 1:
            raise ValueError("bucket_ms must be at least 1")
        self.bucket_ms = bucket_ms
        self._rows = SeriesRows()
        self._ids = np.zeros(0, dtype=np.int64)  # series id of each row
        self._open = np.zeros(0, dtype=np.int64)  # bucket number, -1 for none
        self._sum = np.zeros(0, dtype=np.float64)
        self._count = np.zeros(0, dtype=np.int64)
        self._last = np.zeros(0, dtype=np.int64)  # the previous batch's series column
        self._last_rows = np.zeros(0, dtype=np.int64)
        self._same = False  # whether this batch has one point of each of distinct series

    def add(self, series: I64, ts_ms: I64, value: F64) -> tuple[I64, I64, F64]:
        """Take a batch; return (series, bucket end ms, mean) of every bucket it closed.

        The result is ordered by series, then time.

        >>> b = BucketMeans(60_000)
        >>> b.add(np.array([7, 7, 7]), np.array([0, 30_000, 60_000]), np.array([1.0, 3.0, 9.0]))
        (array([7]), array([60000]), array([2.]))
        """
        check_columns(series, ts_ms, value)
        ok = ~np.isnan(value)
        if not ok.all():
            series, ts_ms, value = series[ok], ts_ms[ok], value[ok]
        rows = self._rows_of(series)
        bucket = np.maximum(ts_ms // self.bucket_ms, self._open[rows])
        if len(rows) and self._same:
            # Live ingest: the same series again, each point inside its open bucket.
            stays = bucket == self._open[rows]
            if stays.all():
                self._sum[rows] += value
                self._count[rows] += 1
                return self._ids[:0], ts_ms[:0], value[:0]
        dr, db = np.diff(rows), np.diff(bucket)
        if np.all((dr > 0) | ((dr == 0) & (db >= 0))):
            r, b, v = rows, bucket, value  # already by series, then time: the usual batch
        else:
            order = np.lexsort((bucket, rows))
            r, b, v = rows[order], bucket[order], value[order]
        head = np.flatnonzero(np.r_[True, (r[1:] != r[:-1]) | (b[1:] != b[:-1])])
        g_row, g_bucket = r[head], b[head]
        g_sum = np.add.reduceat(v, head) if len(v) else np.zeros(0)
        g_count = np.diff(np.r_[head, len(r)])
        first = np.r_[True, g_row[1:] != g_row[:-1]]
        last = np.r_[g_row[1:] != g_row[:-1], True]
        # The open bucket continues in the first group of its row, or closes before it.
        joins = first & (g_bucket == self._open[g_row])
        g_sum[joins] += self._sum[g_row[joins]]
        g_count[joins] += self._count[g_row[joins]]
        closes_open = first & ~joins & (self._open[g_row] >= 0)
        old = g_row[closes_open]
        out_row = np.concatenate([old, g_row[~last]])
        out_bucket = np.concatenate([self._open[old], g_bucket[~last]])
        out_mean = np.concatenate(
            [self._sum[old] / self._count[old], g_sum[~last] / g_count[~last]]
        )
        self._open[g_row[last]] = g_bucket[last]
        self._sum[g_row[last]] = g_sum[last]
        self._count[g_row[last]] = g_count[last]
        o = np.lexsort((out_bucket, out_row))
        return (
            self._ids[out_row[o]],
            (out_bucket[o] + 1) * self.bucket_ms,
            out_mean[o].astype(np.float64),
        )

    def _rows_of(self, series: I64) -> I64:
        """State rows of the series, reusing the last lookup when the column repeats."""
        if len(series) == len(self._last) and np.array_equal(series, self._last):
            return self._last_rows
        rows, count = self._rows.rows_of(series)
        if len(self._ids) < count:
            self._ids = grow(self._ids, count, 0)
            self._open = grow(self._open, count, -1)
            self._sum = grow(self._sum, count, 0.0)
            self._count = grow(self._count, count, 0)
        self._ids[rows] = series
        self._same = len(np.unique(rows)) == len(rows)
        self._last, self._last_rows = series.copy(), rows
        return rows
