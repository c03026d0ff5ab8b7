"""Docker faults against a private engine of the test's own: a second dockerd (its own socket,
data root, exec root and network namespace, no bridge or iptables) that the test may kill and
restart without touching the machine's shared engine. Its only image is a static C stand-in for `misbehave`
(imported from a tarball, no registry, no Python), so each test takes seconds.

The faults: the engine killed mid-job (the job fails with a message naming the engine, the next
job fails fast, the harness exits without hanging; after a restart `--resume` completes the
run); SIGTERM with a docker target (exit 143, container gone); two runs on one engine."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import psutil
import pytest

docker = pytest.importorskip("docker")

from harness.results import load_run  # noqa: E402
from harness.runners.docker import LABEL_RUN  # noqa: E402

from ..conftest import CliResult, only_run  # noqa: E402

IMAGE = "harness-fake:test"
JOB_C = r"""
/* A stand-in for the misbehave job: mode ok (a step every 0.1 s for `seconds`) and alloc (`mb` MB). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    const char *params = "{}", *found;
    double seconds, start = now();
    int step = 0, i;
    for (i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--params") == 0) params = argv[i + 1];
    found = strstr(params, "\"seconds\": ");
    seconds = found ? atof(found + 11) : 1.0;
    printf("@@harness-event {\"v\":1,\"event\":\"start\",\"t\":%.6f,\"job\":\"misbehave\",\"params\":%s}\n",
           start, params);
    fflush(stdout);
    if (strstr(params, "\"mode\": \"alloc\"")) {
        found = strstr(params, "\"mb\": ");
        for (i = 0; i < (found ? atoi(found + 6) : 8); i++)
            memset(malloc(1 << 20), 1, 1 << 20);  /* touched, so really used */
        seconds = 0;
    }
    while (now() - start < seconds) {
        double before = now();
        usleep(100000);
        printf("@@harness-event {\"v\":1,\"event\":\"step\",\"t\":%.6f,\"epoch\":0,\"step\":%d,"
               "\"seconds\":%.6f,\"batch_size\":1}\n", now(), ++step, now() - before);
        fflush(stdout);
    }
    printf("@@harness-event {\"v\":1,\"event\":\"end\",\"t\":%.6f,\"status\":\"ok\",\"error\":null,"
           "\"metrics\":{\"steps_done\":%d}}\n", now(), step);
    return 0;
}
"""


class PrivateEngine:
    """A dockerd started by this test; every process it leaves is found by its exec root."""

    def __init__(self, root: Path):
        self.root = root
        self.socket = root / "d.sock"
        self.url = f"unix://{self.socket}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self._forget_dead_containerd()
        log = open(self.root / "dockerd.log", "ab")
        # its own network namespace: with --bridge=none a dockerd deletes any `docker0` it sees, and
        # the shared engine's docker0 is in the host's namespace
        self.process = subprocess.Popen(
            ["unshare", "--net", "dockerd", "--host", self.url, "--data-root", str(self.root / "data"), "--exec-root",
             str(self.root / "exec"), "--pidfile", str(self.root / "d.pid"), "--bridge=none", "--iptables=false",
             "--ip6tables=false"], stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                docker.DockerClient(base_url=self.url, timeout=5).ping()
                return
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.2)
        tail = (self.root / "dockerd.log").read_text(errors="replace")[-600:]
        self.stop()
        pytest.skip(f"a private dockerd did not start here: {tail}")

    def _forget_dead_containerd(self) -> None:
        """A dockerd restarted within a second of a crash finds its killed containerd's pid file, takes
        the dying (or unreaped) process for a live one and waits on it until it gives up; so the pid
        file of a containerd that is gone or a zombie is removed first."""
        pid_file = self.root / "exec" / "containerd" / "containerd.pid"
        if not pid_file.exists():
            return
        try:
            process = psutil.Process(int(pid_file.read_text().strip()))
            alive = process.status() != psutil.STATUS_ZOMBIE and str(self.root) in " ".join(process.cmdline())
        except (psutil.Error, ValueError):
            alive = False
        if not alive:
            pid_file.unlink()

    def client(self):
        return docker.DockerClient(base_url=self.url, timeout=30)

    def kill(self) -> None:
        """SIGKILL: the engine dies as in a crash (its containers' shims live on)."""
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def leftovers(self) -> list[psutil.Process]:
        """containerd, shims and job processes of this engine (their command lines name its root)."""
        found = []
        for process in psutil.process_iter(["cmdline"]):
            if any(str(self.root) in part for part in process.info["cmdline"] or []):
                found.append(process)
                found.extend(process.children(recursive=True))
        return found


def static_job_image(engine: PrivateEngine) -> None:
    (engine.root / "job.c").write_text(JOB_C)
    built = subprocess.run(["gcc", "-static", "-O1", "-o", str(engine.root / "job"), str(engine.root / "job.c")],
                           capture_output=True, text=True)
    if built.returncode != 0:
        pytest.skip(f"cannot build the static stand-in job: {built.stderr[-300:]}")
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as archive:
        archive.add(engine.root / "job", arcname="job")
    engine.client().api.import_image_from_data(data.getvalue(), repository=IMAGE.split(":")[0], tag="test",
                                               changes=['ENTRYPOINT ["/job"]'])


@pytest.fixture(scope="module")
def engine():
    if shutil.which("dockerd") is None or shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("a private dockerd needs the dockerd and unshare binaries and root")
    if shutil.which("gcc") is None:
        pytest.skip("gcc builds the static stand-in job")
    root = Path(tempfile.mkdtemp(prefix="hdk-", dir="/tmp"))  # short: a unix socket path has 108 bytes
    engine = PrivateEngine(root)
    try:
        engine.start()
        static_job_image(engine)
        yield engine
    finally:
        engine.stop()
        for process in engine.leftovers():
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass
        for line in reversed(Path("/proc/mounts").read_text().splitlines()):
            point = line.split()[1]
            if point.startswith(str(root)):
                subprocess.run(["umount", "-l", point], check=False)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def workdir(tmp_path, engine):
    (tmp_path / "harness.toml").write_text(f"""
[targets.private]
runner = "docker"
platform = "linux/amd64"
image = "{IMAGE}"
docker_host = "{engine.url}"
telemetry = "docker"

[targets.private-small]
runner = "docker"
platform = "linux/amd64"
image = "{IMAGE}"
docker_host = "{engine.url}"
telemetry = "docker"
mem_limit = "32m"

[targets.private-impatient]
runner = "docker"
platform = "linux/amd64"
image = "{IMAGE}"
docker_host = "{engine.url}"
telemetry = "docker"
engine_timeout_s = 3.0
""")
    (tmp_path / "home").mkdir()
    return tmp_path


def start(workdir: Path, *argv: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "harness", *argv], cwd=workdir, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            env={**os.environ, "COLUMNS": "200", "HOME": str(workdir / "home")})


def harness(workdir: Path, *argv: str, timeout: float = 120) -> CliResult:
    process = start(workdir, *argv)
    out, err = process.communicate(timeout=timeout)
    return CliResult(process.returncode, out, err)


def suite(workdir: Path, seconds: str) -> str:
    (workdir / "suite.toml").write_text('[[jobs]]\njob = "misbehave"\nsweep = { seconds = [%s] }\n' % seconds)
    return "suite.toml"


def wait_for_a_stepping_container(client, results: Path, done: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len(list(results.glob("runs/*/*/result.json"))) >= done:
            for container in client.containers.list(filters={"label": LABEL_RUN}):
                if b'"step"' in container.logs():
                    return
        time.sleep(0.1)
    raise AssertionError("no running job container with steps")


def test_sigterm_with_a_docker_target_removes_the_container(workdir, engine):
    client = engine.client()
    results = workdir / "r"
    process = start(workdir, "run", "--target", "private", "--suite", suite(workdir, "60.0, 0.2"),
                    "--results-dir", str(results))
    wait_for_a_stepping_container(client, results, done=0)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 143, out + err
    assert client.containers.list(all=True, filters={"label": LABEL_RUN}) == []
    run = load_run(only_run(results))
    assert run.status == "interrupted" and [r["status"] for r in run.results] == ["interrupted", "skipped"]


def test_two_runs_on_one_docker_engine_never_overlap(workdir, engine):
    results = workdir / "r"
    first = start(workdir, "run", "--target", "private", "--suite", suite(workdir, "2.0"), "--results-dir", str(results))
    wait_for_a_stepping_container(engine.client(), results, done=0)
    second = harness(workdir, "run", "--target", "private", "--job", "misbehave", "--set", "seconds=0.2",
                     "--results-dir", str(results))
    first.communicate(timeout=60)
    assert first.returncode == 0 and second.code == 0, second.out + second.err
    assert f"waiting for another harness run on {engine.url}" in second.out
    runs = sorted((load_run(p) for p in (results / "runs").iterdir()), key=lambda r: r.manifest["created"])
    assert runs[1].manifest["created"] >= runs[0].manifest["finished"]
    assert runs[1].results[0]["started"] >= runs[0].manifest["finished"]


@pytest.mark.parametrize("how", ["kill", "stop"])
def test_engine_killed_mid_job_then_restarted_and_resumed(workdir, engine, how):
    """kill: the engine crashes (SIGKILL); stop: it shuts down (SIGTERM), stopping its containers."""
    client = engine.client()
    results = workdir / "r"
    process = start(workdir, "run", "--target", "private", "--suite", suite(workdir, "0.2, 6.0, 0.3"),
                    "--results-dir", str(results))
    wait_for_a_stepping_container(client, results, done=1)
    engine.kill() if how == "kill" else engine.stop()
    killed = time.monotonic()
    out, err = process.communicate(timeout=120)
    assert time.monotonic() - killed < 30, "the harness waited too long on a dead engine"
    assert process.returncode == 1, out + err
    assert "Traceback" not in out + err and "Exception in thread" not in err, err
    run = load_run(only_run(results))
    statuses = [(r["status"], r["error"]) for r in run.results]
    assert statuses[0] == ("ok", None)
    assert statuses[1][0] == "failed" and f"lost contact with the Docker engine at {engine.url}" in statuses[1][1]
    assert statuses[2][0] == "failed" and f"the Docker engine at {engine.url} does not answer" in statuses[2][1]
    assert run.status == "complete" and run.results[1]["metrics"]["steps"] > 0  # steps seen before the loss

    engine.start()  # the same data root: the engine comes back with the dead job's container
    resumed = harness(workdir, "run", "--resume", run.run_id, "--results-dir", str(results))
    assert resumed.code == 0, resumed.out + resumed.err
    assert "2 of 3 job(s) to run" in resumed.out and "left by a killed harness" in resumed.out
    run = load_run(run.path)
    assert run.status == "complete" and [r["status"] for r in run.results] == ["ok", "ok", "ok"]
    cleaned = harness(workdir, "gc", "--target", "private")
    # the dead job's container; after a graceful stop sometimes also the next job's, created by the
    # engine as it shut down though the harness's request failed ("does not answer")
    assert cleaned.code == 0 and re.search(r"^[12] container\(s\) removed", cleaned.out, re.M), cleaned.out
    assert engine.client().containers.list(all=True, filters={"label": f"{LABEL_RUN}={run.run_id}"}) == []
    assert json.loads((run.path / "run.json").read_text())["resumed"][0]["previous_status"] == "complete"


def test_harness_killed_with_a_docker_target_then_resumed(workdir, engine):
    """SIGKILL leaves the job's container running (no parent-death signal crosses the engine):
    the next run on the engine removes it before its own jobs, so the two never overlap."""
    client = engine.client()
    results = workdir / "r"
    process = start(workdir, "run", "--target", "private", "--suite", suite(workdir, "0.2, 30.0, 0.3"),
                    "--results-dir", str(results))
    wait_for_a_stepping_container(client, results, done=1)
    process.kill()
    process.communicate(timeout=30)
    run = load_run(only_run(results))
    assert run.status == "incomplete" and [r["status"] for r in run.results] == ["ok"]
    mine = {"label": f"{LABEL_RUN}={run.run_id}"}
    assert [c.status for c in client.containers.list(all=True, filters=mine)] == ["running"]
    (workdir / "suite.toml").write_text("# the suite file is gone: --resume needs only run.json\n")
    resumed = harness(workdir, "run", "--resume", run.run_id, "--timeout", "1", "--results-dir", str(results))
    assert resumed.code == 1, resumed.out + resumed.err  # the 30 s job times out this time
    assert "removed 1 job container(s) that a killed harness left running" in resumed.out, resumed.out
    assert [r["status"] for r in load_run(run.path).results] == ["ok", "timeout", "ok"]
    assert client.containers.list(all=True, filters=mine) == []


def test_a_job_killed_for_memory_is_oom_and_the_run_goes_on(workdir, engine):
    (workdir / "suite.toml").write_text('[[jobs]]\njob = "misbehave"\nparams = { mode = "alloc", mb = 200 }\n'
                                        '[[jobs]]\njob = "misbehave"\nparams = { seconds = 0.2 }\n')
    done = harness(workdir, "run", "--target", "private-small", "--suite", "suite.toml", "--results-dir", "r")
    assert done.code == 1, done.out + done.err
    run = load_run(only_run(workdir / "r"))
    first, second = run.results
    assert first["status"] == "oom" and "memory limit (32m)" in first["error"], first
    assert second["status"] == "ok"
    assert engine.client().containers.list(all=True, filters={"label": f"{LABEL_RUN}={run.run_id}"}) == []


def test_a_frozen_engine_costs_bounded_time(workdir, engine):
    """SIGSTOP: the engine keeps its socket open and never answers (like an ssh link that drops
    silently). Every wait is bounded: the job by its timeout, each engine call by engine_timeout_s."""
    results = workdir / "r"
    process = start(workdir, "run", "--target", "private-impatient", "--suite", suite(workdir, "30.0, 0.2"),
                    "--timeout", "4", "--results-dir", str(results))
    wait_for_a_stepping_container(engine.client(), results, done=0)
    engine.process.send_signal(signal.SIGSTOP)
    frozen = time.monotonic()
    try:
        out, err = process.communicate(timeout=120)
        took = time.monotonic() - frozen
    finally:
        engine.process.send_signal(signal.SIGCONT)
    assert process.returncode == 1 and "Traceback" not in out + err, out + err
    assert took < 60, f"the harness took {took:.0f} s on a frozen engine"
    first, second = load_run(only_run(results)).results
    assert first["status"] == "timeout" and "4 s timeout" in first["error"], first
    assert first["metrics"]["steps"] > 0
    assert second["status"] == "failed" and "does not answer" in second["error"], second
