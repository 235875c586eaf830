"""The `kiln` command: one click group, one module per command group."""

from __future__ import annotations

import logging
import sys

import click

from kiln.errors import KilnError


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KilnError as err:
            click.echo(f"kiln: {err}", err=True)
            sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log more (debug level).")
def main(verbose: bool) -> None:
    """Kiln: live equipment, ISO 22400 KPIs and the city's plan, from the same data.

    \b
    kiln demo       start the web app with a simulated factory city streaming live
    kiln serve      start the web app and API on your own assets (no simulator)
    kiln simulate   run the simulated city: backfill history or stream into a store
    kiln ingest     run the configured protocol adapters (MQTT, Sparkplug, OPC UA, Modbus)
    kiln import     load a CSV of telemetry (wide or long) into the store
    kiln assets     import an asset file (TOML, YAML or JSON) into the store
    kiln config     show every setting with its default
    kiln broker     write Mosquitto users and ACLs from the device tokens
    kiln kpi        ISO 22400 KPIs per level and period: table, CSV or JSON
    kiln plan       the action plan's status; filings from CSV or Excel files
    kiln report     the city's yearly report on industry and the plan: HTML, PDF or Markdown
    kiln store      what the store holds, retention, Parquet export
    kiln detect     score the anomaly detector (NAB, simulated failures) and AI4I prediction
    kiln advise     where a robot pays for itself: bottlenecks, candidates, matching solutions

    Settings come from a TOML file (--config, or KILN_CONFIG) and KILN_* variables:
    KILN_SERVER__PORT=8080 overrides [server] port.
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # pymodbus logs every failed connect and dumps packets on timeouts; the Modbus adapter
    # logs a device going away and coming back once each.
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)


def _register() -> None:
    from kiln.cli import (
        advise,
        assets,
        broker,
        config,
        detect,
        import_csv,
        ingest,
        kpi,
        plan,
        report,
        serve,
        simulate,
        store,
    )

    main.add_command(serve.demo)
    main.add_command(serve.serve)
    main.add_command(simulate.simulate)
    main.add_command(ingest.ingest)
    main.add_command(import_csv.import_csv)
    main.add_command(assets.assets)
    main.add_command(config.config)
    main.add_command(broker.broker)
    main.add_command(plan.plan)
    main.add_command(report.report)
    main.add_command(store.store)
    main.add_command(kpi.kpi)
    main.add_command(detect.detect)
    main.add_command(advise.advise)


_register()
