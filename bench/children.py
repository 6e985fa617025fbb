"""Each measured run in a fresh process: wall time, peak RSS (wait4) and its JSON result."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MIB = 2**20
CHILD_TIMEOUT = 3600.0


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@dataclass
class Child:
    argv: list[str]
    rc: int
    wall: float
    maxrss: int  # bytes: the process's peak RSS (and its waited-for children's), from wait4
    result: dict[str, Any]
    stderr: str
    load: float  # 1-minute load average when it started


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    for k in list(env):  # never post to Slack from a benchmark
        if k.startswith("SLACK_"):
            del env[k]
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def run_child(argv: list[str], *, timeout: float = CHILD_TIMEOUT, want_result: bool = True) -> Child:
    """Run argv to completion; `--out FILE` is appended when it returns a JSON result."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        out = Path(tmp) / "result.json"
        full = [*argv, "--out", str(out)] if want_result else argv
        with open(Path(tmp) / "stderr", "w+b") as err:
            load = os.getloadavg()[0]
            t0 = time.perf_counter()
            proc = subprocess.Popen(full, cwd=ROOT, env=child_env(), stdout=subprocess.DEVNULL, stderr=err,
                                    start_new_session=True)
            timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
            timer.start()
            try:
                # wait4, not Popen.wait: its rusage is this child's alone (RUSAGE_CHILDREN
                # would be the maximum over every child so far).
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                timer.cancel()
            wall = time.perf_counter() - t0
            proc.returncode = os.waitstatus_to_exitcode(status)
            err.seek(0)
            stderr = err.read().decode(errors="replace")
        result = json.loads(out.read_text()) if want_result and out.exists() else {}
    return Child(full, proc.returncode, wall, usage.ru_maxrss * 1024, result, stderr, load)


def worker(task: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "bench.worker", task, *args]


@dataclass
class Measurement:
    name: str
    runs: list[Child] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.runs) and all(c.rc == 0 for c in self.runs)

    def seconds(self, key: str = "seconds") -> list[float]:
        return [float(c.result[key]) if key != "wall" else c.wall for c in self.runs if c.rc == 0]

    def median(self, key: str = "seconds") -> float | None:
        values = self.seconds(key)
        return statistics.median(values) if values else None

    @property
    def peak(self) -> int | None:
        return max((c.maxrss for c in self.runs), default=None)

    def summary(self, key: str = "seconds") -> dict[str, Any]:
        return {
            "ok": self.ok, "runs": len(self.runs), "median_s": self.median(key), "all_s": self.seconds(key),
            "peak_rss_bytes": self.peak,
            "rss_after_imports_bytes": max((c.result.get("rss_after_imports", 0) for c in self.runs), default=0),
            "load_at_start": [c.load for c in self.runs],
            "error": next((c.stderr[-2000:] for c in self.runs if c.rc != 0), None),
        }


class MeasurementFailed(RuntimeError):
    pass


def measure(name: str, argv: list[str], runs: int, budget: float, *, want_result: bool = True) -> Measurement:
    """Up to `runs` runs, fewer once `budget` seconds have gone (at least one).
    MeasurementFailed (with the child's stderr tail) when a run fails."""
    m = Measurement(name)
    spent = 0.0
    for i in range(runs):
        spent += _run_into(m, argv, i, want_result=want_result).wall
        if spent >= budget:
            break
    return m


def _run_into(m: Measurement, argv: list[str], i: int, *, want_result: bool = True) -> Child:
    """Run `m`'s run i + 1, logged; MeasurementFailed (with the child's stderr tail) if it fails."""
    c = run_child(argv, want_result=want_result)
    m.runs.append(c)
    log(f"  {m.name} run {i + 1}: {c.wall:.2f} s wall, peak {c.maxrss / MIB:.0f} MiB, load {c.load:.2f}"
        + ("" if c.rc == 0 else f" FAILED (exit {c.rc})"))
    if c.rc != 0:
        raise MeasurementFailed(f"{m.name} failed (exit {c.rc}): {c.stderr.strip()[-1500:]}")
    return c


def measure_alternating(cases: list[tuple[str, list[str]]], runs: int, budget: float) -> list[Measurement]:
    """Cases compared with each other, run in turn round by round (the first of a round
    alternating), so each sees the same machine: a shared machine's load drifts over minutes,
    and runs grouped by case put that drift between them. Rounds stop as in measure()."""
    ms = [Measurement(name) for name, _ in cases]
    spent = 0.0
    for i in range(runs):
        order = list(range(len(cases)))
        for k in order if i % 2 == 0 else order[::-1]:
            spent += _run_into(ms[k], cases[k][1], i).wall
        if spent >= budget * len(cases):
            break
    return ms
