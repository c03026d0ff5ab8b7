"""What every runner provides, and the status rules they share."""

from __future__ import annotations

import dataclasses
from collections import deque
from pathlib import Path
from typing import Any, Callable, Protocol

from ..events import BadEvent, parse_line
from ..plan import JobSpec

EventCallback = Callable[[dict[str, Any]], None]
TAIL_LINES = 20
MAX_LINE = 1 << 20  # longer output is split: a job cannot make the harness hold unbounded lines


@dataclasses.dataclass
class JobOutcome:
    status: str
    error: str | None
    exit_code: int | None
    events: list[dict[str, Any]]
    telemetry: list[dict[str, Any]]
    notes: list[str] = dataclasses.field(default_factory=list)
    telemetry_info: dict[str, Any] = dataclasses.field(default_factory=dict)  # sources, device, preflight


class RunInterrupted(Exception):
    """Ctrl-C or SIGTERM arrived while a job ran; carries that job's outcome."""

    def __init__(self, outcome: JobOutcome):
        super().__init__("interrupted")
        self.outcome = outcome


class Runner(Protocol):
    facts: dict[str, Any]   # engine and image facts for the run manifest
    emulated: bool          # the target's architecture runs under emulation: function, not speed

    def abort(self) -> None:
        """Called from another thread: stop the running job so run_job raises RunInterrupted."""
        ...

    def run_job(self, spec: JobSpec, job_dir: Path, on_event: EventCallback) -> JobOutcome:
        """Run one job to completion and report how it ended."""
        ...


class StreamReader:
    """Splits a job's stdout into events (passed on) and ordinary output (logged, tail kept)."""

    def __init__(self, log_path: Path, on_event: EventCallback):
        self.events: list[dict[str, Any]] = []
        self.bad_lines = 0
        self.write_error: OSError | None = None
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._log = open(log_path, "w")
        self._on_event = on_event

    def feed(self, line: str) -> None:
        try:
            event = parse_line(line)
        except BadEvent as error:
            self.bad_lines += 1
            self._write(f"[harness: bad event line: {error}] {line[:1000]}\n")
            return
        if event is None:
            self._write(line)
            self.tail.append(line.rstrip("\n"))
            return
        self.events.append(event)
        self._on_event(event)

    def _write(self, text: str) -> None:
        """Log a line; a full results disk stops the log (the run reports it), never the reading:
        a reader that died here would leave the job blocked on a full pipe."""
        if self.write_error is not None:
            return
        try:
            self._log.write(text)
        except OSError as error:
            self.write_error = error

    def close(self) -> None:
        try:
            self._log.close()
        except OSError as error:  # full disk: the result.json write that follows reports it
            self.write_error = self.write_error or error


def end_event(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((e for e in reversed(events) if e["event"] == "end"), None)


def status_from_end(events: list[dict[str, Any]], exit_code: int | None, stderr_tail: str) -> tuple[str, str | None]:
    """The job's own end event decides; without one, the exit code and the last output do."""
    end = end_event(events)
    if end is not None and end.get("status") in ("ok", "skipped", "failed", "oom", "interrupted"):
        return end["status"], end.get("error")
    detail = f"; last output: {stderr_tail}" if stderr_tail else ""
    if exit_code is not None and exit_code < 0:
        return "failed", f"job killed by signal {-exit_code} before it finished (SIGKILL often means out of memory){detail}"
    return "failed", f"job exited with code {exit_code} without an end event{detail}"


def tail_of(path: Path, lines: int = 3, limit: int = 600) -> str:
    try:
        text = path.read_bytes()[-8192:].decode(errors="replace")
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])[-limit:]
