"""Holds each fuzz input to a deadline by running it in worker.py's process: a parser that hangs
(even inside a C regex engine, which no signal interrupts) is killed and reported by name and seed."""

from __future__ import annotations

import dataclasses
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STARTUP_S = 120.0   # importing the harness on a busy 2-core CI machine


@dataclasses.dataclass
class Finding:
    target: str
    ident: str          # the seed, or the input file
    problem: str        # "raised ..." | "took more than N s"

    def replay(self) -> str:
        kind = "files" if "/" in self.ident else "seeds"
        what = self.ident if kind == "files" else f"{self.ident} 1"
        return f".venv/bin/python -m tests.fuzz.worker {self.target} {kind} {what}"


def run(target: str, args: list[str], deadline_s: float) -> tuple[list[Finding], int, float]:
    """(findings, inputs run, slowest input's seconds) of `worker TARGET ARGS...`."""
    process = subprocess.Popen([sys.executable, "-m", "tests.fuzz.worker", target, *args], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
                               env={**os.environ, "PYTHONHASHSEED": "0"})
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    findings: list[Finding] = []
    done, slowest, current, limit = 0, 0.0, None, time.monotonic() + STARTUP_S
    pending = b""
    try:
        while True:
            if b"\n" not in pending:
                if not selector.select(timeout=max(0.0, limit - time.monotonic())):
                    what = f"took more than {deadline_s:g} s" if current else "worker did not start"
                    findings.append(Finding(target, current or "-", what))
                    break
                chunk = os.read(process.stdout.fileno(), 65536)
                if not chunk:
                    if process.wait() != 0:
                        error = process.stderr.read().decode(errors="replace")[-500:]
                        findings.append(Finding(target, current or "-", "worker died: " + error))
                    break
                pending += chunk
                continue
            raw, pending = pending.split(b"\n", 1)
            word, _, rest = raw.decode(errors="replace").partition(" ")
            if word == "start":
                current, limit = rest, time.monotonic() + deadline_s
            elif word in ("ok", "fail"):
                ident, _, detail = rest.partition(" ")
                done += 1
                current, limit = None, time.monotonic() + deadline_s
                if word == "fail":
                    findings.append(Finding(target, ident, "raised " + detail))
                else:
                    slowest = max(slowest, float(detail))
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()
        process.stderr.close()
    return findings, done, slowest
