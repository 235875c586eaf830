"""A throwaway Mosquitto broker on a free port, from Debian's binary."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mosquitto:
    """`mosquitto -c conf` in a subprocess, stopped by stop()."""

    def __init__(self, conf: Path, port: int) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            pytest.skip("mosquitto is not installed (scripts/test installs it with apt-get)")
        self.port = port
        self.proc = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        err = (
            self.proc.stderr.read().decode()
            if self.proc.stderr and self.proc.poll() is not None
            else ""
        )
        self.stop()
        raise AssertionError(f"mosquitto did not start on port {port}: {err}")

    def stop(self) -> None:
        """Stop the broker."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()
