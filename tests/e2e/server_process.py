"""Run a real `kiln` server in a subprocess on a free port, and stop it with Ctrl-C (SIGINT)."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

READY = re.compile(r"Kiln is ready: (http://\S+)/")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class KilnProcess:
    """`kiln <command> --port P --data DIR`, started and awaited until it says it is ready."""

    def __init__(
        self,
        command: str,
        data: Path,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.port = free_port()
        full_env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kiln",
                command,
                "--port",
                str(self.port),
                "--data",
                str(data),
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=full_env,
            text=True,
        )
        self.output: list[str] = []
        self.url = ""

    def wait_ready(self, timeout_s: float = 60.0) -> str:
        """Read output until the ready line; return the base URL."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if ready:
                line = self.proc.stdout.readline()
                if not line and self.proc.poll() is not None:
                    break
                self.output.append(line)
                m = READY.search(line)
                if m:
                    self.url = m.group(1)
                    return self.url
            elif self.proc.poll() is not None:
                break
        self.kill()
        raise AssertionError("kiln did not become ready:\n" + "".join(self.output))

    def interrupt(self, timeout_s: float = 30.0) -> int:
        """Send Ctrl-C and wait for the exit code."""
        self.proc.send_signal(signal.SIGINT)
        try:
            out, _ = self.proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"kiln did not stop within {timeout_s:.0f} s of Ctrl-C") from None
        self.output.append(out or "")
        return self.proc.returncode

    def admin_password(self, data: Path) -> str:
        """The first-start admin password the server wrote beside its data."""
        return (data / "initial-admin-password").read_text().strip()

    def kill(self) -> None:
        """Stop it hard (cleanup after a failure)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None and not self.proc.stdout.closed:
            self.proc.stdout.close()
