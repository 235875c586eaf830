"""VictoriaMetrics as a peer: started on a free port in a temp dir, loaded, queried, stopped."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
from numpy.typing import NDArray

from benchmarks.common import VICTORIA_METRICS, free_port, process, tail, wait_http

METRIC = "bench_signal"


class Victoria:
    """One running VictoriaMetrics (single node), talked to over HTTP on 127.0.0.1."""

    def __init__(self, port: int, log_path: Path) -> None:
        self.port = port
        self.log_path = log_path
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300.0)

    def import_series(
        self, series: Sequence[int], ts_ms: NDArray[np.int64], values: NDArray[np.float64]
    ) -> int:
        """Import rows of values (one row per series, all at ts_ms) as JSON lines; return bytes."""
        body = b"".join(
            orjson.dumps(
                {
                    "metric": {"__name__": METRIC, "series": str(int(s))},
                    "values": values[i],
                    "timestamps": ts_ms,
                },
                option=orjson.OPT_SERIALIZE_NUMPY,
            )
            + b"\n"
            for i, s in enumerate(series)
        )
        r = self.client.post("/api/v1/import", content=body)
        if not r.is_success:
            raise RuntimeError(f"VictoriaMetrics import answered {r.status_code}: {r.text[:300]}")
        return len(body)

    def wait_searchable(self, points: int, at_ms: int, *, timeout_s: float = 300.0) -> float:
        """Flush, then poll until all points are counted by a query; return seconds waited."""
        t0 = time.perf_counter()
        self.client.get("/internal/force_flush").raise_for_status()
        deadline = t0 + timeout_s
        got = 0
        while time.perf_counter() < deadline:
            got = int(self.instant(f"sum(count_over_time({METRIC}[2d]))", at_ms) or 0)
            if got >= points:
                return time.perf_counter() - t0
            time.sleep(0.5)
        raise TimeoutError(f"VictoriaMetrics counts {got} of {points} points after {timeout_s} s")

    def instant(self, query: str, at_ms: int) -> float | None:
        """The first value of an instant query, or None when the result is empty."""
        r = self.client.get("/api/v1/query", params={"query": query, "time": at_ms / 1000})
        r.raise_for_status()
        result = r.json()["data"]["result"]
        return float(result[0]["value"][1]) if result else None

    def query_range(self, query: str, start_ms: int, end_ms: int, step_s: int) -> Any:
        """A range query, uncached; returns the parsed JSON."""
        r = self.client.get(
            "/api/v1/query_range",
            params={
                "query": query,
                "start": start_ms / 1000,
                "end": end_ms / 1000,
                "step": f"{step_s}s",
                "nocache": "1",
            },
        )
        r.raise_for_status()
        return r.json()

    def query_raw(self, query: str, at_ms: int) -> bytes:
        """An instant query's body (for timing; not parsed)."""
        r = self.client.get(
            "/api/v1/query", params={"query": query, "time": at_ms / 1000, "nocache": "1"}
        )
        r.raise_for_status()
        return r.content


@contextlib.contextmanager
def victoria(tmp: Path) -> Iterator[tuple[Victoria, Path]]:
    """Start VictoriaMetrics on a free port with its data in tmp/vm; stop it at the end.

    The response cache is off (-search.disableCache), so repeated queries are computed each
    time, as Kiln computes them.
    """
    data = tmp / "vm"
    port = free_port()
    log_path = tmp / "victoria-metrics.log"
    args = [
        str(VICTORIA_METRICS),
        f"-storageDataPath={data}",
        f"-httpListenAddr=127.0.0.1:{port}",
        "-search.disableCache",
        "-retentionPeriod=1y",
        "-loggerLevel=ERROR",
    ]
    with process(args, log_path=log_path) as proc:
        try:
            wait_http(f"http://127.0.0.1:{port}/health", timeout_s=30, proc=proc)
        except (TimeoutError, RuntimeError) as err:
            raise RuntimeError(f"VictoriaMetrics did not start: {err}\n{tail(log_path)}") from err
        vm = Victoria(port, log_path)
        try:
            yield vm, data
        finally:
            vm.client.close()
