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
@click.option(
    "--protocol",
    type=click.Choice(["mqtt", "sparkplug", "opcua", "modbus", "nats"]),
    default=None,
    help="Speak the city over a protocol instead of writing a store.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="With --protocol: the broker (mqtt, sparkplug), the NATS server (nats) or the "
    "address to serve on.",
)
@click.option(
    "--port",
    type=int,
    default=None,
    help="With --protocol: broker or server port (1883, 1883, 4840, 5020 or 4222 by default).",
)
@click.option(
    "--only", multiple=True, metavar="SLUG", help="With --protocol: only these enterprises."
)
@click.option("--username", default="", help="With mqtt/sparkplug/nats: the user name.")
@click.option("--password", default="", help="With mqtt/sparkplug/nats: the password.")
@click.option(
    "--ingest-config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --protocol: write a settings file (and the city's assets beside it) that "
    "connects `kiln serve --config FILE` to this simulator.",
)
def simulate(
    config_path: Path | None,
    data: Path | None,
    hours: float | None,
    enterprises: int | None,
    seed: int | None,
    live: bool,
    speed: float | None,
    protocol: str | None,
    host: str,
    port: int | None,
    only: tuple[str, ...],
    username: str,
    password: str,
    ingest_config: Path | None,
) -> None:
    """Run the simulated factory city into the store: backfill history fast, then (with --live)
    stream in real time until Ctrl-C.

    With --protocol it writes no store: it publishes the city to an MQTT broker as UNS JSON
    (mqtt) or as Sparkplug B edge nodes (sparkplug), to NATS JetStream as UNS JSON (nats), or
    serves it as OPC UA or Modbus TCP servers (opcua, modbus), in real time, until Ctrl-C.
    """
    from kiln.runtime import build_runtime

    if protocol is not None:
        from kiln.cli.simulate_protocols import speak

        speak(
            protocol,
            host=host,
            port=port,
            seed=7 if seed is None else seed,
            enterprises=40 if enterprises is None else enterprises,
            only=only,
            speed=1.0 if speed is None else speed,
            username=username,
            password=password,
            ingest_config=ingest_config,
        )
        return

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
