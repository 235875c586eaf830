"""`kiln demo` and `kiln serve`: the web app and API in one process."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import uvicorn

from kiln.cli.options import config_option, settings_from
from kiln.config import Settings

log = logging.getLogger("kiln")


class _AnnouncingServer(uvicorn.Server):
    """A uvicorn server that prints how to reach Kiln once its sockets listen."""

    announce = ""
    on_exit: Callable[[], None] | None = None

    def handle_exit(self, sig: int, frame: Any) -> None:
        """Ctrl-C: end the live streams at once, so shutdown does not wait for them."""
        if self.on_exit is not None:
            self.on_exit()
        super().handle_exit(sig, frame)

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            click.echo(self.announce)


def _run(settings: Settings, *, simulate: bool) -> None:
    from kiln.bootstrap import ensure_accounts, ensure_demo_filings, ensure_demo_solutions
    from kiln.runtime import build_runtime
    from kiln.server import create_app
    from kiln.web.sse import close_streams

    runtime = build_runtime(settings, simulate=simulate)
    try:
        sign_in = ensure_accounts(runtime, demo=simulate)
        if simulate:
            ensure_demo_filings(runtime)
            ensure_demo_solutions(runtime)
    except BaseException:
        runtime.close()
        raise
    host, port = settings.server.host, settings.server.port
    app = create_app(runtime)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        limit_concurrency=1000,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=10,  # a backstop: Ctrl-C already ends the live streams
    )
    server = _AnnouncingServer(config)
    server.on_exit = lambda: close_streams(app)
    server.announce = "\n".join(
        [
            f"Kiln is ready: http://{host}:{port}/  (API docs: http://{host}:{port}/docs)",
            *sign_in,
            f"Data: {settings.store.path}   Stop with Ctrl-C.",
        ]
    )
    # uvicorn re-raises Ctrl-C after its graceful shutdown; by then the lifespan has closed.
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    click.echo("Kiln stopped; data kept.")


def _overrides(host: str | None, port: int | None, data: Path | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if host is not None or port is not None:
        out["server"] = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    if data is not None:
        out["store"] = {"path": data / "kiln.duckdb"}
    return out


def _server_options(fn: Callable[..., None]) -> Callable[..., None]:
    """--config, --host, --port and --data, shared by demo and serve."""
    for option in reversed(
        [
            config_option,
            click.option("--host", default=None, help="Address to listen on (default 127.0.0.1)."),
            click.option(
                "--port", type=int, default=None, help="Port to listen on (default 8000)."
            ),
            click.option(
                "--data",
                type=click.Path(file_okay=False, path_type=Path),
                default=None,
                help="Data folder for the DuckDB file (default ./data).",
            ),
        ]
    ):
        fn = option(fn)
    return fn


@click.command()
@_server_options
def demo(config_path: Path | None, host: str | None, port: int | None, data: Path | None) -> None:
    """Start the web app with a simulated factory city streaming live.

    On first start it creates the city (about 40 enterprises in Foshan's five districts) and a
    couple of hours of history; later starts keep what is stored and fill the gap.
    """
    _run(settings_from(config_path, **_overrides(host, port, data)), simulate=True)


@click.command()
@_server_options
def serve(config_path: Path | None, host: str | None, port: int | None, data: Path | None) -> None:
    """Start the web app and API on the configured assets, without the simulator."""
    _run(settings_from(config_path, **_overrides(host, port, data)), simulate=False)
