"""The lean PUBLISH parser and the read-ahead socket under paho."""

from __future__ import annotations

import socket

import pytest

from kiln.ingest.mqtt.paho_client import ReadAhead, split_publish


def publish_body(topic: bytes, payload: bytes, mid: int | None, props: bytes | None) -> bytes:
    body = len(topic).to_bytes(2, "big") + topic
    if mid is not None:
        body += mid.to_bytes(2, "big")
    if props is not None:
        body += bytes([len(props)]) + props
    return body + payload


@pytest.mark.parametrize(("qos", "v5"), [(0, False), (1, False), (0, True), (1, True)])
def test_topic_payload_and_packet_id_come_apart(qos: int, v5: bool) -> None:
    props = b"\x03\x00\x10application/json" if v5 else None  # content type: skipped
    body = publish_body(b"fs/v1/x", b'{"v": 1}', 4711 if qos else None, props)
    assert split_publish(body, qos, v5) == (b"fs/v1/x", b'{"v": 1}', 4711 if qos else 0)


@pytest.mark.parametrize(
    "body",
    [
        b"\x00",  # no topic length
        b"\x00\x00payload",  # empty topic (no topic alias was agreed)
        b"\x00\x09short",  # topic longer than the packet
        b"\x00\x01a",  # QoS 1 without a packet id
        b"\x00\x01a\x00\x01\x40",  # properties longer than the packet
        b"\x00\x01a\x00\x01\xff\xff\xff\xff\x01",  # properties length of five bytes
    ],
)
def test_a_malformed_publish_is_refused(body: bytes) -> None:
    with pytest.raises((ValueError, IndexError)):
        split_publish(body, 1, True)


def test_read_ahead_serves_small_reads_from_one_large_one() -> None:
    a, b = socket.socketpair()
    with a, b:
        b.setblocking(False)
        r = ReadAhead(b)
        a.sendall(b"\x30\x05hello\x30\x02hi")
        assert r.recv(1) == b"\x30"
        assert r.pending() == 10  # the rest came with the first read
        assert r.recv(1) == b"\x05"
        assert r.recv(100) == b"hello\x30\x02hi"  # never more than is buffered
        assert r.pending() == 0
        with pytest.raises(BlockingIOError):
            r.recv(1)
        assert r.fileno() == b.fileno()  # everything else is the socket's
        a.close()
        assert r.recv(1) == b""  # end of stream
