"""mqtt_ingest: values per second from a Mosquitto broker into the store through Kiln's MQTT
adapter, beside a bare paho subscriber that only counts the same messages.

A throwaway Mosquitto (started here, free port, no persistence) holds each subscriber's session.
Before each round the subscriber's session is made (subscribe ``fs/v1/#``, disconnect) and
PUBLISHERS ``mosquitto_pub -l`` processes (C, in parallel) fill it with 60,000 messages
(``--quick``: 20,000) of 100 values each (``{"ts": [100 epoch ms], "v": [100 numbers]}`` on
one signal's topic, about 2 KB); then the subscriber connects and the clock runs until it has
handled them all. The broker sends from
memory as fast as the subscriber takes, so neither the publishers nor their CPU are in the
measured window: what is measured is the subscriber.

  Kiln   MqttAdapter.run() with the runtime's StoreSink on a fresh DuckDB file in this process;
         done when every value is committed (for QoS 1 each PUBACK follows its batch's commit).
         At QoS 0 the adapter would start a clean session; here its broker session is kept
         (as QoS 1 does) so the broker can hold the messages before it connects.
  peer   a paho 2.x client (MQTT 5, same receive maximum) whose on_message counts; at QoS 1
         paho acknowledges each message as it arrives.

Rounds alternate which side goes first; the figure is the median rate.

Targets: QoS 0 >= 0.45x the bare subscriber; QoS 1 (ack after commit) >= 0.7x.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from benchmarks.assets import ENTERPRISE, bench_city
from benchmarks.common import (
    Figure,
    cli,
    free_port,
    log,
    median,
    process,
    profiled,
    temp_dir,
)
from kiln.config_ingest import MqttSettings
from kiln.domain.batches import Bundle
from kiln.domain.catalog import AssetCatalog
from kiln.ingest.mqtt.adapter import RECEIVE_MAXIMUM, SESSION_EXPIRY_S, MqttAdapter
from kiln.ingest.mqtt.connection import MqttConnection
from kiln.pipeline import StoreSink

VALUES_PER_MESSAGE = 100
PUBLISHERS = 4  # mosquitto_pub processes filling the session, one signal topic each
TOPIC = "fs/v1/{enterprise}/plant/default/line-1/op{k}/robot-{k}/telemetry/{signal}"
SIGNAL = "j1_torque"
TARGETS = {0: 0.45, 1: 0.7}
ROUND_TIMEOUT_S = 120.0


def broker_conf(folder: Path, port: int) -> Path:
    """Mosquitto holding whole queued sessions in memory, QoS 0 included."""
    conf = folder / "mosquitto.conf"
    lines = [
        f"listener {port} 127.0.0.1",
        "allow_anonymous true",
        "persistence false",
        "max_queued_messages 0",
        "max_queued_bytes 0",
        "queue_qos0_messages true",
        f"max_inflight_messages {RECEIVE_MAXIMUM}",
    ]
    if os.geteuid() == 0:
        lines.append("user root")
    conf.write_text("\n".join(lines) + "\n")
    return conf


def payload_files(folder: Path, messages: int) -> list[tuple[str, Path]]:
    """(topic, file of lines) per publisher; each line one message of 100 values."""
    # Every message different (Kiln recognises a message sent again by its topic and
    # payload): 20,000 messages of 100 s each span 23 days, ending a week back.
    t0 = int(time.time() * 1000) - 30 * 86_400_000
    out = []
    per = messages // PUBLISHERS
    for k in range(PUBLISHERS):
        topic = TOPIC.format(enterprise=ENTERPRISE, k=k + 1, signal=SIGNAL)
        path = folder / f"pub-{k}.lines"
        with path.open("wb") as f:
            for m in range(per):
                start = t0 + m * VALUES_PER_MESSAGE * 1000
                ts = [start + i * 1000 for i in range(VALUES_PER_MESSAGE)]
                v = [round(40.0 + ((m * 7 + i * 13) % 1000) / 37.0, 2) for i in range(100)]
                f.write(orjson.dumps({"ts": ts, "v": v}) + b"\n")
        out.append((topic, path))
    return out


def fill(port: int, files: list[tuple[str, Path]], qos: int) -> None:
    """Publish every file with mosquitto_pub -l, all at once, and wait until they are done."""
    procs = []
    for topic, path in files:
        with path.open("rb") as stdin:
            procs.append(
                subprocess.Popen(
                    [
                        "mosquitto_pub",
                        *("-h", "127.0.0.1", "-p", str(port), "-V", "mqttv5"),
                        *("-q", str(qos), "-M", "1000", "-t", topic, "-l"),
                    ],
                    stdin=stdin,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            )
    for p in procs:
        _, err = p.communicate(timeout=ROUND_TIMEOUT_S)
        if p.returncode != 0:
            raise RuntimeError(f"mosquitto_pub failed: {err.decode(errors='replace')[-300:]}")


# -- the peer: a bare paho subscriber ----------------------------------------------------------


def _paho(port: int, client_id: str) -> tuple[mqtt.Client, Properties]:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = SESSION_EXPIRY_S
    props.ReceiveMaximum = RECEIVE_MAXIMUM
    return c, props


def bare_session(port: int, client_id: str, qos: int) -> None:
    """Make the peer's broker session and its subscription, then leave."""
    c, props = _paho(port, client_id)
    done = threading.Event()
    c.on_subscribe = lambda *a: done.set()
    c.on_connect = lambda client, *a: client.subscribe("fs/v1/#", qos)
    c.connect("127.0.0.1", port, clean_start=True, properties=props)
    c.loop_start()
    if not done.wait(10):
        raise RuntimeError("the bare subscriber could not subscribe")
    c.disconnect()
    c.loop_stop()


def end_session(port: int, client_id: str) -> None:
    """Remove a client's broker session, so later fills do not queue for it."""
    c, _ = _paho(port, client_id)
    done = threading.Event()
    c.on_connect = lambda *a: done.set()
    c.connect("127.0.0.1", port, clean_start=True)  # no session expiry: gone on disconnect
    c.loop_start()
    done.wait(10)
    c.disconnect()
    c.loop_stop()


def bare_drain(port: int, client_id: str, messages: int) -> tuple[float, float]:
    """Connect to the filled session; seconds (and CPU seconds of this process) until
    `messages` were counted."""
    c, props = _paho(port, client_id)
    count = [0]
    done = threading.Event()

    def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        count[0] += 1
        if count[0] == messages:
            done.set()

    c.on_message = on_message
    cpu0, t0 = time.process_time(), time.perf_counter()
    c.connect("127.0.0.1", port, clean_start=False, properties=props)
    c.loop_start()
    ok = done.wait(ROUND_TIMEOUT_S)
    took, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    c.disconnect()
    c.loop_stop()
    if not ok:
        raise RuntimeError(f"the bare subscriber got {count[0]} of {messages} messages")
    return took, cpu


# -- Kiln ----------------------------------------------------------------------------------------


class _KeptSession(MqttAdapter):
    """The adapter with its broker session kept at QoS 0 too (see the module docstring)."""

    def connection(self) -> MqttConnection:
        conn = super().connection()
        if self.cfg.qos == 0:
            conn = MqttConnection(
                self.cfg,
                self.kind,
                self.name,
                client_id=conn.client_id,
                session_expiry_s=SESSION_EXPIRY_S,
                on_up=self._up,
                on_down=self._down,
            )
        return conn


class _Counting:
    """The runtime's sink, counting committed values until a target is reached."""

    def __init__(self, real: StoreSink, target: int) -> None:
        self.real, self.target, self.rows = real, target, 0
        self.done = asyncio.Event()
        self.dead_letter = real.dead_letter
        self.now_ms = real.now_ms
        self.register = real.register

    @property
    def catalog(self) -> AssetCatalog:
        return self.real.catalog

    async def submit(self, bundle: Bundle, *, batch_id: str | None = None) -> int:
        return await self.submit_group([(bundle, batch_id)])

    async def submit_group(self, items: Sequence[tuple[Bundle, str | None]]) -> int:
        added = await self.real.submit_group(items)
        self.rows += added
        if self.rows >= self.target:
            self.done.set()
        return added


def kiln_round(
    port: int, folder: Path, qos: int, files: list[tuple[str, Path]], n: int, client_id: str
) -> dict[str, Any]:
    """Make the adapter's session, fill it, then time the adapter until all is committed."""
    from kiln.config import load_settings
    from kiln.runtime import build_runtime

    settings = load_settings(
        environ={},
        overrides={
            "store": {"path": str(folder / "kiln.duckdb")},
            "simulator": {"enabled": False},
        },
    )
    rt = build_runtime(settings, simulate=False)
    try:
        rt.store.import_assets(bench_city(1_000), where="benchmark")
        cfg = MqttSettings(name="bench", port=port, qos=qos, protocol="5", client_id=client_id)

        async def session() -> None:
            a = _KeptSession(cfg)
            task = asyncio.create_task(a.run(rt.sink))
            await asyncio.wait_for(a.subscribed.wait(), 10)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

        asyncio.run(session())
        fill(port, files, qos)

        async def drain() -> dict[str, Any]:
            a = _KeptSession(cfg)
            sink = _Counting(rt.sink, n * VALUES_PER_MESSAGE)
            cpu0, t0 = time.process_time(), time.perf_counter()
            task = asyncio.create_task(a.run(sink))
            with contextlib.suppress(TimeoutError):  # reported below as values missing
                await asyncio.wait_for(sink.done.wait(), ROUND_TIMEOUT_S)
            took, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return {
                "seconds": took,
                "cpu_s": cpu,
                "refused": a.refused,
                "rows": sink.rows,
            }

        with profiled(os.getpid(), f"mqtt_ingest_qos{qos}"):
            return asyncio.run(drain())
    finally:
        rt.close()


# -- the figures -------------------------------------------------------------------------------


def run(quick: bool) -> list[Figure]:
    if shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists():
        return [
            Figure(f"mqtt_ingest_qos{q}", "mosquitto is not installed", None, "values/s")
            for q in (0, 1)
        ]
    messages, rounds = (20_000, 2) if quick else (60_000, 3)
    with temp_dir("mqtt-ingest") as tmp:
        port = free_port()
        conf = broker_conf(tmp, port)
        files = payload_files(tmp, messages)
        n = (messages // PUBLISHERS) * PUBLISHERS
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        with process([binary, "-c", str(conf)], log_path=tmp / "mosquitto.log") as broker:
            _wait_port(port, broker)
            return [_figure(tmp, port, qos, files, n, rounds) for qos in (0, 1)]


def _figure(
    tmp: Path, port: int, qos: int, files: list[tuple[str, Path]], n: int, rounds: int
) -> Figure:
    kiln_rates: list[float] = []
    peer_rates: list[float] = []
    kiln_cpu: list[float] = []  # CPU seconds of this process per message, all threads
    peer_cpu: list[float] = []
    notes: list[str] = []
    for r in range(rounds):
        sides = ["kiln", "paho"] if r % 2 == 0 else ["paho", "kiln"]
        for side in sides:
            if side == "kiln":
                folder = tmp / f"kiln-{qos}-{r}"
                folder.mkdir()
                res = kiln_round(port, folder, qos, files, n, f"bench-kiln-{qos}-{r}")
                end_session(port, f"bench-kiln-{qos}-{r}")
                shutil.rmtree(folder, ignore_errors=True)
                if res["rows"] != n * VALUES_PER_MESSAGE or res["refused"]:
                    notes.append(
                        f"round {r + 1}: kiln stored {res['rows']:,} of "
                        f"{n * VALUES_PER_MESSAGE:,} values ({res['refused']} refused)"
                    )
                kiln_rates.append(res["rows"] / res["seconds"])
                kiln_cpu.append(res["cpu_s"] / n)
            else:
                client_id = f"bench-paho-{qos}-{r}"
                bare_session(port, client_id, qos)
                fill(port, files, qos)
                took, cpu = bare_drain(port, client_id, n)
                peer_cpu.append(cpu / n)
                end_session(port, client_id)
                peer_rates.append(n * VALUES_PER_MESSAGE / took)
        log(
            f"mqtt_ingest qos {qos} round {r + 1}/{rounds}: kiln {kiln_rates[-1] / 1e6:.2f} M "
            f"values/s, bare paho {peer_rates[-1] / 1e6:.2f} M values/s"
        )
    fig = Figure(
        f"mqtt_ingest_qos{qos}",
        f"{n:,} MQTT 5 messages of {VALUES_PER_MESSAGE} values (JSON lists, ~2 KB) at QoS {qos} "
        "from a filled Mosquitto session into the DuckDB store"
        + (", each PUBACK after its batch's commit" if qos else "")
        + f"; peer: bare paho subscriber counting the same, QoS {qos}",
        median(kiln_rates),
        "values/s",
        peer=f"bare paho QoS {qos}",
        peer_value=median(peer_rates),
        target_ratio=TARGETS[qos],
    )
    fig.notes += notes
    fig.notes.append(
        "rounds (kiln / paho, M values/s): "
        + ", ".join(
            f"{k / 1e6:.2f} / {p / 1e6:.2f}" for k, p in zip(kiln_rates, peer_rates, strict=True)
        )
    )
    fig.notes.append(
        f"CPU of this process per message (median, all threads): kiln "
        f"{median(kiln_cpu) * 1e6:.0f} us, paho {median(peer_cpu) * 1e6:.0f} us"
    )
    fig.details.update(
        kiln_rates=kiln_rates,
        peer_rates=peer_rates,
        kiln_cpu_per_message=kiln_cpu,
        peer_cpu_per_message=peer_cpu,
        messages=n,
    )
    return fig


def _wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    import socket

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("mosquitto exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"mosquitto did not listen on {port}")


if __name__ == "__main__":
    cli("mqtt_ingest", run)
