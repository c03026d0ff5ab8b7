"""The local runner: each job is a subprocess of this Python, measured with psutil."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from ..plan import JobSpec
from ..telemetry.base import TelemetrySession, TelemetryWriter
from ..telemetry.psutil_ import PsutilSampler
from ..telemetry.session import DeviceTelemetry
from .base import MAX_LINE, JobEnd, JobLifecycle, StreamReader

STOP_GRACE_S = 10.0
PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:
    """In the child before exec: the kernel kills it if the harness dies (even by SIGKILL)."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class LocalRunner(JobLifecycle):
    """Jobs as subprocesses; GPU/board telemetry in this process (nvml, jtop, tegrastats)."""

    def prepare(self) -> None:
        """Learn which GPU/board sources answer here, and the device's properties."""
        self.device = DeviceTelemetry(self.target)
        self.device_properties = self.device.properties
        self.setup = {"device": self.device_properties, "telemetry_sources": self.device.sources}
        self.warnings = [self.device.warning] if self.device.warning else []

    def command(self, spec: JobSpec, job_dir: Path) -> list[str]:
        cache_dir = self.target.cache_dir or str(Path.home() / ".cache" / "harness")
        return [sys.executable, "-m", "harness_jobs", spec.job, "--params", json.dumps(spec.params),
                "--out", str(job_dir), "--cache-dir", os.path.expanduser(cache_dir)]

    def create(self, spec: JobSpec, job_dir: Path, cleanup: contextlib.ExitStack) -> tuple[list[str], Path]:
        return self.command(spec, job_dir), job_dir

    def telemetry(self, job_dir: Path, writer: TelemetryWriter) -> TelemetrySession:
        return self.device.session(writer)

    def start(self, job: tuple[list[str], Path], session: TelemetrySession) -> subprocess.Popen:
        command, job_dir = job
        env = {**os.environ, "TF_FORCE_GPU_ALLOW_GROWTH": "true"}
        with open(job_dir / "stderr.log", "wb") as stderr:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True, errors="replace",
                                       env=env, start_new_session=True, preexec_fn=_die_with_parent)
        session.job_started(process.pid)
        return process

    def follow(self, running: subprocess.Popen, job_dir: Path, reader: StreamReader, writer: TelemetryWriter) -> JobEnd:
        sampler = PsutilSampler(self.target.sample_interval_s, writer)
        sampler.start(running.pid)
        pump = threading.Thread(target=self._pump, args=(running.stdout, reader), daemon=True)
        pump.start()
        timeout = None
        try:
            running.wait(timeout=self.target.timeout_s)
        except subprocess.TimeoutExpired:
            timeout = f"job exceeded the {self.target.timeout_s:g} s timeout and was stopped"
            self.stop_job(running)
        finally:
            pump.join(timeout=STOP_GRACE_S)
            rows = sampler.stop()
        return JobEnd(running.returncode, rows, timeout=timeout)

    @staticmethod
    def _pump(stream, reader: StreamReader) -> None:
        for line in iter(lambda: stream.readline(MAX_LINE), ""):
            reader.feed(line)
        stream.close()

    def stop_job(self, running: subprocess.Popen) -> None:
        """SIGTERM to the job's process group (the job records `interrupted`), SIGKILL after a grace."""
        for sig, wait in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, STOP_GRACE_S)):
            try:
                os.killpg(running.pid, sig)
            except ProcessLookupError:
                return
            try:
                running.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue
