"""`kiln ingest`: run the configured protocol adapters into the store, without the web app."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from kiln.cli.options import config_option, settings_from, stop_event
from kiln.errors import ConfigError


@click.command()
@config_option
def ingest(config_path: Path | None) -> None:
    """Run the ingest adapters of the settings file until Ctrl-C or SIGTERM.

    \b
    [[ingest.mqtt]]       MQTT unified namespace, JSON payloads
    [[ingest.sparkplug]]  Sparkplug B 3.0 primary host
    [[ingest.opcua]]      OPC UA subscriptions
    [[ingest.modbus]]     Modbus TCP polling

    `kiln serve` and `kiln demo` run the same adapters inside the web app. With the embedded
    DuckDB store only one process may open the file: run either this or `kiln serve`, not both.
    """
    from kiln.runtime import build_runtime

    settings = settings_from(config_path)
    cfg = settings.ingest
    if not (cfg.mqtt or cfg.sparkplug or cfg.opcua or cfg.modbus):
        raise ConfigError(
            "no adapters are configured; add [[ingest.mqtt]], [[ingest.sparkplug]], "
            "[[ingest.opcua]] or [[ingest.modbus]] tables",
            where=str(config_path) if config_path else "settings",
        )
    rt = build_runtime(settings, simulate=False)
    try:
        asyncio.run(_run(rt))
    finally:
        rt.close()


async def _run(rt: object) -> None:
    from kiln.runtime import Runtime

    assert isinstance(rt, Runtime)
    stop = stop_event()
    await rt.start()
    for adapter in rt.adapters:
        click.echo(f"ingesting: {adapter.kind}:{adapter.name}")
    click.echo("Kiln is ingesting; stop with Ctrl-C")
    try:
        await stop.wait()
    finally:
        await rt.stop()
        click.echo(f"stopped; {rt.writer.committed_rows:,} rows committed")
