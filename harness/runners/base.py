"""What every runner provides: the protocol, the one job lifecycle (`JobLifecycle`) and the one
status precedence (`job_status`)."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections import deque
from pathlib import Path
from typing import Any, Callable, Protocol

from ..config import Target
from ..events import BadEvent, parse_line
from ..plan import JobSpec
from ..telemetry.base import TELEMETRY_FILE, TelemetryInfo, TelemetrySession, TelemetryWriter

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
    telemetry_info: TelemetryInfo | None = None  # sources, device, preflight; None: the job never got that far


class RunInterrupted(Exception):
    """Ctrl-C or SIGTERM arrived while a job ran; carries that job's outcome."""

    def __init__(self, outcome: JobOutcome):
        super().__init__("interrupted")
        self.outcome = outcome


class Runner(Protocol):
    setup: dict[str, Any]              # run.json's "runner": device, telemetry sources, engine and image
    device_properties: dict[str, Any]  # the device's board, GPU, driver and power mode, as telemetry records it
    emulated: bool                     # the target's architecture runs under emulation: function, not speed
    warnings: list[str]                # found by prepare(), printed before the first job

    def prepare(self) -> None:
        """The target's checks and cleanup (a UsageError names the one that failed); construction has none."""
        ...

    def check_lines(self) -> list[str]:
        """What prepare() checked, one line each, for harness doctor."""
        ...

    def abort(self) -> None:
        """Called from another thread: stop the running job so run_job raises RunInterrupted."""
        ...

    def run_job(self, spec: JobSpec, job_dir: Path, on_event: EventCallback) -> JobOutcome:
        """Run one job to completion and report how it ended."""
        ...


INTERRUPTED = "the run was interrupted (Ctrl-C or SIGTERM) while this job ran"


class JobNotStarted(Exception):
    """The job could not be created or started; the message is its error."""


@dataclasses.dataclass
class JobEnd:
    """How the job's process or container ended, as the runner saw it."""

    exit_code: int | None
    telemetry: list[dict[str, Any]]   # process samples (psutil, docker stats)
    timeout: str | None = None        # why the job was stopped for its timeout
    lost: str | None = None           # lost contact with the engine during the job
    oom_killed: bool = False          # the engine says the container was killed for memory
    memory_limit: str = ""            # the container's memory limit, where it has one


def job_status(events: list[dict[str, Any]], end: JobEnd, stderr_tail: str, interrupted: bool) -> tuple[str, str | None]:
    """The one precedence: timeout > interrupted > lost engine > out of memory > the job's own end event
    (or, without one, its exit code)."""
    status, error = status_from_end(events, end.exit_code, stderr_tail)
    if end.timeout:
        return "timeout", end.timeout + (f"; then {end.lost}" if end.lost else "")
    if interrupted:
        return "interrupted", INTERRUPTED
    if end.lost:
        return "failed", end.lost
    if end.oom_killed or (end.exit_code == 137 and status == "failed" and end.memory_limit):
        return "oom", (f"the container was killed for exceeding its memory limit ({end.memory_limit or 'none set'}); "
                       f"raise mem_limit or lower the batch size")
    return status, error


class JobLifecycle:
    """The job lifecycle both runners share: create the job, pre-flight its telemetry, start it, follow its
    output to the end, then clean up in reverse order (an ExitStack) and decide its status. A runner
    implements the steps: create, telemetry, start, follow, stop_job."""

    def __init__(self, target: Target):
        self.target = target
        self.setup: dict[str, Any] = {}
        self.device_properties: dict[str, Any] = {}
        self.emulated = False
        self.warnings: list[str] = []
        self._aborted = threading.Event()
        self._running: Any = None  # the started job (a process, a container), for abort()

    def check_lines(self) -> list[str]:
        """The device and telemetry lines every runner has."""
        lines = ["ok  device: " + ", ".join(f"{key} {value}" for key, value in sorted(self.device_properties.items()))] \
            if self.device_properties else []
        return lines + [f"ok  telemetry: {', '.join(self.setup['telemetry_sources']) or 'process only (psutil)'}"]

    def abort(self) -> None:
        """From another thread (Ctrl-C): stop the running job; run_job then raises RunInterrupted."""
        self._aborted.set()
        if self._running is not None:
            self.stop_job(self._running)

    def run_job(self, spec: JobSpec, job_dir: Path, on_event: EventCallback) -> JobOutcome:
        with contextlib.ExitStack() as cleanup:
            try:
                job = self.create(spec, job_dir, cleanup)
                writer = cleanup.enter_context(contextlib.closing(TelemetryWriter(job_dir / TELEMETRY_FILE)))
                session = self.telemetry(job_dir, writer)
                cleanup.callback(session.stop)
                preflight = session.begin()  # idle baseline, GPU memory holders, power mode
                if preflight.error:
                    session.stop()
                    return JobOutcome("failed", preflight.error, None, [], [], preflight.warnings,
                                      telemetry_info=session.info())
                running = self.start(job, session)
            except JobNotStarted as failure:
                return self._not_started(str(failure))
            self._running = running
            cleanup.callback(setattr, self, "_running", None)
            if self._aborted.is_set():
                self.stop_job(running)
            reader = cleanup.enter_context(contextlib.closing(StreamReader(job_dir / "stdout.log", on_event)))
            end = self.follow(running, job_dir, reader, writer)
            telemetry = end.telemetry + session.stop()
        interrupted = self._aborted.is_set()
        status, error = job_status(reader.events, end, tail_of(job_dir / "stderr.log"), interrupted)
        notes = [f"{reader.bad_lines} malformed event lines ignored (see stdout.log)"] if reader.bad_lines else []
        outcome = JobOutcome(status, error, end.exit_code, reader.events, telemetry, notes + preflight.warnings,
                             telemetry_info=session.info())
        if interrupted:
            raise RunInterrupted(outcome)
        return outcome

    def _not_started(self, error: str) -> JobOutcome:
        outcome = JobOutcome("failed", error, None, [], [])
        if self._aborted.is_set():
            outcome.status = "interrupted"
            raise RunInterrupted(outcome)
        return outcome

    # -- the steps each runner implements ------------------------------------------------------
    def create(self, spec: JobSpec, job_dir: Path, cleanup: contextlib.ExitStack) -> Any:
        """The job, not started yet (its removal pushed on `cleanup`); JobNotStarted if it cannot be made."""
        raise NotImplementedError

    def telemetry(self, job_dir: Path, writer: TelemetryWriter) -> TelemetrySession:
        raise NotImplementedError

    def start(self, job: Any, session: TelemetrySession) -> Any:
        """Start the job (then tell `session`); the running job, or JobNotStarted."""
        raise NotImplementedError

    def follow(self, running: Any, job_dir: Path, reader: StreamReader, writer: TelemetryWriter) -> JobEnd:
        """Feed the job's output to `reader` and sample it until it ends (or times out); its outputs in job_dir."""
        raise NotImplementedError

    def stop_job(self, running: Any) -> None:
        raise NotImplementedError


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
