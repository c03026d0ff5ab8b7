"""Errors at the top, with real `python -m harness` processes: Ctrl-C while every command is busy
is exit 130 and one line, never a traceback; an unexpected exception is one line and a hint to
rerun with --traceback; the machine's failures (a read-only results disk, an engine lost) are exit 3.

"Busy" is made deterministic without hooks: the command reads a file that is a FIFO no one writes
(a stalled disk: the read blocks until the test ends it, and the test knows the read began because
its own non-blocking open for writing succeeds only once the harness has the FIFO open), waits on
an engine socket that accepts and never answers, or runs a job (its process is seen)."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import pytest

from harness import cli as harness_cli

from ..conftest import mounted_tmpfs, wait_for

REPO = Path(__file__).resolve().parents[2]


def start(argv, cwd: Path) -> subprocess.Popen:
    home = cwd / "home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, "COLUMNS": "200", "HOME": str(home)}
    if (cwd / "mpl").is_dir():
        env["MPLCONFIGDIR"] = str(cwd / "mpl")
    return subprocess.Popen([sys.executable, "-m", "harness", *argv], cwd=cwd, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)


class Stalled:
    """A FIFO standing in for a file on a stalled disk."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path)
        self.path, self.fd = path, None

    def reader_is_in(self, process) -> bool:
        assert process.poll() is None, process.communicate()
        try:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)  # ENXIO until the harness opened it
        except OSError as error:
            if error.errno != errno.ENXIO:
                raise
            return False
        return True

    def close(self):
        if self.fd is not None:
            os.close(self.fd)


class SilentEngine:
    """A TCP port that accepts connections and never answers (an engine that hangs)."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"tcp://127.0.0.1:{self.server.getsockname()[1]}"
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            connection.recv(65536)  # the request arrived: the harness now waits for the answer
            self.connections.append(connection)

    def waited_on(self, process) -> bool:
        assert process.poll() is None, process.communicate()
        return bool(self.connections)

    def close(self):
        self.server.close()
        for connection in self.connections:
            connection.close()


def job_started(results: Path, text: str = ""):
    """True once a job of the run has written `text` (or anything) to its events.jsonl."""
    def check(process) -> bool:
        assert process.poll() is None, process.communicate()
        return any(text in path.read_text() for path in results.glob("runs/*/*/events.jsonl") if path.stat().st_size)
    return check


def stalled_run(tmp_path: Path) -> Stalled:
    return Stalled(tmp_path / "r" / "runs" / "20261203-000000-box-0000" / "run.json")


def case_list(tmp_path):
    stalled = stalled_run(tmp_path)
    return ["list", "runs", "--results-dir", "r"], stalled.reader_is_in, stalled.close


def case_report(tmp_path):
    stalled = stalled_run(tmp_path)
    return ["report", "20261203-000000-box-0000", "--results-dir", "r"], stalled.reader_is_in, stalled.close


def case_compare(tmp_path):
    stalled = stalled_run(tmp_path)
    return ["compare", "20261203-000000-box-0000", "other", "--results-dir", "r"], stalled.reader_is_in, stalled.close


def case_export(tmp_path):
    stalled = stalled_run(tmp_path)
    return ["export", "tensorboard", "20261203-000000-box-0000", "--results-dir", "r"], stalled.reader_is_in, stalled.close


def case_import(tmp_path):
    stalled = Stalled(tmp_path / "training.log")  # a log still being written
    return (["import", "keras-log", "training.log", "--target", "t", "--job", "mlp", "--results-dir", "r"],
            stalled.reader_is_in, stalled.close)


def case_prepare(tmp_path):
    stalled = Stalled(tmp_path / "offline.toml")
    return ["prepare", "--suite", "offline.toml", "--cache-dir", "cache"], stalled.reader_is_in, stalled.close


def case_build(tmp_path):
    stalled = Stalled(tmp_path / "harness.toml")  # build reads the targets first
    return ["build", "tx2", "--file", str(REPO / "docker-bake.hcl")], stalled.reader_is_in, stalled.close


def case_gc(tmp_path):
    engine = SilentEngine()
    (tmp_path / "harness.toml").write_text(f'[targets.box]\nrunner = "docker"\ndocker_host = "{engine.url}"\n')
    return ["gc", "--target", "box"], engine.waited_on, engine.close


def case_doctor(tmp_path):
    (tmp_path / "harness.toml").write_text("[targets.local]\nidle_baseline_s = 0\n")
    return ["doctor", "--target", "local", "--results-dir", "r"], job_started(tmp_path / "r"), lambda: None


def case_run(tmp_path):
    (tmp_path / "harness.toml").write_text("[targets.local]\nidle_baseline_s = 0\n")
    return (["run", "--job", "misbehave", "--set", "seconds=60", "--results-dir", "r"],
            job_started(tmp_path / "r", '"step"'), lambda: None)


def case_startup(tmp_path):
    """Ctrl-C while the harness's modules load: matplotlib reads its matplotlibrc on import."""
    stalled = Stalled(tmp_path / "mpl" / "matplotlibrc")
    return ["list", "targets"], stalled.reader_is_in, stalled.close


# the commands that stop and report it themselves print their line on stdout (what was kept)
OWN_LINE = {"run": "interrupted: the running job was stopped", "import": "interrupted: nothing was stored"}


@pytest.mark.parametrize("case", [case_list, case_report, case_compare, case_export, case_import, case_prepare,
                                  case_build, case_gc, case_doctor, case_run, case_startup], ids=lambda case: case.__name__[5:])
def test_ctrl_c_while_busy_is_exit_130_and_one_line(tmp_path, case):
    argv, busy, release = case(tmp_path)
    process = start(argv, tmp_path)
    try:
        wait_for(lambda: busy(process), timeout=60, what=f"harness {argv[0]} to be busy")
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        release()
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, out + err
    assert "Traceback" not in out + err, out + err
    if argv[0] in OWN_LINE:
        assert err == "" and out.splitlines()[-1].startswith(OWN_LINE[argv[0]]), out + err
    else:
        assert err == "harness: interrupted\n", out + err
    assert not list(tmp_path.glob("r/runs/*/*/result.json")) or argv[0] in ("run", "doctor")


def test_an_unexpected_exception_is_one_line_with_the_traceback_hint(cli, monkeypatch):
    def broken(results_dir):
        warnings.warn("a warning before the failure")
        raise RuntimeError("something the harness never expected\nover two lines")

    monkeypatch.setattr(harness_cli, "iter_runs", broken)
    result = cli("list", "runs")
    assert result.code == 4 and result.out == ""
    assert result.err.splitlines() == [
        "harness: warning: a warning before the failure",  # printed although the command failed
        "harness: unexpected error: RuntimeError: something the harness never expected over two lines "
        "(a harness bug; rerun with --traceback to see where, and report it)"]
    for argv in (["--traceback", "list", "runs"], ["list", "runs", "--traceback"]):
        shown = cli(*argv)
        assert shown.code == 4 and shown.err.startswith("Traceback (most recent call last):"), shown.err
        assert "in broken" in shown.err and "RuntimeError: something the harness never expected" in shown.err
        assert shown.err.splitlines()[-1].startswith("harness: unexpected error: RuntimeError")


def test_traceback_is_shown_for_a_bad_input_error_too_and_the_code_stays(cli):
    plain = cli("report", "nope")
    assert plain.code == 2 and plain.err.count("\n") == 1
    shown = cli("--traceback", "report", "nope")
    assert shown.code == 2 and "Traceback" in shown.err and "raise UsageError" in shown.err
    assert shown.err.splitlines()[-1] == plain.err.strip()


@pytest.fixture
def read_only_disk(tmp_path):
    """A read-only tmpfs (needs root and mount); unmounted afterwards."""
    with mounted_tmpfs(tmp_path / "ro", "size=1m,ro") as mount:
        yield mount


def test_a_read_only_results_disk_is_exit_3_and_a_file_in_the_path_exit_2(cli, tmp_path, read_only_disk):
    refused = cli("run", "--job", "misbehave", "--results-dir", str(read_only_disk / "r"))
    assert refused.code == 3, refused.out + refused.err
    assert refused.err == f"harness: error: results dir {read_only_disk / 'r'} is not writable: Read-only file system\n"
    (tmp_path / "file").write_text("a file, not a folder")
    wrong = cli("run", "--job", "misbehave", "--results-dir", str(tmp_path / "file" / "r"))
    assert wrong.code == 2 and "is not writable: Not a directory" in wrong.err
    shutil.copytree(REPO / "tests" / "data" / "reports", tmp_path / "stored")
    run_id = "20261126-071247-desk-411d"
    report = cli("report", run_id, "--results-dir", str(tmp_path / "stored"), "--out", str(read_only_disk / "out"))
    assert report.code == 3 and report.err == f"harness: error: cannot write to {read_only_disk / 'out'}: Read-only file system\n"
    wrong = cli("report", run_id, "--results-dir", str(tmp_path / "stored"), "--out", str(tmp_path / "file" / "out"))
    assert wrong.code == 2 and "cannot write to" in wrong.err and "Not a directory" in wrong.err


class LostEngine:
    """An engine that answers its version and ping, then drops the connection on the next request,
    as a Docker engine that stops mid-command does."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"tcp://127.0.0.1:{self.server.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                while True:
                    request = connection.recv(65536).decode(errors="replace")
                    if "/_ping" in request or "/version" in request:
                        body = b"OK" if "/_ping" in request else b'{"ApiVersion": "1.41", "Version": "24.0"}'
                        connection.sendall(b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: %d\r\n\r\n%s"
                                           % (len(body), body))
                    else:
                        break  # the engine is gone

    def close(self):
        self.server.close()


def test_gc_on_an_engine_lost_mid_command_is_one_line_and_exit_3(cli, tmp_path):
    engine = LostEngine()
    try:
        (tmp_path / "harness.toml").write_text(f'[targets.box]\nrunner = "docker"\ndocker_host = "{engine.url}"\n')
        result = cli("gc", "--target", "box")
    finally:
        engine.close()
    assert result.code == 3, result.out + result.err
    lines = result.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("harness: error: target 'box': the Docker engine failed after "
                                                   "0 container(s) removed: ConnectionError"), result.err


def test_gc_without_an_engine_is_one_line(cli, tmp_path):
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    (tmp_path / "harness.toml").write_text(f'[targets.box]\nrunner = "docker"\ndocker_host = "tcp://127.0.0.1:{port}"\n')
    result = cli("gc", "--target", "box")
    assert result.code == 2 and result.err.count("\n") == 1
    assert f"target 'box': no Docker engine answers at tcp://127.0.0.1:{port}" in result.err
