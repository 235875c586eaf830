"""Kiln CLI processes in tests: wait for what they write, and always end them."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

KILN = [sys.executable, "-m", "kiln.cli"]


def wait_for(path: Path, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    """Wait until proc has written path; fail with its output if it ends first."""
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        assert time.monotonic() < deadline, f"{path} was not written"
        time.sleep(0.1)


def finish(*procs: subprocess.Popen[bytes] | None) -> None:
    """Stop each process still running (Ctrl-C, then kill after a minute) and reap it, so a
    failed test leaves no process and no open pipe behind."""
    for proc in procs:
        if proc is None:
            continue
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
