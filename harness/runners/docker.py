"""The docker runner: each job is one container on the target's engine, local or `ssh://`.

Events come from the container's log stream (the same for a remote engine), outputs are copied
back with the archive API (no bind mount of the results folder, which a remote host lacks),
CPU and memory come from the stats stream, and the container is removed afterwards.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

import docker
import psutil
import requests
from docker.errors import DockerException, ImageNotFound, NotFound

from ..config import Target
from ..engine_errors import ENGINE_ERRORS
from ..errors import UsageError
from ..plan import JobSpec
from ..telemetry.base import TelemetrySession, TelemetryWriter
from ..telemetry.docker_stats import DockerStatsSampler
from ..telemetry.preflight import unavailable_warning
from ..telemetry.sidecar import JobSidecar, probe
from .base import MAX_LINE, JobEnd, JobLifecycle, JobNotStarted, StreamReader
from .ssh import SSH_ERRORS, check_reachable, describe

LABEL_RUN = "io.harness.run"
LABEL_JOB = "io.harness.job"
LABEL_OWNER = "io.harness.owner"  # "<hostname>:<pid>" of the harness that started the container
OUT_DIR = "/out"
CACHE_DIR = "/cache"
WORK_DIR = "/work"
ARCHITECTURES = {"linux/amd64": "x86_64", "linux/arm64": "aarch64", "linux/arm64/v8": "aarch64"}


def gpu_runtime_check(target: str, runtime: str | None, gpus: Any, runtimes: dict[str, Any]) -> str | None:
    """A named runtime must be registered with the engine (UsageError otherwise). `gpus` alone needs no
    `nvidia` runtime entry: Docker's --gpus (device_requests) goes through the NVIDIA container
    toolkit's hook, which `docker info` does not list, so without the entry the answer is a warning
    and the engine's own error, quoted in the job's result, decides."""
    if runtime and runtime not in runtimes:
        raise UsageError(f"target '{target}' needs the '{runtime}' container runtime, which this engine "
                         f"lacks (it has: {', '.join(sorted(runtimes)) or 'none'}); install the NVIDIA "
                         f"container toolkit on the device")
    if gpus and not runtime and "nvidia" not in runtimes:
        return (f"target '{target}' asks for GPUs (gpus = {gpus!r}) and this engine lists no 'nvidia' runtime; "
                "Docker's --gpus works without one when the NVIDIA container toolkit is installed on the engine "
                "host; if it is not, the job fails with the engine's own error")
    return None


def problem(target: Target, error: BaseException) -> str:
    """What went wrong with the engine, in one line; ssh failures name the host and the fix."""
    if target.docker_host and target.docker_host.startswith("ssh://") and isinstance(error, SSH_ERRORS):
        return describe(error, target.docker_host, target.engine_timeout_s)
    return f"{type(error).__name__}: {error}"


def connect(target: Target) -> docker.DockerClient:
    """A client for the target's engine that has answered a ping, or a UsageError saying why not."""
    where = target.docker_host or "the local socket"
    try:
        if target.docker_host and target.docker_host.startswith("ssh://"):
            check_reachable(target.docker_host, target.engine_timeout_s)
        if target.docker_host:
            # ssh:// goes through paramiko: ~/.ssh/config (IdentityFile, Port, User, ProxyCommand)
            # and ~/.ssh/known_hosts, which must already know the device's host key. Every request
            # is an ssh session, more than sshd's default MaxSessions of 10 (docs/targets.md).
            client = docker.DockerClient(base_url=target.docker_host, timeout=target.engine_timeout_s)
        else:
            client = docker.from_env(timeout=target.engine_timeout_s)
        client.ping()
    except ConnectionError as error:  # check_reachable's own message
        raise UsageError(f"target '{target.name}': no Docker engine answers at {where}: {error}") from None
    except ENGINE_ERRORS as error:
        raise UsageError(f"target '{target.name}': no Docker engine answers at {where}: "
                         f"{problem(target, error)}") from None
    return client


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def leftover_containers(client: docker.DockerClient) -> list:
    """Harness containers whose harness is gone: stopped ones, or running ones whose owner
    process on this host has died (a killed harness leaves its job running)."""
    leftovers = []
    for container in client.containers.list(all=True, filters={"label": LABEL_RUN}):
        host, _, pid = container.labels.get(LABEL_OWNER, ":").rpartition(":")
        orphaned = host == socket.gethostname() and pid.isdigit() and not psutil.pid_exists(int(pid))
        if container.status != "running" or orphaned:
            leftovers.append(container)
    return leftovers


class DockerRunner(JobLifecycle):
    """Jobs as containers; GPU/board telemetry from a sidecar container next to each job."""

    def __init__(self, target: Target, emulate: bool = False):
        super().__init__(target)
        self.emulate = emulate
        self.device_sources: list[str] = []
        self.telemetry_reasons: dict[str, str] = {}

    def prepare(self) -> None:
        """Connect, check the image, the architecture and the GPU runtime, remove a killed harness's
        running job containers, and probe the telemetry sidecar (up to READY_TIMEOUT_S)."""
        self.client = connect(self.target)
        try:
            self._preflight(self.target, self.emulate)
        except ENGINE_ERRORS as error:
            raise UsageError(f"target '{self.target.name}': the Docker engine at {self.target.docker_host or 'the local socket'} "
                             f"stopped answering during the checks: {problem(self.target, error)}") from None

    def _preflight(self, target: Target, emulate: bool) -> None:
        self.info = self.client.info()
        self.image = self._check_image()
        self.emulated = self._check_architecture(emulate)
        self._check_gpu_runtime()
        leftovers = leftover_containers(self.client)
        running = [container for container in leftovers if container.status == "running"]
        for container in running:  # a killed harness's job, still on the device: it would overlap ours
            self._remove(container)
        leftovers = [container for container in leftovers if container.status != "running"]
        self.warnings = [f"{len(leftovers)} container(s) left by a killed harness on this engine: "
                         f"harness gc --target {target.name} removes them"] if leftovers else []
        if self._gpu_warning:
            self.warnings.append(self._gpu_warning)
        if running:
            self.warnings.append(f"removed {len(running)} job container(s) that a killed harness left running on "
                                 f"this engine (they would have shared the device with this run's jobs)")
        self.setup = {
            "engine": {"host": target.docker_host or "local", "version": self.client.version().get("Version"),
                       "architecture": self.info.get("Architecture"), "os": self.info.get("OperatingSystem"),
                       "cpus": self.info.get("NCPU"), "memory_gb": round(self.info.get("MemTotal", 0) / 2**30, 1),
                       "runtimes": sorted(self.info.get("Runtimes", {}))},
            "image": {"name": target.image, "id": self.image.id, "labels": self.image.labels,
                      "architecture": self.image.attrs.get("Architecture")},
            "emulated": self.emulated,
        }
        self._probe_telemetry()

    def check_lines(self) -> list[str]:
        """The device and telemetry lines, then the engine, the architecture, the image and the GPU runtime."""
        engine, image = self.setup["engine"], self.setup["image"]
        labels = [f"    {label} = {value}" for label, value in sorted((image["labels"] or {}).items())
                  if label.startswith("io.harness.")]
        return [*super().check_lines(),
                f"ok  engine answers: Docker {engine['version']} on {engine['architecture']} ({engine['host']}), "
                f"runtimes: {', '.join(engine['runtimes'])}",
                f"ok  architecture: {'emulated' if self.emulated else 'native'}",
                f"ok  image {image['name']} ({image['id'][:19]}, {image['architecture']})", *labels,
                f"ok  GPU runtime: {self.target.runtime or ('nvidia' if self.target.gpus else 'not needed')}"]

    # -- pre-flight ---------------------------------------------------------------------------
    def _probe_telemetry(self) -> None:
        """Which GPU/board sources answer next to the device (a short sidecar run), and its properties."""
        names = self.target.telemetry.device_sources
        properties: dict[str, Any] = {}
        if names:
            try:
                found = probe(self.client, self.target, names, {LABEL_RUN: "telemetry-probe", LABEL_OWNER: owner()})
                self.device_sources, self.telemetry_reasons, properties = found.answered, found.reasons, found.device_properties
            except DockerException as error:
                self.telemetry_reasons = {"sidecar": f"the telemetry sidecar did not run: {error}"}
        self.device_properties = properties
        self.setup.update({"device": properties, "telemetry_sources": self.device_sources})
        warning = unavailable_warning(self.target.name, self.telemetry_reasons, names == ["auto"],
                                      bool(self.device_sources))
        if warning:
            self.warnings.append(warning)

    def _check_image(self):
        try:
            return self.client.images.get(self.target.image)
        except ImageNotFound:
            if self.target.docker_host:  # harness build loads into the local engine only
                raise UsageError(f"image {self.target.image} is not on the engine at {self.target.docker_host}; "
                                 f"build it here with harness build, then send it: docker save {self.target.image} "
                                 f"| docker -H {self.target.docker_host} load") from None
            raise UsageError(f"image {self.target.image} is not on the engine; build it with: "
                             f"harness build {self.target.name}") from None

    def _check_architecture(self, emulate: bool) -> bool:
        wanted = ARCHITECTURES.get(self.target.platform)
        engine = self.info.get("Architecture")
        if wanted is None or wanted == engine:
            return False
        if not emulate:
            raise UsageError(f"target '{self.target.name}' is {self.target.platform} but the engine is {engine}; "
                             f"use an engine of that architecture, or --emulate (function only: results are "
                             f"marked emulated and never compared as performance)")
        return True

    def _check_gpu_runtime(self) -> None:
        self._gpu_warning = gpu_runtime_check(self.target.name, self.target.runtime, self.target.gpus,
                                              self.info.get("Runtimes", {}))

    # -- one job ------------------------------------------------------------------------------
    def container_options(self, spec: JobSpec, job_dir: Path) -> dict[str, Any]:
        target = self.target
        options: dict[str, Any] = {
            "command": [spec.job, "--params", json.dumps(spec.params), "--out", OUT_DIR, "--cache-dir", CACHE_DIR,
                        "--work-dir", WORK_DIR],
            "labels": {LABEL_RUN: job_dir.parent.name, LABEL_JOB: job_dir.name, LABEL_OWNER: owner()},
            "environment": {"TF_FORCE_GPU_ALLOW_GROWTH": "true"},
            "detach": True,
        }
        if target.mem_limit:
            options["mem_limit"] = target.mem_limit
            options["memswap_limit"] = target.mem_limit  # no swap: over the limit is an OOM kill
        if target.shm_size:
            options["shm_size"] = target.shm_size
        if target.runtime:
            options["runtime"] = target.runtime
        if target.gpu_count is not None:
            options["device_requests"] = [docker.types.DeviceRequest(count=target.gpu_count, capabilities=[["gpu"]])]
        # bottlenecks, exports and generated datasets, kept between jobs and runs on the engine
        options["volumes"] = {target.work_volume: {"bind": WORK_DIR, "mode": "rw"}}
        if target.cache_dir:
            options["volumes"][target.cache_dir] = {"bind": CACHE_DIR, "mode": "ro"}
        return options

    def create(self, spec: JobSpec, job_dir: Path, cleanup: contextlib.ExitStack) -> Any:
        try:
            container = self.client.containers.create(self.target.image, **self.container_options(spec, job_dir))
        except ENGINE_ERRORS as failure:
            raise JobNotStarted(self._engine_error("create the container", failure)) from None
        cleanup.callback(self._remove, container)
        return container

    def telemetry(self, job_dir: Path, writer: TelemetryWriter) -> TelemetrySession:
        return JobSidecar(self.client, self.target, self.device_sources, self.telemetry_reasons, self.device_properties,
                          {LABEL_RUN: job_dir.parent.name, LABEL_JOB: job_dir.name, LABEL_OWNER: owner()}, writer)

    def start(self, job: Any, session: TelemetrySession) -> Any:
        try:
            if self._aborted.is_set():
                raise DockerException("the run was interrupted before the container started")
            job.start()
        except ENGINE_ERRORS as failure:
            raise JobNotStarted(self._engine_error("start the container", failure)) from None
        session.job_started(job)
        return job

    def follow(self, running: Any, job_dir: Path, reader: StreamReader, writer: TelemetryWriter) -> JobEnd:
        """The log stream into `reader` until the container exits; its state, stderr and /out copied back.
        A lost engine is not an exception but the job's end: `lost` says what happened."""
        sampler = DockerStatsSampler(running, writer)
        pump = threading.Thread(target=self._pump, args=(running, reader), daemon=True)
        timeout = None
        try:
            pump.start()
            sampler.start(0)
            started = time.monotonic()
            try:
                running.wait(timeout=self.target.timeout_s)
            except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
                if time.monotonic() - started < self.target.timeout_s:
                    raise
                timeout = f"job exceeded the {self.target.timeout_s:g} s timeout and was killed"
                self.stop_job(running)
            pump.join(timeout=min(30.0, self.target.engine_timeout_s))  # a frozen engine never ends the stream
            rows = sampler.stop()
            running.reload()
            state = running.attrs["State"]
            (job_dir / "stderr.log").write_bytes(running.logs(stdout=False, stderr=True))
            self._copy_outputs(running, job_dir)
        except Exception as failure:  # noqa: BLE001 - engine restarted, network or ssh gone: say so
            lost = (f"lost contact with the Docker engine at {self.target.docker_host or 'the local socket'} during "
                    f"the job (stopped, restarted or not answering?): {problem(self.target, failure)}")
            return JobEnd(None, sampler.stop(), timeout=timeout, lost=lost, memory_limit=self.target.mem_limit)
        return JobEnd(state.get("ExitCode"), rows, timeout=timeout, oom_killed=bool(state.get("OOMKilled")),
                      memory_limit=self.target.mem_limit)

    def _engine_error(self, doing: str, error: BaseException) -> str:
        if isinstance(error, DockerException):
            return f"could not {doing}: {error}"
        return (f"could not {doing}: the Docker engine at {self.target.docker_host or 'the local socket'} does not "
                f"answer ({problem(self.target, error)})")

    @staticmethod
    def _pump(container, reader: StreamReader) -> None:
        """Split the log stream (chunks, not lines) into lines for the reader."""
        pending = b""
        try:
            for chunk in container.logs(stream=True, follow=True, stdout=True, stderr=False):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                if len(pending) > MAX_LINE:
                    lines.append(pending)
                    pending = b""
                for line in lines:
                    reader.feed(line.decode(errors="replace") + "\n")
        except ENGINE_ERRORS:
            pass  # the engine went away; the outcome says so through the missing end event
        if pending:
            reader.feed(pending.decode(errors="replace") + "\n")

    @staticmethod
    def _copy_outputs(container, job_dir: Path) -> None:
        """The job's /out folder into job_dir (events.jsonl, artifacts), refusing unsafe paths."""
        try:
            chunks, _ = container.get_archive(OUT_DIR)
        except NotFound:
            return
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as archive:
            for member in archive.getmembers():
                relative = Path(member.name).relative_to(Path(OUT_DIR).name) if member.name != "out" else None
                if relative is None or not member.isfile() or ".." in relative.parts:
                    continue
                content = archive.extractfile(member)
                if content is None:
                    continue
                destination = job_dir / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_bytes(content.read())

    def stop_job(self, running: Any) -> None:
        try:
            running.kill()
        except ENGINE_ERRORS:
            pass

    @staticmethod
    def _remove(container) -> None:
        try:
            container.remove(force=True)
        except ENGINE_ERRORS:
            pass
