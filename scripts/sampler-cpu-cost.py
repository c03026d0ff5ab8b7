#!/usr/bin/env python3
"""CPU cost of the harness's own samplers at the default interval, as a share of one core.

Each in-process sampler runs alone in this process for --seconds beside an idle child process (`sleep`);
the process's CPU time (all threads, user + system) over that window, minus an idle window with
no sampler, divided by the wall time, is the sampler's cost. NVML and jtop need their stand-ins
on PYTHONPATH here (tests/fakes), so their figure is the harness side only (no driver call
cost); tegrastats is the fake executable (tests/fakes/bin): its own process is not counted,
only the reader thread and the parser. The sidecar (`python -m harness_jobs.telemetry`, which runs
on the device for docker targets) is measured as its own process, after its start-up.

    .venv/bin/python scripts/sampler-cpu-cost.py [--seconds 30] [--interval 0.5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests" / "fakes"), str(REPO)]
os.environ["PATH"] = f"{REPO / 'tests' / 'fakes' / 'bin'}{os.pathsep}{os.environ['PATH']}"

from harness_jobs.telemetry.jetson import JtopReader  # noqa: E402
from harness_jobs.telemetry.nvml import NvmlReader  # noqa: E402
from harness_jobs.telemetry.sources import TegrastatsSource  # noqa: E402
from harness.telemetry.base import TelemetryWriter  # noqa: E402
from harness.telemetry.device import DeviceSampler  # noqa: E402
from harness.telemetry.psutil_ import PsutilSampler  # noqa: E402

import psutil  # noqa: E402


def sidecar_share(sources: str, seconds: float, interval: float) -> float:
    """CPU share of the sidecar process over `seconds`, measured after a 3 s start-up."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path[:2])}
    process = subprocess.Popen([sys.executable, "-m", "harness_jobs.telemetry", "--sources", sources,
                                "--interval", str(interval)], stdout=subprocess.DEVNULL, env=env)
    try:
        time.sleep(3)
        handle = psutil.Process(process.pid)
        before, clock = sum(handle.cpu_times()[:2]), time.monotonic()
        time.sleep(seconds)
        return (sum(handle.cpu_times()[:2]) - before) / (time.monotonic() - clock)
    finally:
        process.terminate()
        process.wait()


def cpu_seconds() -> float:
    return time.process_time()  # all threads of this process, user + system, in ns resolution


def window(seconds: float, start=None, stop=None) -> float:
    """CPU seconds used by this process over `seconds` of wall time."""
    if start:
        start()
    before, clock = cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    used, wall = cpu_seconds() - before, time.monotonic() - clock
    if stop:
        stop()
    return used / wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=0.5)
    args = parser.parse_args()
    child = subprocess.Popen(["sleep", str(10 * args.seconds + 60)])
    out = Path("/tmp") / f"sampler-cost-{os.getpid()}.csv"
    try:
        idle = window(args.seconds)
        makers = {
            "psutil": lambda w: PsutilSampler(args.interval, w),
            "nvml (stand-in)": lambda w: DeviceSampler(NvmlReader().open(), args.interval, w, lambda: {child.pid}),
            "jtop (stand-in)": lambda w: DeviceSampler(JtopReader(interval_s=args.interval).open(), args.interval, w),
            "tegrastats (fake executable)": lambda w: DeviceSampler(TegrastatsSource(args.interval).open(),
                                                                    args.interval, w),
        }
        print(f"idle process: {100 * idle:.3f}% of one core; interval {args.interval:g} s, {args.seconds:g} s each")
        for name, make in makers.items():
            writer = TelemetryWriter(out)
            sampler = make(writer)
            share = window(args.seconds, lambda s=sampler: s.start(child.pid), sampler.stop) - idle
            if hasattr(sampler, "reader"):
                sampler.reader.close()
            writer.close()
            print(f"{name:30s} {100 * share:6.3f}% of one core  ({len(sampler.rows)} samples)")
        for sources in ("nvml", "tegrastats"):
            share = sidecar_share(sources, args.seconds, args.interval)
            print(f"{'sidecar process, ' + sources:30s} {100 * share:6.3f}% of one core")
    finally:
        child.kill()
        out.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
