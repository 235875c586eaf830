"""`kiln simulate`: create the simulated city, backfill its history, optionally stream it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import click

from kiln.cli.options import config_option, settings_from


@click.command()
@config_option
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data folder for the DuckDB file (default ./data).",
)
@click.option(
    "--hours",
    type=float,
    default=None,
    help="History to backfill up to now (default: simulator.backfill_hours).",
)
@click.option("--enterprises", type=int, default=None, help="Enterprises in the city (default 40).")
@click.option("--seed", type=int, default=None, help="Seed of the deterministic city (default 7).")
@click.option(
    "--live/--no-live", default=False, help="Keep streaming in real time after the backfill."
)
@click.option(
    "--speed", type=float, default=None, help="Simulated seconds per real second when live."
)
def simulate(
    config_path: Path | None,
    data: Path | None,
    hours: float | None,
    enterprises: int | None,
    seed: int | None,
    live: bool,
    speed: float | None,
) -> None:
    """Run the simulated factory city into the store: backfill history fast, then (with --live)
    stream in real time until Ctrl-C. Protocol speakers (MQTT, OPC UA, ...) come later."""
    from kiln.runtime import build_runtime

    sim = {
        k: v
        for k, v in (
            ("backfill_hours", hours),
            ("enterprises", enterprises),
            ("seed", seed),
            ("speed", speed),
        )
        if v is not None
    }
    overrides: dict[str, object] = {"simulator": sim}
    if data is not None:
        overrides["store"] = {"path": data / "kiln.duckdb"}
    settings = settings_from(config_path, **overrides)
    rt = build_runtime(settings, simulate=True)
    assert rt.simulator is not None
    try:
        t0 = time.perf_counter()
        rows = rt.simulator.catch_up(rt.clock.now_ms())
        took = time.perf_counter() - t0
        cat = rt.catalog
        click.echo(
            f"city: {len(cat.enterprises)} enterprises, {len(cat.equipment)} equipment, "
            f"{len(cat.signals)} signals"
        )
        click.echo(
            f"backfilled {rows:,} rows in {took:.1f} s ({rows / max(took, 1e-9):,.0f} rows/s)"
        )
        if live:
            click.echo("streaming live; stop with Ctrl-C")
            asyncio.run(_live(rt))
    except KeyboardInterrupt:
        pass
    finally:
        rt.close()


async def _live(rt: object) -> None:
    from kiln.runtime import Runtime

    assert isinstance(rt, Runtime)
    await rt.start(adapters=False)
    try:
        await asyncio.Event().wait()
    finally:
        await rt.stop()
