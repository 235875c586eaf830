"""`kiln simulate --protocol ...`: the simulated city spoken over a real protocol, and the
settings file that connects a Kiln to it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from kiln.cli.options import stop_event
from kiln.config import load_settings
from kiln.config_ingest import BrokerSettings

DEFAULT_PORTS = {"mqtt": 1883, "sparkplug": 1883, "opcua": 4840, "modbus": 5020, "nats": 4222}
WARM_UP_MS = 120_000  # start the city this far back, so every signal has a value at once


def ingest_entries(
    protocol: str, feed: Any, host: str, port: int, only: Sequence[str] | None
) -> list[dict[str, Any]]:
    """The ``[[ingest.<protocol>]]`` tables that connect Kiln to this simulator."""
    if protocol == "mqtt":
        return [{"name": "simulator", "host": host, "port": port, "qos": 1}]
    if protocol == "sparkplug":
        return [{"name": "simulator", "host": host, "port": port, "host_id": "kiln"}]
    if protocol == "nats":
        return [{"name": "simulator", "servers": [f"nats://{host}:{port}"]}]
    if protocol == "modbus":
        from kiln.simulator.protocols.modbus_server import modbus_settings

        return [
            s.model_dump(mode="json", exclude_defaults=True)
            for s in modbus_settings(feed, host=host, port=port, enterprises=only)
        ]
    from kiln.simulator.protocols.opcua_server import node_id

    out = []
    for slug in only or sorted(feed.catalog.enterprise_by_slug):
        folders = [
            {"node": node_id(slug, feed.paths[e].equipment), "equipment": feed.paths[e].equipment}
            for e in feed.equipment_of(slug)
        ]
        out.append(
            {
                "name": f"simulator-{slug}",
                "endpoint": f"opc.tcp://{host}:{port}/",
                "enterprise": slug,
                "folders": folders,
            }
        )
    return out


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list) and all(not isinstance(x, dict) for x in v):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v), ensure_ascii=False)  # a JSON string is a valid TOML basic string


def _rows(v: list[Any]) -> bool:
    return isinstance(v[0], dict)


def settings_toml(protocol: str, entries: list[dict[str, Any]], assets: Path) -> str:
    """A Kiln settings file: the simulated city's assets and the adapters that reach it."""
    lines = [
        "# Written by `kiln simulate --protocol`: run `kiln serve --config` on this file.",
        f"assets = [{_toml_value(str(assets))}]",
        "",
        "[simulator]",
        "enabled = false",
    ]
    for entry in entries:
        lines += ["", f"[[ingest.{protocol}]]"]
        tables = {
            k: v for k, v in entry.items() if isinstance(v, list) and v and isinstance(v[0], dict)
        }
        lines += [f"{k} = {_toml_value(v)}" for k, v in entry.items() if k not in tables]
        for key, rows in tables.items():
            for row in rows:
                lines += [f"[[ingest.{protocol}.{key}]]"]
                lines += [f"{k} = {_toml_value(v)}" for k, v in row.items()]
    return "\n".join(lines) + "\n"


def speak(
    protocol: str,
    *,
    host: str,
    port: int | None,
    seed: int,
    enterprises: int,
    only: Sequence[str],
    speed: float,
    username: str,
    password: str,
    ingest_config: Path | None,
) -> None:
    """Build the city and speak it over the protocol until Ctrl-C."""
    from kiln.simulator.protocols.feed import CityFeed

    port = port or DEFAULT_PORTS[protocol]
    now = int(time.time() * 1000)
    feed = CityFeed(seed=seed, enterprises=enterprises, start_ms=now - WARM_UP_MS)
    unknown = [s for s in only if s not in feed.catalog.enterprise_by_slug]
    if unknown:
        raise click.BadParameter(f"no enterprise {unknown[0]!r} in the city", param_hint="--only")
    subset = list(only) or None
    if ingest_config is not None:
        assets = ingest_config.with_suffix(".assets.json")
        assets.write_text(json.dumps(feed.doc, ensure_ascii=False, indent=1), encoding="utf-8")
        ingest_config.write_text(
            settings_toml(protocol, ingest_entries(protocol, feed, host, port, subset), assets),
            encoding="utf-8",
        )
        load_settings(ingest_config, environ={})  # what we wrote must be what Kiln accepts
        click.echo(f"wrote {ingest_config} and {assets}: `kiln serve --config {ingest_config}`")
    cat = feed.catalog
    click.echo(
        f"city: {len(cat.enterprises)} enterprises, {len(cat.equipment)} equipment; "
        f"speaking {protocol} at {host}:{port}; stop with Ctrl-C"
    )
    asyncio.run(_run(protocol, feed, host, port, subset, speed, username, password))


async def _run(
    protocol: str,
    feed: Any,
    host: str,
    port: int,
    only: list[str] | None,
    speed: float,
    username: str,
    password: str,
) -> None:
    stop = stop_event()
    broker = BrokerSettings(host=host, port=port, username=username, password=password)
    if protocol == "mqtt":
        from kiln.simulator.protocols.mqtt_publisher import publish_city

        await publish_city(feed, broker, speed=speed, stop=stop)
        return
    if protocol == "sparkplug":
        from kiln.simulator.protocols.sparkplug_edge import publish_city_sparkplug

        await publish_city_sparkplug(feed, broker, speed=speed, stop=stop)
        return
    if protocol == "nats":
        from kiln.config_ingest import NatsSettings
        from kiln.simulator.protocols.nats_publisher import publish_city_nats

        server = NatsSettings(
            name="simulator", servers=[f"nats://{host}:{port}"], user=username, password=password
        )
        await publish_city_nats(feed, server, speed=speed, stop=stop)
        return
    if protocol == "modbus":
        from kiln.simulator.protocols.modbus_server import serve_modbus

        task = asyncio.create_task(serve_modbus(feed, host=host, port=port, enterprises=only))
    else:
        from kiln.simulator.protocols.opcua_server import serve_opcua

        task = asyncio.create_task(serve_opcua(feed, host=host, port=port, enterprises=only))
    waiting = asyncio.create_task(stop.wait())
    await asyncio.wait([task, waiting], return_when=asyncio.FIRST_COMPLETED)
    task.cancel()
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
