"""LoopSocket: paho's socket registered with the asyncio event loop (paho's external-loop API).

The loop calls ``loop_read`` when the socket is readable and ``loop_write`` while paho has
something to send, so paho and its callbacks run on the loop's thread. paho tells us of its
socket through the on_socket_* callbacks, some from the worker thread that connects; those
are passed to the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any

from paho.mqtt.enums import MQTTErrorCode

from kiln.ingest.mqtt.paho_client import PahoClient

READ_BURST = 256  # packets read per readiness of the socket before other work gets a turn
OK = MQTTErrorCode.MQTT_ERR_SUCCESS


class LoopSocket:
    """Drives one PahoClient's socket from the event loop; ``full()`` pauses the reading."""

    def __init__(self, client: PahoClient, full: Callable[[], bool]) -> None:
        self.client = client
        self._full = full
        self.ended = asyncio.Event()  # the socket of the current attempt was closed
        self.closing = False  # set by the owner: a socket that opens now is closed at once
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = 0
        self._fd = -1  # the socket registered with the loop, -1 when none
        self._paused = False
        client.on_socket_open = self._socket_open
        client.on_socket_close = self._socket_close
        client.on_socket_register_write = self._socket_want_write
        client.on_socket_unregister_write = self._socket_wrote

    def attach(self) -> None:
        """Bind to the running loop (paho's socket callbacks are passed to it)."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()

    @property
    def open(self) -> bool:
        """Whether a socket is registered with the loop."""
        return self._fd >= 0

    def resume(self) -> None:
        """Read again after full() paused the reading."""
        if not self._paused:
            return
        self._paused = False
        if self._fd >= 0 and self._loop is not None:
            self._loop.add_reader(self._fd, self._readable)
            self._loop.call_soon(self._readable)  # bytes may wait in the read-ahead buffer

    @property
    def paused(self) -> bool:
        """Whether the reading waits for the consumer."""
        return self._paused

    def close_now(self) -> None:
        """Unregister and close the socket without a word to the broker."""
        self._unwatch()
        self.client._reset_sockets()

    # paho's socket callbacks (possibly from the connecting thread)

    def _soon(self, fn: Callable[..., None], *args: Any) -> None:
        if threading.get_ident() == self._thread:
            fn(*args)
        elif self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody listens
                self._loop.call_soon_threadsafe(fn, *args)

    def _socket_open(self, client: Any, userdata: object, sock: Any) -> None:
        self._soon(self._watch, sock)

    def _socket_close(self, client: Any, userdata: object, sock: Any) -> None:
        self._soon(self._unwatch)

    def _socket_want_write(self, client: Any, userdata: object, sock: Any) -> None:
        self._soon(self._want_write)

    def _socket_wrote(self, client: Any, userdata: object, sock: Any) -> None:
        self._soon(self._wrote)

    # in the loop

    def _watch(self, sock: Any) -> None:
        assert self._loop is not None
        current: Any = self.client.socket()  # our ReadAhead
        if sock is not current:
            return  # already closed again
        if self.closing:
            self.client._reset_sockets()  # connected while the owner closed: no one wants it
            return
        self._fd = sock.fileno()
        self._paused = False
        self._loop.add_reader(self._fd, self._readable)
        if self.client.want_write():
            self._loop.add_writer(self._fd, self._writable)

    def _unwatch(self) -> None:
        if self._fd >= 0 and self._loop is not None:
            self._loop.remove_reader(self._fd)
            self._loop.remove_writer(self._fd)
        self._fd = -1
        self.ended.set()

    def _want_write(self) -> None:
        if self._fd >= 0 and self._loop is not None:
            self._loop.add_writer(self._fd, self._writable)

    def _wrote(self) -> None:
        if self._fd >= 0 and self._loop is not None:
            self._loop.remove_writer(self._fd)

    def _writable(self) -> None:
        self.client.loop_write()

    def _readable(self) -> None:
        """Read what the socket has, packet by packet, up to READ_BURST packets."""
        if self._paused or self._fd < 0:
            return
        client = self.client
        for _ in range(READ_BURST):
            if client.loop_read() != OK or self._fd < 0:
                return  # paho closed the socket and told us (_unwatch)
            sock: Any = client.socket()  # our ReadAhead
            if sock is None or not sock.pending():
                break
        else:
            assert self._loop is not None
            self._loop.call_soon(self._readable)  # more buffered: after the others' turn
        if self._full() and self._fd >= 0 and self._loop is not None:
            self._loop.remove_reader(self._fd)
            self._paused = True
