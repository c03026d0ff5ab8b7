"""Container CPU and memory from the engine's stats stream (about one sample a second).

Memory follows `docker stats`: usage minus page cache, which cgroup v1 reports as `cache`
and cgroup v2 as `inactive_file`.
"""

from __future__ import annotations

from typing import Any

from ..engine_errors import ENGINE_ERRORS
from .base import TelemetryWriter, ThreadedSampler

MB = 1024 * 1024


def cpu_percent(stats: dict[str, Any]) -> float | None:
    """Share of one core x 100 over the interval between this sample and the previous one."""
    cpu, previous = stats.get("cpu_stats", {}), stats.get("precpu_stats", {})
    try:
        cpu_delta = cpu["cpu_usage"]["total_usage"] - previous["cpu_usage"]["total_usage"]
        system_delta = cpu["system_cpu_usage"] - previous["system_cpu_usage"]
    except (KeyError, TypeError):
        return None  # the first sample has no previous one
    cores = cpu.get("online_cpus") or len(cpu["cpu_usage"].get("percpu_usage") or []) or 1
    if system_delta <= 0 or cpu_delta < 0:
        return None
    return round(cpu_delta / system_delta * cores * 100, 1)


def memory_mb(stats: dict[str, Any]) -> float | None:
    memory = stats.get("memory_stats") or {}
    usage = memory.get("usage")
    if usage is None:
        return None
    detail = memory.get("stats") or {}
    cache = detail["cache"] if "cache" in detail else detail.get("inactive_file", 0)  # v1 : v2
    return round((usage - cache) / MB, 1)


def parse_stats(stats: dict[str, Any]) -> dict[str, Any] | None:
    memory = memory_mb(stats)
    if memory is None:
        return None  # the container has stopped: the engine sends empty stats
    limit = (stats.get("memory_stats") or {}).get("limit")
    return {"cpu_percent": cpu_percent(stats), "memory_mb": memory,
            "memory_limit_mb": round(limit / MB, 1) if limit else None}


class DockerStatsSampler(ThreadedSampler):
    """The engine sends about one stats sample a second; the stream, not an interval, paces it."""

    name = "docker"

    def __init__(self, container, writer: TelemetryWriter | None = None):
        super().__init__(interval=1.0, writer=writer)
        self.container = container

    def _loop(self) -> None:
        try:
            for stats in self.container.stats(stream=True, decode=True):
                if self._stop.is_set():
                    return
                self.record(parse_stats(stats))
        except (*ENGINE_ERRORS, ValueError):
            return  # the stream ends with the container or the engine (a broken stream: urllib3's error)
