"""A target's GPU/board telemetry for one run: which sources answer (and why the others do not),
device facts, and per job the pre-flight check and the samplers beside the job.

Used in-process by the local runner; the docker runner gets the same from its sidecar.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psutil

from benchmarks.telemetry.sources import open_sources, system_facts

from .base import TelemetryWriter
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
        self.facts = {**system_facts(), **merge_facts(readers)}
        for reader in readers:
            reader.close()
        self.warning = unavailable_warning(target.name, self.reasons, self.names == ["auto"], bool(readers))

    def _open(self):
        if not self.names:
            return [], {}
        return open_sources(self.names, self.target.sample_interval_s, self.tegrastats)

    def begin(self, writer: TelemetryWriter) -> JobTelemetry:
        """Open the sources and run pre-flight (idle baseline, GPU memory holders, power mode)."""
        readers, reasons = open_sources(self.sources, self.target.sample_interval_s, self.tegrastats) \
            if self.sources else ([], {})
        measure_idle = any(source in ("nvml", "jtop", "tegrastats") for source in self.sources)
        seconds = self.target.idle_baseline_s if measure_idle else 0.0
        samples, holders, failed = collect(readers, seconds, self.target.sample_interval_s) if readers else ([], {}, {})
        readers = [r for r in readers if r.source not in failed]
        report = assess(self.facts, samples, holders, self.target.preflight, baseline=seconds > 0)
        return JobTelemetry(readers, writer, self.target.sample_interval_s, report,
                            {**self.reasons, **reasons, **failed}, self.facts)


class JobTelemetry:
    def __init__(self, readers, writer, interval: float, preflight: Preflight, reasons: dict[str, str],
                 facts: dict[str, Any]):
        self.readers, self.writer, self.interval = readers, writer, interval
        self.preflight, self.reasons, self.facts = preflight, dict(reasons), facts
        self.samplers: list[DeviceSampler] = []
        self.notes: list[str] = []  # gaps a source recovered from (a jtop.service restart)

    def start(self, pid: int, job_pids: Callable[[], set[int]] | None = None) -> None:
        job_pids = job_pids or (lambda: tree_pids(pid))
        self.samplers = [DeviceSampler(r, self.interval, self.writer, job_pids) for r in self.readers]
        for sampler in self.samplers:
            sampler.start(pid)

    def stop(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for sampler in self.samplers:
            rows.extend(sampler.stop())
            if sampler.failure:
                self.reasons[sampler.name] = sampler.failure
        self.close()
        return rows

    def close(self) -> None:
        for reader in self.readers:
            reader.close()
            self.notes.extend(getattr(reader, "notes", None) or [])
        self.readers = []

    def info(self) -> dict[str, Any]:
        """What result.json records about the measurement itself."""
        return {"sources": [s.name for s in self.samplers] or [r.source for r in self.readers],
                "device": self.facts, "preflight": self.preflight.public(),
                "unavailable_sources": self.reasons, **({"notes": self.notes} if self.notes else {})}
