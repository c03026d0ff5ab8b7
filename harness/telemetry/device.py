"""GPU and board sources (NVML, jtop, tegrastats) sampled in the harness's own process.

The readers themselves live in `harness_jobs.telemetry` so a sidecar on a remote engine runs the
same code; here they are driven by the shared sampler thread and written to telemetry.csv.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness_jobs.telemetry import Unavailable

from .base import TelemetryWriter, ThreadedSampler


def attribute(held: dict[int, float | None], job_pids: set[int]) -> tuple[float | None, dict[int, float | None]]:
    """Split GPU memory holders into the job's own MB (None: not attributable) and the others."""
    own = [mb for pid, mb in held.items() if pid in job_pids]
    others = {pid: mb for pid, mb in held.items() if pid not in job_pids}
    known = [mb for mb in own if mb is not None]
    return (round(sum(known), 1) if known else None), others


class DeviceSampler(ThreadedSampler):
    """Samples one open reader; stops quietly (keeping `failure`) if the source goes away."""

    def __init__(self, reader, interval: float, writer: TelemetryWriter | None = None,
                 job_pids: Callable[[], set[int]] | None = None):
        super().__init__(interval, writer)
        self.reader = reader
        self.name = reader.source
        self.job_pids = job_pids
        self.failure: str | None = None
        self.other_gpu_processes: dict[int, float | None] = {}

    def sample(self) -> dict[str, Any] | None:
        if self.failure:
            return None
        try:
            values = self.reader.sample()
            held = self.reader.processes() if hasattr(self.reader, "processes") else None
        except Unavailable as why:
            self.failure = str(why)
            return None
        if values is not None and held is not None and self.job_pids is not None:
            own, others = attribute(held, self.job_pids())
            values["gpu_memory_job_mb"] = own
            self.other_gpu_processes.update(others)
        return values
