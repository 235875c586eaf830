"""A throwaway nats-server with JetStream on a free port, from Debian's binary."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.mosquitto import free_port


class NatsServer:
    """`nats-server -js` in a subprocess, its JetStream files in ``folder``; restart() brings it
    back on the same port with the same files (streams, consumers and messages survive)."""

    def __init__(self, folder: Path, *, port: int | None = None) -> None:
        binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
        if not Path(binary).exists():
            pytest.skip("nats-server is not installed (Debian's package: nats-server)")
        self.binary = binary
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.proc = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [self.binary, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return proc
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.05)
        err = proc.stderr.read().decode() if proc.stderr and proc.poll() is not None else ""
        self._end(proc)
        raise AssertionError(f"nats-server did not start on port {self.port}: {err}")

    @staticmethod
    def _end(proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stderr:
            proc.stderr.close()

    def stop(self) -> None:
        """Stop the server (its JetStream files stay)."""
        self._end(self.proc)

    def restart(self) -> None:
        """Start it again on the same port with the same files."""
        self.stop()
        self.proc = self._start()
