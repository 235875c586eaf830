"""What every benchmark shares: figures, the machine, free ports, peers in subprocesses, output.

Rules every benchmark keeps: it prints figures and ratios and asserts nothing; every peer runs
in the same process run, so a ratio compares like with like on a noisy machine; all traffic goes
to 127.0.0.1; every loop is bounded in count and time; peers start on free ports in temp dirs and
are stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "benchmarks" / "out"
VENV_BIN = ROOT / ".venv" / "bin"
KILN = VENV_BIN / "kiln"
PYTHON = VENV_BIN / "python"
VICTORIA_METRICS = Path("/usr/bin/victoria-metrics")


# -- figures -----------------------------------------------------------------------------------


@dataclass
class Figure:
    """One measured figure, optionally beside a peer's value for the same work in the same run.

    ``higher_is_better`` decides which way a ratio and a limit point. The target is either a
    ratio to the peer (``target_ratio``), an absolute limit (``target_value``), or both.
    """

    name: str
    what: str
    value: float | None
    unit: str
    peer: str = ""
    peer_value: float | None = None
    higher_is_better: bool = True
    target_ratio: float | None = None
    target_value: float | None = None
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)  # raw numbers, for latest.json

    @property
    def ratio(self) -> float | None:
        """value / peer_value (for rates: >1 means Kiln is faster; for times: <1)."""
        if self.value is None or not self.peer_value:
            return None
        return self.value / self.peer_value

    @property
    def target(self) -> str:
        """The target, as printed."""
        sign = ">=" if self.higher_is_better else "<="
        parts = []
        if self.target_ratio is not None:
            parts.append(f"{sign} {self.target_ratio:g}x peer")
        if self.target_value is not None:
            parts.append(f"{sign} {_num(self.target_value)} {self.unit}")
        return " and ".join(parts) or "-"

    @property
    def passed(self) -> bool | None:
        """Whether the figure meets its target(s); None when it cannot be judged."""
        if self.value is None:
            return None
        checks: list[bool] = []
        if self.target_value is not None:
            checks.append(_meets(self.value, self.target_value, self.higher_is_better))
        if self.target_ratio is not None:
            if self.ratio is None:
                if self.target_value is None:
                    return None  # peer missing: the ratio target cannot be judged
            else:
                checks.append(_meets(self.ratio, self.target_ratio, self.higher_is_better))
        return all(checks) if checks else None

    def as_dict(self) -> dict[str, Any]:
        """The figure for latest.json."""
        d = asdict(self)
        d.update(ratio=self.ratio, target=self.target, passed=self.passed)
        return d


def _meets(value: float, limit: float, higher_is_better: bool) -> bool:
    return value >= limit if higher_is_better else value <= limit


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    if x == 0:
        return "0"
    ax = abs(x)
    if ax >= 1e6:
        return f"{x / 1e6:,.2f} M"
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 100:
        return f"{x:.1f}"
    if ax >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def print_table(figures: Sequence[Figure]) -> None:
    """Print the figures as one table: figure, value, peer value, ratio, target, pass/fail."""
    rows = [("figure", "value", "peer", "peer value", "ratio", "target", "result")]
    for f in figures:
        verdict = {True: "PASS", False: "FAIL", None: "n/a"}[f.passed]
        rows.append(
            (
                f.name,
                f"{_num(f.value)} {f.unit}" if f.value is not None else "not measured",
                f.peer or "-",
                _num(f.peer_value) if f.peer_value is not None else ("missing" if f.peer else "-"),
                f"{f.ratio:.2f}x" if f.ratio is not None else "-",
                f.target,
                verdict,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    line = "  ".join("-" * w for w in widths)
    print(line)
    for k, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        if k == 0:
            print(line)
    print(line)
    for f in figures:
        print(f"  {f.name}: {f.what}")
        for note in f.notes:
            print(f"      {note}")


# -- the machine -------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """CPU model, cores, RAM and the versions that matter to the figures."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram_gb = None
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    info: dict[str, Any] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "ram_gb": ram_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
    }
    for mod in ("duckdb", "pyarrow", "numpy", "httpx", "uvicorn", "fastapi", "orjson"):
        try:
            info[mod] = __import__(mod).__version__
        except Exception:  # a missing library is reported, not fatal
            info[mod] = "missing"
    info["victoria-metrics"] = victoria_metrics_version() or "missing"
    return info


def victoria_metrics_version() -> str | None:
    """The installed VictoriaMetrics version, or None when the binary is missing."""
    if not VICTORIA_METRICS.exists():
        return None
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(
            [str(VICTORIA_METRICS), "-version"], capture_output=True, text=True, timeout=10
        )
        lines = (out.stdout or out.stderr).strip().splitlines()
        if lines:
            return lines[0]
        # Debian's build prints an empty version: ask the package manager instead.
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", "victoria-metrics"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if out.returncode == 0 and out.stdout.strip():
            return f"{out.stdout.strip()} (Debian package)"
    return "unknown version"


def load_note() -> str:
    """The load average and the busiest processes not started by this run, for the notes: the
    machine has 2 cores, and anyone else's tests move the absolute figures (less the ratios)."""
    one, five, _ = os.getloadavg()
    mine = {os.getpid()}
    with contextlib.suppress(Exception):
        import psutil

        me = psutil.Process()
        mine |= {c.pid for c in me.children(recursive=True)}
        others = []
        for p in psutil.process_iter(["pid", "name", "cpu_percent", "cmdline"]):
            if p.info["pid"] in mine:
                continue
            others.append(p)
        time.sleep(0.5)
        busy = []
        for p in others:
            with contextlib.suppress(psutil.Error):
                pct = p.cpu_percent(None)
                if pct >= 20:
                    cmd = " ".join(p.info["cmdline"] or [p.info["name"] or "?"])[:60]
                    busy.append(f"{cmd} {pct:.0f}%")
        if busy:
            return f"load {one:.1f}/{five:.1f} (1/5 min); busy elsewhere: {'; '.join(busy[:3])}"
    return f"load {one:.1f}/{five:.1f} (1/5 min)"


def print_machine(info: dict[str, Any]) -> None:
    """Print the machine at the top of a run."""
    print(
        f"machine: {info['cpu']}, {info['cores']} cores ({info['usable_cores']} usable), "
        f"{info['ram_gb']} GB RAM, {info['os']}"
    )
    libs = ", ".join(
        f"{k} {info[k]}"
        for k in ("python", "duckdb", "pyarrow", "numpy", "httpx", "uvicorn", "orjson")
    )
    print(f"versions: {libs}; victoria-metrics: {info['victoria-metrics']}")


# -- output ------------------------------------------------------------------------------------


def write_json(
    figures: Sequence[Figure],
    info: dict[str, Any],
    *,
    quick: bool,
    path: Path = OUT_DIR / "latest.json",
    merge: bool = False,
) -> Path:
    """Write the run as JSON. With merge (a partial run), figures of earlier runs that this run
    did not measure are kept, each with the time, machine load and --quick of its own run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    when = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    rows = []
    for f in figures:
        row = f.as_dict()
        row.update(when=when, quick=quick)
        rows.append(row)
    if merge and path.exists():
        with contextlib.suppress(ValueError, KeyError, TypeError):
            names = {r["name"] for r in rows}
            earlier = json.loads(path.read_text())["figures"]
            rows = [r for r in earlier if r["name"] not in names] + rows
    doc = {"when": when, "quick": quick, "machine": info, "figures": rows}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2, default=str))
    tmp.replace(path)
    return path


def cli(name: str, run: Callable[[bool], list[Figure]]) -> None:
    """Entry point of one benchmark module run alone: machine, figures, table, JSON."""
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{name}")
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument(
        "--profile", action="store_true", help="sample Kiln's server with py-spy while measured"
    )
    args = parser.parse_args()
    global PROFILE
    PROFILE = args.profile
    info = machine()
    print_machine(info)
    before = load_note()
    figures = run(args.quick)
    figures[0].notes.append(f"machine before: {before}")
    print()
    print_table(figures)
    out = write_json(figures, info, quick=args.quick, path=OUT_DIR / f"{name}.json")
    print(f"\nwritten: {out.relative_to(ROOT)}")


# -- timing ------------------------------------------------------------------------------------


def median(xs: Sequence[float]) -> float:
    """The median (of a non-empty sequence)."""
    return statistics.median(xs)


def timed_repeats(
    fn: Callable[[], object], *, count: int, max_s: float, warmup: int = 3
) -> list[float]:
    """Call fn warmup times, then up to count times or until max_s passed; return seconds each."""
    for _ in range(warmup):
        fn()
    out: list[float] = []
    deadline = time.perf_counter() + max_s
    for _ in range(count):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
        if time.perf_counter() > deadline:
            break
    return out


def log(msg: str) -> None:
    """Progress on stderr, so the table on stdout stays clean."""
    sys.stdout.flush()
    print(f"  [{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- peers and servers -------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    """A temp dir removed at the end (whatever happens)."""
    path = Path(tempfile.mkdtemp(prefix=f"kiln-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a subprocess: ours without KILN_* settings, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KILN_")}
    env.update(extra)
    return env


@contextlib.contextmanager
def process(
    args: Sequence[str],
    *,
    log_path: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    stop_timeout_s: float = 30.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a subprocess in its own group with output to log_path; stop it (by pid) at the end.

    Stopping sends SIGINT (a graceful shutdown for uvicorn and VictoriaMetrics), then SIGKILL to
    that process group only if it has not exited within stop_timeout_s.
    """
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            list(args),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGINT)
                try:
                    proc.wait(timeout=stop_timeout_s)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)


def wait_http(
    url: str,
    *,
    timeout_s: float,
    proc: subprocess.Popen[bytes] | None = None,
    ok: Callable[[Any], bool] | None = None,
    headers: dict[str, str] | None = None,
    any_status: bool = False,
) -> float:
    """Poll url (every 0.2 s, at most timeout_s) until it answers 2xx (any_status: any answer
    below 500, i.e. the server is up); return seconds waited."""
    import httpx

    t0 = time.perf_counter()
    deadline = t0 + timeout_s
    while time.perf_counter() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the process exited with {proc.returncode} before {url} answered")
        with contextlib.suppress(httpx.HTTPError):
            r = httpx.get(url, timeout=2.0, headers=headers)
            if (r.status_code < 500 if any_status else r.is_success) and (ok is None or ok(r)):
                return time.perf_counter() - t0
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout_s:.0f} s")


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log file, for a failure message."""
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def simulator_ready() -> str | None:
    """None when kiln.simulator.engine imports, else why not (the simulator is being written)."""
    try:
        out = subprocess.run(
            [str(PYTHON), "-c", "import kiln.simulator.engine, kiln.simulator.world"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        return "importing kiln.simulator.engine timed out"
    if out.returncode != 0:
        err = (out.stderr.strip().splitlines() or ["?"])[-1]
        return f"kiln.simulator.engine does not import yet ({err})"
    return None


def mint_tokens(
    data_dir: Path,
    count: int = 1,
    *,
    enterprise: str | None = None,
    device: bool = False,
    asset_doc: dict[str, Any] | None = None,
) -> list[str]:
    """Open the store in data_dir in-process (no server running), import asset_doc if given,
    and issue count bearer tokens: a city admin's, or with enterprise device tokens of it
    (device) or its enterprise admin's. The store is closed again before this returns."""
    from kiln.auth.principal import Principal
    from kiln.auth.roles import Role
    from kiln.config import load_settings
    from kiln.runtime import build_runtime

    settings = load_settings(
        environ={},
        overrides={
            "store": {"path": str(data_dir / "kiln.duckdb")},
            "simulator": {"enabled": False},
        },
    )
    rt = build_runtime(settings, simulate=False)
    try:
        if asset_doc is not None:
            rt.store.import_assets(asset_doc, where="benchmark")
        eid = rt.catalog.enterprise_by_slug[enterprise] if enterprise else None
        role = Role.ENTERPRISE_ADMIN if eid is not None else Role.CITY_ADMIN
        tokens = []
        if device:
            actor = Principal(None, "benchmark", role, eid)
            for k in range(count):
                token, _ = rt.security.create_token(actor, f"bench-device-{k}", role=Role.DEVICE)
                tokens.append(token)
        else:
            user = rt.security.create_user(
                None, f"bench-{role.value}", "correct-horse-bench-1", role, eid
            )
            who = Principal(user.id, user.username, role, eid)
            for k in range(count):
                token, _ = rt.security.create_token(who, f"benchmark-{k}")
                tokens.append(token)
        return tokens
    finally:
        rt.close()


def mint_token(data_dir: Path, *, enterprise: str | None = None) -> str:
    """One bearer token (see mint_tokens): the city admin's, or the enterprise admin's."""
    return mint_tokens(data_dir, 1, enterprise=enterprise)[0]


# -- profiling ---------------------------------------------------------------------------------

PROFILE = False  # set by --profile: sample Kiln's server processes with py-spy while measured


@contextlib.contextmanager
def profiled(pid: int, name: str) -> Iterator[None]:
    """With --profile, sample pid with py-spy (all threads, native frames off) while the block
    runs, then print its hottest functions and keep the collapsed stacks in benchmarks/out."""
    spy = shutil.which("py-spy") or str(VENV_BIN / "py-spy")
    if not PROFILE or not Path(spy).exists():
        if PROFILE:
            log("--profile: py-spy is not installed (.venv/bin/pip install py-spy)")
        yield
        return
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    out = OUT_DIR / f"{name}.pyspy.txt"
    extra = os.environ.get("KILN_BENCH_PYSPY_ARGS", "").split()  # e.g. "--gil" or "--idle"
    proc = subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--rate",
            "200",
            "--nonblocking",
            "--threads",
            *extra,
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    if out.exists():
        print_profile(out)


def print_profile(path: Path, top: int = 25) -> None:
    """Summarise py-spy's collapsed stacks: per thread, and the functions with most samples
    (inclusive: on the stack; self: at the top)."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    threads: dict[str, int] = {}
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not count_s.isdigit():
            continue
        count = int(count_s)
        total += count
        frames = stack.split(";")
        threads[frames[0]] = threads.get(frames[0], 0) + count
        for f in set(frames[1:]):
            inclusive[f] = inclusive.get(f, 0) + count
        if len(frames) > 1:
            own[frames[-1]] = own.get(frames[-1], 0) + count
    if not total:
        return
    print(f"\nprofile {path.name}: {total} samples", file=sys.stderr)
    for t, n in sorted(threads.items(), key=lambda kv: -kv[1])[:6]:
        print(f"  thread {t[:70]:70} {100 * n / total:5.1f} %", file=sys.stderr)
    print("  inclusive:", file=sys.stderr)
    for f, n in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        print(f"    {100 * n / total:5.1f} %  {f[:110]}", file=sys.stderr)
    print("  self:", file=sys.stderr)
    for f, n in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        print(f"    {100 * n / total:5.1f} %  {f[:110]}", file=sys.stderr)
