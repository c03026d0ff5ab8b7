"""CPU and memory of the job's process tree and of the system, with psutil."""

from __future__ import annotations

from typing import Any

import psutil

from .base import ThreadedSampler

MB = 1024 * 1024


class PsutilSampler(ThreadedSampler):
    name = "psutil"

    def start(self, pid: int) -> None:
        self._root = psutil.Process(pid)
        self._root.cpu_percent(None)  # primes the counter: the first reading is then a real delta
        self._known: dict[int, psutil.Process] = {pid: self._root}
        super().start(pid)

    def _tree(self) -> list[psutil.Process]:
        """The job's processes, reusing Process objects so cpu_percent() measures deltas."""
        try:
            current = [self._root, *self._root.children(recursive=True)]
        except psutil.Error:
            return []
        self._known = {p.pid: self._known.get(p.pid, p) for p in current}
        return list(self._known.values())

    def sample(self) -> dict[str, Any] | None:
        cpu = rss = 0.0
        alive = 0
        for process in self._tree():
            try:
                with process.oneshot():
                    cpu += process.cpu_percent(None)
                    rss += process.memory_info().rss
                alive += 1
            except psutil.Error:
                continue
        if not alive:
            return None
        memory = psutil.virtual_memory()
        return {
            "cpu_percent": round(cpu, 1),
            "rss_mb": round(rss / MB, 1),
            "processes": alive,
            "system_used_mb": round((memory.total - memory.available) / MB, 1),
            "system_percent": memory.percent,
        }
