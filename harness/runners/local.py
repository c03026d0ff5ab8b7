"""The local runner: each job is a subprocess of this Python, measured with psutil."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from ..config import Target
from ..plan import JobSpec
from ..telemetry.base import TELEMETRY_FILE, TelemetryWriter
from ..telemetry.psutil_ import PsutilSampler
from ..telemetry.session import DeviceTelemetry
from .base import MAX_LINE, EventCallback, JobOutcome, RunInterrupted, StreamReader, status_from_end, tail_of

STOP_GRACE_S = 10.0
PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:
    """In the child before exec: the kernel kills it if the harness dies (even by SIGKILL)."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class LocalRunner:
    def __init__(self, target: Target):
        self.target = target
        self.device = DeviceTelemetry(target)  # GPU/board sources in this process (nvml, jtop, tegrastats)
        self.facts: dict = {"device": self.device.facts, "telemetry_sources": self.device.sources}
        self.warnings = [self.device.warning] if self.device.warning else []
        self.emulated = False
        self._aborted = threading.Event()
        self._process: subprocess.Popen | None = None

    def abort(self) -> None:
        """From another thread (Ctrl-C): stop the running job; run_job then raises RunInterrupted."""
        self._aborted.set()
        if self._process is not None:
            self._stop(self._process)

    def command(self, spec: JobSpec, job_dir: Path) -> list[str]:
        cache_dir = self.target.cache_dir or str(Path.home() / ".cache" / "harness")
        return [sys.executable, "-m", "benchmarks", spec.job, "--params", json.dumps(spec.params),
                "--out", str(job_dir), "--cache-dir", os.path.expanduser(cache_dir)]

    def run_job(self, spec: JobSpec, job_dir: Path, on_event: EventCallback) -> JobOutcome:
        env = {**os.environ, "TF_FORCE_GPU_ALLOW_GROWTH": "true"}
        writer = TelemetryWriter(job_dir / TELEMETRY_FILE)
        device = self.device.begin(writer)  # pre-flight: idle baseline, GPU memory holders, power mode
        if device.preflight.error:
            device.close()
            writer.close()
            return JobOutcome("failed", device.preflight.error, None, [], [], device.preflight.warnings,
                              telemetry_info=device.info())
        sampler = PsutilSampler(self.target.sample_interval_s, writer)
        reader = StreamReader(job_dir / "stdout.log", on_event)
        with open(job_dir / "stderr.log", "wb") as stderr:
            process = subprocess.Popen(self.command(spec, job_dir), stdout=subprocess.PIPE, stderr=stderr,
                                       text=True, errors="replace", env=env, start_new_session=True,
                                       preexec_fn=_die_with_parent)
        self._process = process
        if self._aborted.is_set():
            self._stop(process)
        sampler.start(process.pid)
        device.start(process.pid)
        pump = threading.Thread(target=self._pump, args=(process.stdout, reader), daemon=True)
        pump.start()
        override = None
        try:
            process.wait(timeout=self.target.timeout_s)
        except subprocess.TimeoutExpired:
            override = f"job exceeded the {self.target.timeout_s:g} s timeout and was stopped"
            self._stop(process)
        finally:
            self._process = None
            pump.join(timeout=STOP_GRACE_S)
            telemetry = sampler.stop() + device.stop()
            writer.close()
            reader.close()
        status, error = status_from_end(reader.events, process.returncode, tail_of(job_dir / "stderr.log"))
        interrupted = self._aborted.is_set()
        if override:
            status, error = "timeout", override
        elif interrupted:
            status, error = "interrupted", "the run was interrupted (Ctrl-C or SIGTERM) while this job ran"
        notes = [f"{reader.bad_lines} malformed event lines ignored (see stdout.log)"] if reader.bad_lines else []
        outcome = JobOutcome(status, error, process.returncode, reader.events, telemetry,
                             notes + device.preflight.warnings, telemetry_info=device.info())
        if interrupted:
            raise RunInterrupted(outcome)
        return outcome

    @staticmethod
    def _pump(stream, reader: StreamReader) -> None:
        for line in iter(lambda: stream.readline(MAX_LINE), ""):
            reader.feed(line)
        stream.close()

    @staticmethod
    def _stop(process: subprocess.Popen) -> None:
        """SIGTERM to the job's process group (the job records `interrupted`), SIGKILL after a grace."""
        for sig, wait in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, STOP_GRACE_S)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
            try:
                process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue
