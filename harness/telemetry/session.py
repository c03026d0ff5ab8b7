"""A target's GPU/board telemetry for one run: which sources answer (and why the others do not),
device facts, and per job the pre-flight check and the samplers beside the job.

Used in-process by the local runner; the docker runner gets the same from its sidecar.
"""

from __future__ import annotations

from typing import Any

import psutil

from harness_jobs.telemetry.sources import open_sources, system_facts

from .base import TelemetryInfo, TelemetryWriter
from .device import DeviceSampler
from .preflight import Preflight, assess, collect, unavailable_warning


def tree_pids(pid: int) -> set[int]:
    """The job's process and its descendants (for attributing GPU memory to the job)."""
    try:
        root = psutil.Process(pid)
        return {pid, *(child.pid for child in root.children(recursive=True))}
    except psutil.Error:
        return {pid}


def merge_facts(readers) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for reader in readers:
        facts.update({k: v for k, v in reader.facts().items() if v is not None})
    return facts


class DeviceTelemetry:
    """Opened once at run start to learn what answers; each job opens its own readers again."""

    def __init__(self, target):
        self.target = target
        self.names = target.telemetry.device_sources
        self.tegrastats = target.tegrastats_path or "tegrastats"
        readers, self.reasons = self._open()
        self.sources = [reader.source for reader in readers]
        self.properties = {**system_facts(), **merge_facts(readers)}  # board, GPU, driver, power mode
        for reader in readers:
            reader.close()
        self.warning = unavailable_warning(target.name, self.reasons, self.names == ["auto"], bool(readers))

    def _open(self):
        if not self.names:
            return [], {}
        return open_sources(self.names, self.target.sample_interval_s, self.tegrastats)

    def session(self, writer: TelemetryWriter) -> JobTelemetry:
        return JobTelemetry(self, writer)


class JobTelemetry:
    """The in-process TelemetrySession: the sources opened again for one job, sampled on threads."""

    def __init__(self, device: DeviceTelemetry, writer: TelemetryWriter):
        self.device, self.writer = device, writer
        self.interval = device.target.sample_interval_s
        self.readers: list[Any] = []
        self.preflight = Preflight()
        self.reasons = dict(device.reasons)
        self.samplers: list[DeviceSampler] = []
        self.notes: list[str] = []  # gaps a source recovered from (a jtop.service restart)

    def begin(self) -> Preflight:
        """Open the sources and run pre-flight (idle baseline, GPU memory holders, power mode)."""
        device, target = self.device, self.device.target
        readers, reasons = open_sources(device.sources, self.interval, device.tegrastats) \
            if device.sources else ([], {})
        measure_idle = any(source in ("nvml", "jtop", "tegrastats") for source in device.sources)
        seconds = target.idle_baseline_s if measure_idle else 0.0
        samples, holders, failed = collect(readers, seconds, self.interval) if readers else ([], {}, {})
        self.readers = [r for r in readers if r.source not in failed]
        self.preflight = assess(device.properties, samples, holders, target.preflight, baseline=seconds > 0)
        self.reasons.update({**reasons, **failed})
        return self.preflight

    def job_started(self, job: int) -> None:
        """Sample beside the job's process `job` (a PID); GPU memory of its process tree is the job's."""
        self.samplers = [DeviceSampler(r, self.interval, self.writer, lambda: tree_pids(job)) for r in self.readers]
        for sampler in self.samplers:
            sampler.start(job)

    def stop(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for sampler in self.samplers:
            rows.extend(sampler.stop())
            if sampler.failure:
                self.reasons[sampler.name] = sampler.failure
        for reader in self.readers:
            reader.close()
            self.notes.extend(getattr(reader, "notes", None) or [])
        self.readers = []
        return rows

    def info(self) -> TelemetryInfo:
        return TelemetryInfo(sources=[s.name for s in self.samplers] or [r.source for r in self.readers],
                             device=self.device.properties, preflight=self.preflight,
                             unavailable_sources=self.reasons, notes=self.notes)
