"""Run every benchmark in one go and print one table; results also go to benchmarks/out/latest.json.

    benchmarks/run                 # all figures, full sizes (about 20 minutes)
    benchmarks/run --quick         # smaller sizes (about 5 minutes)
    benchmarks/run --only store_write,chart_query
    benchmarks/run --skip demo_memory
    benchmarks/run --profile       # also sample Kiln's server with py-spy while measured

demo_memory is long and wants the machine to itself, so it runs last.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
import time
import traceback

from benchmarks import common
from benchmarks.common import (
    Figure,
    load_note,
    log,
    machine,
    print_machine,
    print_table,
    write_json,
)

ORDER = (
    "store_write",
    "chart_query",
    "rollups",
    "http_ingest",
    "lineproto_ingest",
    "mqtt_ingest",
    "sparkplug_ingest",
    "size",
    "backfill",
    "demo_memory",
    "kpi_oee",
    "kpi_store",
    "detect_overhead",
    "plan_dashboard",
    "pg_ingest",
    "equipment_page",
    "city_page",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="benchmarks/run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--only", default="", help="comma-separated benchmarks to run")
    parser.add_argument("--skip", default="", help="comma-separated benchmarks to leave out")
    parser.add_argument(
        "--profile", action="store_true", help="sample Kiln's server with py-spy while measured"
    )
    args = parser.parse_args(argv)
    only = [n for n in args.only.split(",") if n]
    skip = {n for n in args.skip.split(",") if n}
    unknown = (set(only) | skip) - set(ORDER)
    if unknown:
        parser.error(
            f"unknown benchmark(s) {', '.join(sorted(unknown))}; known: {', '.join(ORDER)}"
        )
    names = [n for n in ORDER if (not only or n in only) and n not in skip]
    common.PROFILE = args.profile

    info = machine()
    print_machine(info)
    print(f"run: {', '.join(names)}{' (--quick)' if args.quick else ''}")
    figures: list[Figure] = []
    t0 = time.perf_counter()
    for name in names:
        log(f"== {name}")
        started = time.perf_counter()
        before = load_note()
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            new = module.run(args.quick)
        except Exception as err:  # one broken benchmark must not hide the others' figures
            traceback.print_exc(file=sys.stderr)
            new = [Figure(name, "the benchmark failed", None, "")]
            new[0].notes.append(f"error: {err!r}")
        new[0].notes.append(f"machine before: {before}")
        figures += new
        log(f"== {name} took {time.perf_counter() - started:.0f} s")
        gc.collect()
    print(f"\nall benchmarks took {time.perf_counter() - t0:.0f} s\n")
    print_table(figures)
    # A partial run updates its figures in latest.json and keeps the others'.
    out = write_json(figures, info, quick=args.quick, merge=names != list(ORDER))
    print(f"\nwritten: {out.relative_to(common.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
