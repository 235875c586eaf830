"""sparkplug_ingest: Sparkplug B DDATA of 50 metrics a message through Kiln's primary host into
the store, beside protobuf merely parsing the same payloads.

The benchmark city (one enterprise, 100 robots of 10 signals on 4 lines) speaks as 4 edge
nodes: NBIRTH, a DBIRTH per robot (10 Double metrics with name, alias and datatype), then DDATA
by alias only, each with 5 instants x 10 signals = 50 metrics (about 1 KB), every metric with
its own timestamp, the node's seq running 0..255 across its robots.

  sparkplug_ingest       Kiln: ``SparkplugHost.serve()`` in this process on the real StoreSink
                         (a DuckDB file, the one writer thread), fed the messages as
                         ``MqttConnection.batches()`` hands them over (lists of 1,000), timed
                         until every point is committed. Peer: one core parsing the same
                         payloads with ``Payload.FromString`` (protobuf's upb backend).
  sparkplug_ingest_read  the same Kiln rate beside FromString plus reading every metric's
                         alias, timestamp and value into Python (what code on the generated
                         classes does per metric), for reference.
  sparkplug_ingest_mqtt  end to end: a raw-socket publisher process floods a throwaway
                         Mosquitto (unbounded queues) with the same messages; the host's
                         ``run()`` takes them through MqttConnection (paho) and commits them.
                         Peer: a bare paho subscriber that only counts the messages.

Rounds alternate which side goes first; each figure is the median over rounds.

Target: >= 0.6x the FromString peer and >= 20,000 messages/s.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from benchmarks.assets import ENTERPRISE, bench_city
from benchmarks.common import Figure, cli, free_port, log, median, process, temp_dir
from kiln.clock import SystemClock
from kiln.config_ingest import SparkplugSettings
from kiln.domain.templates import TEMPLATES
from kiln.ingest.mqtt.connection import Received
from kiln.ingest.sparkplug import sparkplug_b_pb2 as pb
from kiln.ingest.sparkplug.codec import Metric, encode
from kiln.ingest.sparkplug.datatypes import DataType
from kiln.ingest.sparkplug.host import SparkplugHost
from kiln.pipeline import StoreSink
from kiln.store.duckdb import DuckDBStore
from kiln.store.writer import StoreWriter

METRICS = 50  # per DDATA: 5 instants x 10 signals of one robot
INSTANTS = 5
BATCH = 1_000  # messages per list handed to the host (MqttConnection hands up to 5,000)
POOL = 10  # distinct DDATA bodies per robot, cycled (seq is appended per message)
GROUP = f"{ENTERPRISE}.plant.default"
TARGET_RATIO = 0.6
TARGET_RATE = 20_000.0
ROUND_TIMEOUT_S = 300.0

Message = tuple[str, bytes]


# -- the messages ------------------------------------------------------------------------------


def _with_seq(body: bytes, seq: int) -> bytes:
    """A payload with its seq field (3, varint) appended: protobuf reads fields in any order."""
    return body + b"\x18" + (bytes([seq]) if seq < 128 else bytes([seq & 0x7F | 0x80, 1]))


def messages(count: int, t0_ms: int) -> tuple[list[Message], list[Message]]:
    """(births, DDATA stream) of the benchmark city's 4 edge nodes, in publishing order."""
    signals = [s.name for s in TEMPLATES["industrial_robot"].signals]
    lines = bench_city(1_000)["enterprises"][0]["sites"][0]["lines"]
    births: list[Message] = []
    pool: list[tuple[str, str, bytes]] = []  # (node, topic, body without seq)
    rng = np.random.default_rng(7)
    for line in lines:
        node = line["slug"]
        robots = [st["equipment"][0]["slug"] for st in line["stations"]]
        alias = {(r, s): k + 1 for k, (r, s) in enumerate((r, s) for r in robots for s in signals)}
        bd = Metric("bdSeq", None, DataType.INT64, 0, t0_ms)
        births.append((f"spBv1.0/{GROUP}/NBIRTH/{node}", encode([bd], seq=0, ts_ms=t0_ms)))
        for k, r in enumerate(robots):
            declared = [
                Metric(f"telemetry/{s}", alias[(r, s)], DataType.DOUBLE, None, t0_ms)
                for s in signals
            ]
            topic = f"spBv1.0/{GROUP}/DBIRTH/{node}/{r}"
            births.append((topic, encode(declared, seq=k + 1, ts_ms=t0_ms)))
        for j in range(POOL):
            for r in robots:
                rows = [
                    Metric(
                        None,
                        alias[(r, s)],
                        DataType.DOUBLE,
                        round(float(rng.normal(50.0, 10.0)), 2),
                        t0_ms + (j * INSTANTS + i) * 1_000,
                        send_datatype=False,
                    )
                    for i in range(INSTANTS)
                    for s in signals
                ]
                body = encode(rows, seq=None, ts_ms=t0_ms)
                pool.append((node, f"spBv1.0/{GROUP}/DDATA/{node}/{r}", body))
    seq = {line["slug"]: len(line["stations"]) + 1 for line in lines}
    stream: list[Message] = []
    for k in range(count):
        node, topic, body = pool[k % len(pool)]
        stream.append((topic, _with_seq(body, seq[node] % 256)))
        seq[node] += 1
    return births, stream


# -- peers: protobuf alone ---------------------------------------------------------------------


def parse_only(payloads: Sequence[bytes]) -> float:
    """Seconds for Payload.FromString over every payload."""
    parse = pb.Payload.FromString
    t0 = time.perf_counter()
    for p in payloads:
        parse(p)
    return time.perf_counter() - t0


def parse_and_read(payloads: Sequence[bytes]) -> float:
    """Seconds for FromString plus each metric's alias, timestamp and value into lists."""
    parse = pb.Payload.FromString
    t0 = time.perf_counter()
    for p in payloads:
        ms = parse(p).metrics
        [(m.alias, m.timestamp, m.double_value) for m in ms]
    return time.perf_counter() - t0


# -- Kiln in process ---------------------------------------------------------------------------


class _Replay:
    """A connection that hands over recorded messages in lists, then closes."""

    connected = True

    def __init__(self, lists: list[list[Received]]) -> None:
        self.lists = lists

    def subscribe(self, filters: Sequence[str], qos: int = 0) -> None:
        pass

    async def start(self) -> None:
        pass

    async def batches(self) -> AsyncIterator[list[Received]]:
        for batch in self.lists:
            yield batch
            await asyncio.sleep(0)  # the loop runs the committer between lists, as live

    def publish(
        self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False
    ) -> asyncio.Future[bool]:
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        fut.set_result(True)
        return fut

    async def close(self) -> None:
        pass


def _store(folder: Path) -> tuple[DuckDBStore, StoreWriter, StoreSink]:
    store = DuckDBStore(folder / "kiln.duckdb")
    store.import_assets(bench_city(1_000))
    writer = StoreWriter(store)
    return store, writer, StoreSink(store, writer, SystemClock(), keep=10_000)


def kiln_replay(folder: Path, births: list[Message], stream: list[Message]) -> tuple[float, int]:
    """Seconds until the host has committed the stream (births before the clock), rows added."""
    store, writer, sink = _store(folder)
    try:
        host = SparkplugHost(SparkplugSettings(name="bench"))
        first = [Received(t, p, 0, False, 0, 1) for t, p in births]
        data = [Received(t, p, 0, False, 0, 1) for t, p in stream]
        lists = [data[i : i + BATCH] for i in range(0, len(data), BATCH)]

        async def go() -> tuple[float, int]:
            await host.serve(sink, _Replay([first]))  # births, committed
            rows0 = writer.committed_rows
            t0 = time.perf_counter()
            await host.serve(sink, _Replay(lists))  # returns once all is committed
            took = time.perf_counter() - t0
            assert host.stats.refused == 0, "the host refused benchmark messages"
            return took, writer.committed_rows - rows0

        return asyncio.run(go())
    finally:
        writer.close()
        store.close()


# -- end to end through Mosquitto --------------------------------------------------------------


def _mqtt_string(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(2, "big") + raw


def _remaining(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def publish_packets(msgs: Sequence[Message]) -> bytes:
    """MQTT 3.1.1 PUBLISH packets (QoS 0) for the messages, back to back."""
    out = bytearray()
    for topic, payload in msgs:
        body = _mqtt_string(topic) + payload
        out += b"\x30" + _remaining(len(body)) + body
    return bytes(out)


PUBLISHER = """
import socket, sys
port, path = int(sys.argv[1]), sys.argv[2]
data = open(path, "rb").read()
cid = b"bench-edge"
var = b"\\x00\\x04MQTT\\x04\\x02\\x00\\x3c" + len(cid).to_bytes(2, "big") + cid
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"\\x10" + bytes([len(var)]) + var)
assert s.recv(4)[:2] == b"\\x20\\x02", "no CONNACK"
s.sendall(data)
s.sendall(b"\\xe0\\x00")
s.close()
"""


def broker_conf(folder: Path, port: int) -> Path:
    """A Mosquitto that queues whatever a slow subscriber has not taken yet."""
    conf = folder / "mosquitto.conf"
    lines = [
        f"listener {port} 127.0.0.1",
        "allow_anonymous true",
        "persistence false",
        "max_queued_messages 0",
        "max_queued_bytes 0",
        "set_tcp_nodelay true",
    ]
    if os.geteuid() == 0:
        lines.append("user root")
    conf.write_text("\n".join(lines) + "\n")
    return conf


def _publish(port: int, packets: Path) -> None:
    subprocess.run(
        [sys.executable, "-c", PUBLISHER, str(port), str(packets)], check=True, timeout=120
    )


def kiln_mqtt(
    folder: Path, port: int, births: Path, stream: Path, expected: int, births_list: list[Message]
) -> float:
    """Seconds from the first DDATA published until the host has committed `expected` rows."""
    store, writer, sink = _store(folder)
    host = SparkplugHost(
        SparkplugSettings(name="bench", port=port, host_id=f"bench-{time.monotonic_ns()}")
    )

    async def go() -> float:
        task = asyncio.create_task(host.run(sink))
        try:
            await _until(lambda: host.online, 30)
            await asyncio.to_thread(_publish, port, births)
            # Births carry no values: wait until the host has taken them all.
            await _until(lambda: host.stats.messages >= len(births_list), 30)
            rows0 = writer.committed_rows
            t0 = time.perf_counter()
            await asyncio.to_thread(_publish, port, stream)
            await _until(lambda: writer.committed_rows - rows0 >= expected, ROUND_TIMEOUT_S)
            return time.perf_counter() - t0
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    try:
        return asyncio.run(go())
    finally:
        writer.close()
        store.close()


async def _until(check: Callable[[], bool], timeout_s: float) -> None:
    """Poll check() every 5 ms until it holds or timeout_s passed."""
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        if check():
            return
        await asyncio.sleep(0.005)


def bare_mqtt(port: int, births: Path, stream: Path, expected: int) -> float:
    """Seconds from the first DDATA published until a counting paho subscriber has them all."""
    got = 0
    done = threading.Event()
    subscribed = threading.Event()

    def on_message(client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        nonlocal got
        if "/DDATA/" in msg.topic:
            got += 1
            if got >= expected:
                done.set()

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bare-{time.monotonic_ns()}")
    c.on_connect = lambda cl, u, f, rc, p: cl.subscribe("spBv1.0/#", qos=1)
    c.on_subscribe = lambda *a: subscribed.set()
    c.on_message = on_message
    c.connect("127.0.0.1", port)
    c.loop_start()
    try:
        subscribed.wait(10)
        _publish(port, births)
        t0 = time.perf_counter()
        _publish(port, stream)
        done.wait(ROUND_TIMEOUT_S)
        return time.perf_counter() - t0
    finally:
        c.disconnect()
        c.loop_stop()


def _wait_port(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"mosquitto did not listen on {port}")


# -- figures -----------------------------------------------------------------------------------


def run(quick: bool) -> list[Figure]:
    count, rounds = (20_000, 3) if quick else (100_000, 5)
    t0_ms = int(time.time() * 1000) - 3_600_000
    births, stream = messages(count, t0_ms)
    payloads = [p for _, p in stream]
    kiln_s: list[float] = []
    parse_s: list[float] = []
    read_s: list[float] = []
    rows = 0
    with temp_dir("sparkplug") as tmp:
        for r in range(rounds):
            order = ("kiln", "peer") if r % 2 == 0 else ("peer", "kiln")
            for side in order:
                if side == "peer":
                    parse_s.append(parse_only(payloads))
                    read_s.append(parse_and_read(payloads))
                else:
                    folder = tmp / f"replay-{r}"
                    folder.mkdir()
                    took, rows = kiln_replay(folder, births, stream)
                    kiln_s.append(took)
            log(
                f"sparkplug_ingest round {r + 1}: kiln {count / kiln_s[-1]:,.0f} msg/s, "
                f"FromString {count / parse_s[-1]:,.0f}, with reading {count / read_s[-1]:,.0f}"
            )
        figures = _replay_figures(count, rows, kiln_s, parse_s, read_s)
        figures.append(_mqtt_figure(tmp, births, stream, max(2, rounds - 2)))
    return figures


def _replay_figures(
    count: int, rows: int, kiln_s: list[float], parse_s: list[float], read_s: list[float]
) -> list[Figure]:
    rate = count / median(kiln_s)
    main = Figure(
        "sparkplug_ingest",
        f"DDATA of {METRICS} Double metrics (aliases only) through SparkplugHost into a "
        "DuckDB file, in process; peer: Payload.FromString on one core",
        rate,
        "messages/s",
        peer="protobuf FromString",
        peer_value=count / median(parse_s),
        target_ratio=TARGET_RATIO,
        target_value=TARGET_RATE,
    )
    main.notes.append(
        f"{count:,} messages ({count * METRICS:,} points) a round; {rate * METRICS:,.0f} "
        f"points/s committed; rows added in the last round: {rows:,}"
    )
    main.notes.append(
        "rounds (messages/s): kiln "
        + ", ".join(f"{count / s:,.0f}" for s in kiln_s)
        + "; FromString "
        + ", ".join(f"{count / s:,.0f}" for s in parse_s)
    )
    main.details.update(kiln_s=kiln_s, parse_s=parse_s, read_s=read_s, messages=count)
    read = Figure(
        "sparkplug_ingest_read",
        "the same Kiln rate; peer: FromString plus reading each metric's alias, timestamp "
        "and value into Python (per-metric code on the generated classes)",
        rate,
        "messages/s",
        peer="FromString + per-metric read",
        peer_value=count / median(read_s),
    )
    return [main, read]


def _mqtt_figure(tmp: Path, births: list[Message], stream: list[Message], rounds: int) -> Figure:
    port = free_port()
    conf = broker_conf(tmp, port)
    births_file, stream_file = tmp / "births.mqtt", tmp / "stream.mqtt"
    births_file.write_bytes(publish_packets(births))
    stream_file.write_bytes(publish_packets(stream))
    expected = len(stream) * METRICS
    kiln_s: list[float] = []
    bare_s: list[float] = []
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    with process([binary, "-c", str(conf)], log_path=tmp / "mosquitto.log"):
        _wait_port(port)
        for r in range(rounds):
            order = ("kiln", "bare") if r % 2 == 0 else ("bare", "kiln")
            for side in order:
                if side == "kiln":
                    folder = tmp / f"mqtt-{r}"
                    folder.mkdir()
                    kiln_s.append(
                        kiln_mqtt(folder, port, births_file, stream_file, expected, births)
                    )
                else:
                    bare_s.append(bare_mqtt(port, births_file, stream_file, len(stream)))
            log(
                f"sparkplug_ingest_mqtt round {r + 1}: kiln {len(stream) / kiln_s[-1]:,.0f} "
                f"msg/s, bare paho {len(stream) / bare_s[-1]:,.0f}"
            )
    fig = Figure(
        "sparkplug_ingest_mqtt",
        "the same messages through Mosquitto: SparkplugHost.run() committing into DuckDB; "
        "peer: a bare paho subscriber counting them",
        len(stream) / median(kiln_s),
        "messages/s",
        peer="bare paho subscriber",
        peer_value=len(stream) / median(bare_s),
    )
    fig.notes.append(
        f"{len(stream):,} messages a round, flooded by a raw-socket publisher process; "
        f"timed from the first publish to the last commit (kiln) or the last message (bare)"
    )
    fig.details.update(kiln_s=kiln_s, bare_s=bare_s)
    return fig


if __name__ == "__main__":
    cli("sparkplug_ingest", run)
