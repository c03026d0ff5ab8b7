"""GPU/board telemetry on a Docker engine, local or remote: a sidecar container next to the job.

The sidecar is the job's own image running `python -m harness_jobs.telemetry` with the host's
PID namespace (so NVML's process IDs are the engine host's, as `docker top` reports the job's),
the GPU like the job (`--gpus` / runtime nvidia), the jtop socket and the host's tegrastats when
the engine has them. Its samples come back over the log stream, stamped with the device's own
monotonic clock: the clock the job's events use there, so energy windows line up even when the
engine is a TX2 on the other end of an ssh connection.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from typing import Any

import docker
from docker.errors import APIError
from docker.types import Mount

from harness_jobs.telemetry.sources import BOARD_DIR, BOARD_FILES

from ..engine_errors import ENGINE_ERRORS
from .base import TelemetryInfo, TelemetryWriter
from .device import attribute
from .preflight import FIRST_SAMPLE_WAIT_S, Preflight, assess

PREFIX = "@@harness-telemetry "
ROLE_LABEL = "io.harness.role"
JTOP_SOCKET = "/run/jtop.sock"
HOST_TEGRASTATS = "/usr/bin/tegrastats"
TEGRASTATS_IN_SIDECAR = "/opt/harness/host-tegrastats"
READY_TIMEOUT_S = 120.0  # python start-up under emulation is slow
TOP_REFRESH_S = 2.0


def parse(line: str) -> dict[str, Any] | None:
    if not line.startswith(PREFIX):
        return None
    try:
        record = json.loads(line[len(PREFIX):])
    except ValueError:
        return None
    return record if isinstance(record, dict) and "kind" in record else None


def sidecar_options(target, sources: list[str], labels: dict[str, str], duration: float = 0.0) -> dict[str, Any]:
    """Container options; mounts for the jtop socket and tegrastats where the target may have them
    (dropped one by one when the engine lacks the path, see `create`)."""
    mounts = []
    jetson = target.platform.startswith("linux/arm64")
    if jetson:
        mounts.append(Mount(JTOP_SOCKET, JTOP_SOCKET, type="bind"))
    if jetson:  # board, L4T release and power mode, which the sidecar cannot see otherwise
        for source, name in BOARD_FILES:
            inside = "/var/lib/nvpmodel" if name == "nvpmodel-state" else f"{BOARD_DIR}/{name}"
            mounts.append(Mount(inside, source, type="bind", read_only=True))
    if target.tegrastats_path or jetson:
        mounts.append(Mount(TEGRASTATS_IN_SIDECAR, target.tegrastats_path or HOST_TEGRASTATS, type="bind", read_only=True))
    command = ["--sources", ",".join(sources), "--interval", f"{target.sample_interval_s:g}",
               "--tegrastats", TEGRASTATS_IN_SIDECAR if any(m["Target"] == TEGRASTATS_IN_SIDECAR for m in mounts)
               else "tegrastats"]
    if duration:
        command += ["--duration", f"{duration:g}"]
    options: dict[str, Any] = {"entrypoint": ["python3", "-m", "harness_jobs.telemetry"], "command": command,
                               "pid_mode": "host", "labels": {**labels, ROLE_LABEL: "telemetry"},
                               "mounts": mounts, "detach": True}
    if target.runtime:
        options["runtime"] = target.runtime
    if target.gpu_count is not None:
        options["device_requests"] = [docker.types.DeviceRequest(count=target.gpu_count, capabilities=[["gpu"]])]
    return options


def create(client, image: str, options: dict[str, Any]):
    """Create the sidecar, dropping a bind mount whose source the engine host lacks (a TX2
    without jtop, a desktop without tegrastats): the sidecar then says the source is unavailable."""
    while True:
        try:
            return client.containers.create(image, **options)
        except APIError as error:
            missing = [m for m in options["mounts"] if m["Source"] in str(error)]
            if "does not exist" not in str(error) or not missing:
                raise
            options = {**options, "mounts": [m for m in options["mounts"] if m is not missing[0]]}
            if missing[0]["Target"] == TEGRASTATS_IN_SIDECAR:
                command = list(options["command"])
                command[command.index(TEGRASTATS_IN_SIDECAR)] = "tegrastats"
                options["command"] = command


@dataclasses.dataclass
class ProbeResult:
    """What one short sidecar run found next to the device."""

    answered: list[str]                # the sources that answered
    reasons: dict[str, str]            # {source: why it did not}
    device_properties: dict[str, Any]  # what the answering sources report about the device


def probe(client, target, sources: list[str], labels: dict[str, str]) -> ProbeResult:
    """One short sidecar run at run start: which sources answer, why the others do not, and the device."""
    container = create(client, target.image, sidecar_options(target, sources, labels, duration=0.01))
    try:
        container.start()
        container.wait(timeout=READY_TIMEOUT_S)
        output = container.logs(stdout=True, stderr=False).decode(errors="replace")
        stderr = container.logs(stdout=False, stderr=True).decode(errors="replace").strip()
    finally:
        try:
            container.remove(force=True)
        except ENGINE_ERRORS:
            pass
    answered, reasons, properties = [], {}, {}
    for record in filter(None, map(parse, output.splitlines())):
        if record["kind"] in ("facts", "system"):
            if record["kind"] == "facts":
                answered.append(record["source"])
            properties.update({k: v for k, v in (record.get("facts") or {}).items() if v is not None})
        elif record["kind"] == "unavailable":
            reasons[record["source"]] = record.get("reason", "")
    if not answered and not reasons:
        reasons["sidecar"] = f"the telemetry sidecar printed nothing ({stderr.splitlines()[-1] if stderr else 'no error'})"
    return ProbeResult(answered, reasons, properties)


class Sidecar:
    """One job's sidecar: started before the job (pre-flight and idle baseline), stopped after it."""

    name = "sidecar"

    def __init__(self, client, target, sources: list[str], labels: dict[str, str], writer: TelemetryWriter):
        self.client, self.target, self.writer = client, target, writer
        self.options = sidecar_options(target, sources, labels)
        self.rows: list[dict[str, Any]] = []
        self.idle: list[dict[str, Any]] = []
        self.holders: dict[int, float | None] = {}
        self.reasons: dict[str, str] = {}
        self.notes: list[str] = []  # the sidecar's `note` records: gaps a source recovered from
        self.container: Any = None  # docker's Container (the SDK has no type hints)
        self.job: Any = None  # the job's container, once started: its host PIDs own GPU memory
        self._job_pids: set[int] = set()
        self._top_at = 0.0
        self._thread: threading.Thread | None = None
        self._samples = threading.Event()

    def start(self) -> None:
        self.container = create(self.client, self.target.image, self.options)
        self.container.start()
        self._thread = threading.Thread(target=self._read, name="sidecar-reader", daemon=True)
        self._thread.start()

    def baseline(self, seconds: float) -> list[dict[str, Any]]:
        """Idle samples for `seconds` before the job starts (and until the first one arrives)."""
        self._samples.wait(timeout=READY_TIMEOUT_S)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(min(0.1, seconds))
        waited = time.monotonic()
        while not self.idle and time.monotonic() - waited < FIRST_SAMPLE_WAIT_S and self._samples.is_set():
            time.sleep(0.05)
        return list(self.idle)

    def job_started(self, container) -> None:
        self.job = container

    def _pids(self) -> set[int]:
        if self.job is not None and time.monotonic() - self._top_at > TOP_REFRESH_S:
            self._top_at = time.monotonic()
            try:
                top = self.job.top()
                column = top["Titles"].index("PID")
                self._job_pids = {int(row[column]) for row in top.get("Processes") or []}
            except (*ENGINE_ERRORS, KeyError, ValueError):
                pass
        return self._job_pids

    def _read(self) -> None:
        pending = b""
        try:
            for chunk in self.container.logs(stream=True, follow=True, stdout=True, stderr=False):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self._handle(parse(line.decode(errors="replace")))
        except ENGINE_ERRORS:
            pass
        finally:
            self._samples.set()  # the stream ended: nobody waits for samples that will not come

    def _handle(self, record: dict[str, Any] | None) -> None:
        if record is None:
            return
        if record["kind"] == "unavailable":
            self.reasons[record["source"]] = record.get("reason", "")
            return
        if record["kind"] == "note" and isinstance(record.get("text"), str):
            self.notes.append(record["text"])
            return
        if record["kind"] != "sample" or not isinstance(record.get("values"), dict):
            return
        values = dict(record["values"])
        held = values.pop("gpu_processes", None)
        if self.job is None:
            self.idle.append(values)
            if held:
                self.holders = {int(pid): mb for pid, mb in held.items()}
            self._samples.set()
            return
        if held is not None:
            values["gpu_memory_job_mb"], _ = attribute({int(p): mb for p, mb in held.items()}, self._pids())
        row = {"t": record["t"], "wall_time": record["wall_time"], **values}
        self.rows.append(row)
        self.writer.write(record["source"], row)
        self._samples.set()

    def stop(self) -> list[dict[str, Any]]:
        if self.container is None:
            return self.rows
        try:
            self.container.stop(timeout=5)
        except ENGINE_ERRORS:
            pass
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            self.container.remove(force=True)
        except ENGINE_ERRORS:
            pass
        self.container = None
        return self.rows


class JobSidecar:
    """The sidecar TelemetrySession: pre-flight and sampling for one docker job (or nothing, saying why)."""

    def __init__(self, client, target, sources: list[str], reasons: dict[str, str], properties: dict[str, Any],
                 labels: dict[str, str], writer: TelemetryWriter):
        self.target, self.sources, self.properties = target, list(sources), properties
        self.reasons = dict(reasons)
        self.notes: list[str] = []
        self.preflight = Preflight()
        self.sidecar = Sidecar(client, target, sources, labels, writer) if sources else None

    def begin(self) -> Preflight:
        samples: list[dict[str, Any]] = []
        if self.sidecar is not None:
            try:
                self.sidecar.start()
                samples = self.sidecar.baseline(self.target.idle_baseline_s)
            except ENGINE_ERRORS as error:
                self.reasons["sidecar"] = f"the telemetry sidecar did not start: {error}"
                self.sidecar.stop()
                self.sidecar, self.sources = None, []
        holders = self.sidecar.holders if self.sidecar else {}
        self.preflight = assess(self.properties, samples, holders, self.target.preflight,
                                baseline=self.target.idle_baseline_s > 0)
        return self.preflight

    def job_started(self, job) -> None:
        """The job's container runs: its host PIDs (docker top) own GPU memory."""
        if self.sidecar is not None:
            self.sidecar.job_started(job)

    def stop(self) -> list[dict[str, Any]]:
        if self.sidecar is None:
            return []
        rows = self.sidecar.stop()
        self.reasons.update(self.sidecar.reasons)
        self.notes = list(self.sidecar.notes)
        return rows

    def info(self) -> TelemetryInfo:
        return TelemetryInfo(sources=[s for s in self.sources if s not in self.reasons], device=self.properties,
                             preflight=self.preflight, unavailable_sources=self.reasons, notes=self.notes,
                             sidecar=True)
