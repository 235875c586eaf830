"""backfill: one simulated day of the default city, wall time of `kiln simulate --hours 24`.

The command runs as a subprocess on a fresh data dir, the way a user runs it; the figure is its
wall time, start to exit (interpreter start, building the city, simulating, writing, closing).
``--quick`` simulates 6 hours and reports that time scaled x4 (marked in the notes).

Target: < 60 s.
"""

from __future__ import annotations

import re
import subprocess
import time

from benchmarks.common import KILN, Figure, clean_env, cli, log, simulator_ready, temp_dir

TARGET_S = 60.0
TIMEOUT_S = 900.0


def run(quick: bool) -> list[Figure]:
    hours = 6 if quick else 24
    fig = Figure(
        "backfill",
        "wall time of `kiln simulate --hours 24 --data DIR` (a fresh store, the default city)",
        None,
        "s",
        higher_is_better=False,
        target_value=TARGET_S,
    )
    why = simulator_ready()
    if why:
        fig.notes.append(f"skipped: {why}")
        return [fig]
    with temp_dir("backfill") as tmp:
        log(f"backfill: kiln simulate --hours {hours}")
        args = [str(KILN), "simulate", "--hours", str(hours), "--data", str(tmp)]
        t0 = time.perf_counter()
        try:
            out = subprocess.run(
                args, capture_output=True, text=True, env=clean_env(), timeout=TIMEOUT_S, cwd=tmp
            )
        except subprocess.TimeoutExpired:
            fig.notes.append(f"did not finish within {TIMEOUT_S:.0f} s")
            return [fig]
        took = time.perf_counter() - t0
        if out.returncode != 0:
            fig.notes.append(f"exited with {out.returncode}: {out.stderr.strip()[-300:]}")
            return [fig]
        fig.value = took * 24 / hours
        if hours != 24:
            fig.notes.append(
                f"--quick: simulated {hours} h in {took:.1f} s; value scaled x{24 / hours:g}"
            )
        fig.notes += [line.strip() for line in out.stdout.splitlines() if line.strip()][:4]
        m = re.search(r"in ([\d.]+) s", out.stdout)
        if m:
            inner = float(m.group(1))
            fig.notes.append(
                f"of the wall time, {inner:.1f} s simulating and writing, "
                f"{took - inner:.1f} s starting, building the city and closing"
            )
        size = (tmp / "kiln.duckdb").stat().st_size
        fig.details.update(hours=hours, wall_s=took, file_bytes=size)
        fig.notes.append(f"file {size / 2**20:.1f} MB")
    return [fig]


if __name__ == "__main__":
    cli("backfill", run)
