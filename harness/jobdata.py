"""A stored job's events as arrays: the steps compare and the plots need, read fast.

events.jsonl of a 100,000-step job is ~10 MB of JSON lines; parsing it with json.loads per line
costs ~0.3 s, so compare over hundreds of runs would spend its time there. Instead:
- step lines (a fixed format written by benchmarks/events.py) are parsed with one regex over the
  whole file into numpy arrays; any other line (start, dataset, epoch, end) with json.loads;
- the result is cached beside the file as `steps.npz` (keyed by the file's size and mtime, so an
  appended or rewritten events.jsonl is re-read), written when the job ends or on first read.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.events import EVENTS_FILE

CACHE_FILE = "steps.npz"
CACHE_VERSION = 1
STEP_FIELDS = ("t", "epoch", "step", "seconds", "batch_size")
_NUMBER = r"(-?[0-9.]+(?:[eE][-+]?[0-9]+)?)"
_STEP_LINE = re.compile(r'^\{"v":1,"event":"step","t":%s,"epoch":%s,"step":%s,"seconds":%s,"batch_size":%s\}$'
                        % ((_NUMBER,) * 5), re.MULTILINE)
_STEP_MARK = '"event":"step"'


@dataclasses.dataclass
class JobData:
    """Non-step events as dicts and the steps as parallel float arrays (t, epoch, step, seconds,
    batch_size), in the order they were written."""

    events: list[dict[str, Any]]
    steps: dict[str, np.ndarray]

    def first(self, kind: str) -> dict[str, Any] | None:
        return next((e for e in self.events if e.get("event") == kind), None)

    @property
    def epochs(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == "epoch"]


def empty() -> JobData:
    return JobData([], {name: np.zeros(0) for name in STEP_FIELDS})


def from_events(events: Sequence[dict[str, Any]]) -> JobData:
    """JobData from parsed events (what a runner holds when the job ends)."""
    steps = [e for e in events if e.get("event") == "step" and all(_is_number(e.get(name)) for name in STEP_FIELDS)]
    arrays = {name: np.fromiter((float(s.get(name, np.nan)) for s in steps), float, len(steps))
              for name in STEP_FIELDS}
    return JobData([e for e in events if e.get("event") != "step"], arrays)  # malformed steps dropped


def parse(text: str) -> JobData:
    """Parse events.jsonl text; lines that are not JSON objects are skipped."""
    matches = _STEP_LINE.findall(text)
    if len(matches) == text.count(_STEP_MARK):
        others = [e for e in (_loads(line) for line in text.splitlines() if line and _STEP_MARK not in line) if e]
        if not any(e.get("event") == "step" for e in others):
            table = np.array(matches, dtype=float).reshape(-1, len(STEP_FIELDS))
            return JobData(others, dict(zip(STEP_FIELDS, table.T.copy())))
    # some step line in another layout (spaces, other key order): the slow general path
    return from_events([e for e in map(_loads, text.splitlines()) if e is not None])


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _loads(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _stamp(path: Path) -> str:
    info = path.stat()
    return f"{CACHE_VERSION}:{info.st_size}:{info.st_mtime_ns}"


def write_cache(job_dir: Path, data: JobData) -> None:
    """Store `data` as the cache of job_dir/events.jsonl; silently skipped where not writable."""
    source = job_dir / EVENTS_FILE
    try:
        stamp = _stamp(source)
        tmp = job_dir / f".{CACHE_FILE}.{os.getpid()}.tmp"
        with open(tmp, "wb") as handle:
            np.savez(handle, stamp=np.array(stamp), events=np.array(json.dumps(data.events, default=str)),
                     **data.steps)
        os.replace(tmp, job_dir / CACHE_FILE)
    except OSError:
        pass


def load(job_dir: Path) -> JobData:
    """A job's events from the cache when it is current, else parsed (and the cache written)."""
    source = job_dir / EVENTS_FILE
    if not source.exists():
        return empty()
    cache = job_dir / CACHE_FILE
    if cache.exists():
        try:
            with np.load(cache) as stored:
                if str(stored["stamp"]) == _stamp(source):
                    return JobData(json.loads(str(stored["events"])),
                                   {name: stored[name] for name in STEP_FIELDS})
        except (OSError, ValueError, KeyError):
            pass  # unreadable or stale cache: parse again
    data = parse(source.read_text(errors="replace"))
    write_cache(job_dir, data)
    return data
