"""Shared helpers: run the CLI in-process (fast, for bad-input tests) or as a real process."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import signal

import psutil
import pytest
from hypothesis import settings

from harness.cli import main

# `make test` draws no random seeds: property tests replay the same examples on every run and keep
# no example database between runs (open-ended exploration is `make fuzz`).
settings.register_profile("replayable", derandomize=True, database=None)
settings.load_profile("replayable")

# A shell without job control starts background commands with SIGINT ignored, and children inherit
# that: the harness processes the Ctrl-C tests start would then never see their SIGINT (and hold the
# engine lock for the tests after them). A handler here is reset to the default in each child.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session", autouse=True)
def private_read_cache(tmp_path_factory):
    """Read commands cache steps under $XDG_CACHE_HOME/harness: keep the tests' own out of ~/.cache."""
    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if previous is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = previous

REPO = Path(__file__).resolve().parents[1]

# Markers by where a test lives (pyproject registers them; `make test-fast` deselects docker and slow):
# the files that need a Docker engine, and the ones whose tests train real models for minutes.
DOCKER_FILES = {"test_docker.py", "test_docker_faults.py", "test_docker_telemetry.py", "test_security.py",
                "test_emulated_arm64.py", "test_build_send.py", "test_ssh_errors.py", "test_dockerfile_pip9.py"}
SLOW_FILES = {"test_labs.py", "test_power_modes.py", "test_adaptive_repeats.py", "test_export_tensorboard.py",
              "test_export_mlflow.py"}
SLOW_TESTS = {"test_compare_two_targets", "test_timeout_stops_the_job_and_the_run_goes_on",
              "test_quickstart_end_to_end", "test_a_suites_repeat_is_the_default_and_run_repeat_overrides_it",
              "test_interrupt_records_the_job_and_skips_the_rest",
              "test_sigkill_then_resume_runs_only_what_is_missing_and_compares_whole"}


def pytest_collection_modifyitems(items):
    for item in items:
        path = Path(str(item.fspath))
        item.add_marker(pytest.mark.integration if path.parent.name == "integration" else pytest.mark.unit)
        if path.name in DOCKER_FILES:
            item.add_marker(pytest.mark.docker)
        if path.name in SLOW_FILES or item.originalname in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)


@contextlib.contextmanager
def mounted_tmpfs(mount: Path, options: str):
    """A real tmpfs at `mount` (a full or read-only disk for the fault tests), unmounted afterwards;
    the test is skipped where mounting needs a root this machine does not give."""
    mount.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def docker_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """The docker CLI, output captured (the image tests drive the engine as a user would)."""
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


def require_standin_base(tag: str) -> None:
    """Skip, saying what sets it up, unless a Docker engine answers and the stand-in base `tag` is built."""
    try:
        info = docker_cli("info", "--format", "{{.ServerVersion}}", timeout=30)
    except FileNotFoundError:
        pytest.skip("no docker CLI; scripts/setup-docker.sh installs the engine (CI runs it)")
    if info.returncode != 0:
        pytest.skip(f"no Docker engine answers ({info.stderr.strip()[:200]}); scripts/setup-docker.sh starts one")
    if docker_cli("image", "inspect", tag).returncode != 0:
        pytest.skip(f"stand-in base {tag} missing: run scripts/build-standin-bases.sh (CI runs it)")


class CliResult:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """Call harness.cli.main in-process from an empty working folder."""
    monkeypatch.chdir(tmp_path)

    def call(*argv: str) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), stdout=out, stderr=err)
        return CliResult(code, out.getvalue(), err.getvalue())

    return call


_STARTED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def no_harness_outlives_its_test():
    """A harness a failed test left running would hold the engine lock and stall every test after it."""
    yield
    while _STARTED:
        process = _STARTED.pop()
        if process.poll() is None:
            process.kill()
            process.communicate()


def harness_process(*argv: str, cwd: Path, **popen) -> subprocess.Popen:
    """`python -m harness ARGV` as a real process (for signals and end-to-end runs)."""
    process = subprocess.Popen([sys.executable, "-m", "harness", *argv], cwd=cwd, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "COLUMNS": "200"}, **popen)
    _STARTED.append(process)
    return process


def run_harness(*argv: str, cwd: Path, timeout: float = 300) -> CliResult:
    process = harness_process(*argv, cwd=cwd)
    out, err = process.communicate(timeout=timeout)
    return CliResult(process.returncode, out, err)


def only_run(results_dir: Path) -> Path:
    runs = sorted((results_dir / "runs").iterdir())
    assert len(runs) == 1, runs
    return runs[0]


def read_results(run_dir: Path) -> list[dict]:
    manifest = json.loads((run_dir / "run.json").read_text())
    results = []
    for job in manifest["jobs"]:
        path = run_dir / job["dir"] / "result.json"
        if path.exists():
            results.append(json.loads(path.read_text()))
    return results


def wait_for(predicate, timeout: float = 60.0, what: str = "condition") -> None:
    """Poll `predicate` until it is true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def job_processes(results: Path) -> list[psutil.Process]:
    """Job processes still alive that write into this results folder."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "harness_jobs" in cmdline and any(str(results) in part for part in cmdline):
            found.append(process)
    return found
