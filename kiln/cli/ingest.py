"""`kiln ingest`: run the configured protocol adapters into the store, without the web app.

It has no web app, so a small HTTP listener serves /healthz, /readyz and /metrics for probes
and Prometheus (``[ingest] metrics_port``, on ``[server] host``).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kiln.cli.options import config_option, settings_from, stop_event
from kiln.errors import ConfigError, Unavailable

if TYPE_CHECKING:
    from kiln.runtime import Runtime


@click.command()
@config_option
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port of /healthz, /readyz and /metrics (default [ingest] metrics_port, 9108; 0: off).",
)
def ingest(config_path: Path | None, metrics_port: int | None) -> None:
    """Run the ingest adapters of the settings file until Ctrl-C or SIGTERM.

    \b
    [[ingest.mqtt]]       MQTT unified namespace, JSON payloads
    [[ingest.sparkplug]]  Sparkplug B 3.0 primary host
    [[ingest.opcua]]      OPC UA subscriptions
    [[ingest.modbus]]     Modbus TCP polling
    [[ingest.nats]]       NATS JetStream durable pull consumer, JSON payloads

    `kiln serve` and `kiln demo` run the same adapters inside the web app. With the embedded
    DuckDB store only one process may open the file: run either this or `kiln serve`, not both.
    Probes and Prometheus find /healthz, /readyz and /metrics on the metrics port.
    """
    from kiln.runtime import build_runtime

    overrides: dict[str, Any] = {}
    if metrics_port is not None:
        overrides["ingest"] = {"metrics_port": metrics_port}
    settings = settings_from(config_path, **overrides)
    cfg = settings.ingest
    if not (cfg.mqtt or cfg.sparkplug or cfg.opcua or cfg.modbus or cfg.nats):
        raise ConfigError(
            "no adapters are configured; add [[ingest.mqtt]], [[ingest.sparkplug]], "
            "[[ingest.opcua]], [[ingest.modbus]] or [[ingest.nats]] tables",
            where=str(config_path) if config_path else "settings",
        )
    # Bound first: a port in use stops us before anything starts.
    with _listen(settings.server.host, cfg.metrics_port) as listener:
        # Workers sharing a PostgreSQL database each see part of the stream; the alarm book
        # belongs to one process (docs/alarms.md), so they leave alarms to `kiln serve`.
        alarms = settings.alarms.enabled and settings.store.backend == "duckdb"
        rt = build_runtime(settings, simulate=False, alarms=alarms)
        try:
            asyncio.run(_run(rt, listener))
        finally:
            rt.close()


@contextlib.contextmanager
def _listen(host: str, port: int) -> Iterator[socket.socket | None]:
    """A socket bound to host:port for the probes (None for port 0), closed at the end."""
    if not port:
        yield None
        return
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    except OSError as err:
        raise Unavailable(f"cannot listen on {host}:{port} ({err})", where="server.host") from None
    with sock:
        try:
            sock.bind((host, port))
        except OSError as err:
            raise Unavailable(
                f"cannot listen on {host}:{port} ({err.strerror})", where="ingest.metrics_port"
            ) from None
        yield sock


async def _run(rt: Runtime, listener: socket.socket | None) -> None:
    stop = stop_event()
    await rt.start()
    probes = _Probes(rt, listener) if listener is not None else None
    for adapter in rt.adapters:
        click.echo(f"ingesting: {adapter.kind}:{adapter.name}")
    if listener is not None:
        host, port = listener.getsockname()[:2]
        click.echo(f"health and metrics: http://{host}:{port}/readyz and /metrics")
    click.echo("Kiln is ingesting; stop with Ctrl-C")
    try:
        await stop.wait()
    finally:
        try:
            await rt.stop()
        finally:
            if probes is not None:
                await probes.stop()
        click.echo(f"stopped; {rt.writer.committed_rows:,} rows committed")


class _Probes:
    """uvicorn serving /healthz, /readyz and /metrics on a bound socket, in this event loop."""

    def __init__(self, rt: Runtime, listener: socket.socket) -> None:
        import uvicorn

        from kiln.server import create_probe_app

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield  # Ctrl-C and SIGTERM stay with `kiln ingest`, which stops this server

        config = uvicorn.Config(
            create_probe_app(rt),
            log_config=None,  # leave Kiln's logging as it is
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self.server = Server(config)
        self.task = asyncio.create_task(self.server.serve([listener]), name="kiln-probes")

    async def stop(self) -> None:
        """Stop serving and wait until the server has closed."""
        self.server.should_exit = True
        await self.task
