"""Fault injection with real processes and files: a harness killed mid-suite and resumed, jobs
that misbehave, a results disk that fills mid-run, corrupt and future-version results files.
Every job here is `misbehave` (no TensorFlow), so the whole file runs in well under a minute.
The Docker faults (an engine killed mid-job) are in test_docker_faults.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import lock
from harness.results import load_run

from ..conftest import CliResult, job_processes, mounted_tmpfs, only_run, read_results, wait_for

SUITE = '[[jobs]]\njob = "misbehave"\nsweep = { seconds = [%s] }\n'


@pytest.fixture
def home(tmp_path):
    """A HOME of its own, so the engine lock is this test's, not a concurrent harness's."""
    path = tmp_path / "home"
    path.mkdir()
    return path


def start(*argv: str, cwd: Path, home: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "harness", *argv], cwd=cwd, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "COLUMNS": "200", "HOME": str(home)})


def harness(*argv: str, cwd: Path, home: Path, timeout: float = 120) -> CliResult:
    process = start(*argv, cwd=cwd, home=home)
    out, err = process.communicate(timeout=timeout)
    return CliResult(process.returncode, out, err)




def a_running_job_stepped(results: Path) -> bool:
    """A job without a result yet has written a step event."""
    return any('"step"' in p.read_text() for p in results.glob("runs/*/*/events.jsonl")
               if not (p.parent / "result.json").exists())


def no_traceback(result: CliResult) -> None:
    assert "Traceback" not in result.out + result.err, result.out + result.err


# -- SIGKILL, then list, compare and --resume ----------------------------------------------------

def test_sigkill_then_resume_runs_only_what_is_missing_and_compares_whole(tmp_path, home):
    (tmp_path / "harness.toml").write_text('[targets.other]\nrunner = "local"\n')
    (tmp_path / "suite.toml").write_text(SUITE % "0.3, 4.0, 0.4, 0.5")
    results = tmp_path / "reports"
    process = start("run", "--suite", "suite.toml", "--results-dir", str(results), cwd=tmp_path, home=home)
    wait_for(lambda: list(results.glob("runs/*/*/result.json")), what="the first job's result")
    wait_for(lambda: a_running_job_stepped(results), what="the second job's first steps")
    process.kill()
    process.communicate(timeout=30)
    wait_for(lambda: not job_processes(results), timeout=15, what="the orphaned job to die with its harness")

    run = load_run(only_run(results))
    assert run.status == "incomplete" and [r["status"] for r in run.results] == ["ok"]
    first = dict(run.results[0])
    listed = harness("list", "runs", "--results-dir", str(results), cwd=tmp_path, home=home)
    assert "incomplete" in listed.out and "1/4" in listed.out
    refused = harness("compare", "local", "other", "--results-dir", str(results), cwd=tmp_path, home=home)
    assert refused.code == 2 and "has no complete run" in refused.err

    # the killed job's half-written folder is replaced by the resumed attempt
    manifest_path = run.path / "run.json"
    assert (run.path / run.manifest["jobs"][1]["dir"] / "events.jsonl").exists()
    resumed = harness("run", "--resume", run.run_id, "--timeout", "1", "--results-dir", str(results),
                      cwd=tmp_path, home=home)
    assert resumed.code == 1, resumed.out + resumed.err  # the 4 s job now times out: not ok, but stored
    assert "resuming run " + run.run_id + ": 3 of 4 job(s) to run" in resumed.out
    run = load_run(run.path)
    assert run.status == "complete" and [r["status"] for r in run.results] == ["ok", "timeout", "ok", "ok"]
    assert run.results[0]["finished"] == first["finished"]  # the ok job was kept, not re-run
    manifest = json.loads(manifest_path.read_text())
    assert [entry["previous_status"] for entry in manifest["resumed"]] == ["running"]

    # a second resume re-runs only the job that is still not ok
    again = harness("run", "--resume", run.run_id, "--timeout", "60", "--results-dir", str(results),
                    cwd=tmp_path, home=home, timeout=120)
    assert again.code == 0 and "1 of 4 job(s) to run" in again.out, again.out + again.err
    assert {r["status"] for r in load_run(run.path).results} == {"ok"}
    done = harness("run", "--resume", run.run_id, "--results-dir", str(results), cwd=tmp_path, home=home)
    assert done.code == 0 and "nothing to resume" in done.out

    other = harness("run", "--target", "other", "--suite", "suite.toml", "--results-dir", str(results),
                    cwd=tmp_path, home=home)
    assert other.code == 0, other.out + other.err
    listed = harness("list", "runs", "--results-dir", str(results), cwd=tmp_path, home=home)
    assert "4/4" in listed.out and "incomplete" not in listed.out
    compared = harness("compare", "local", "other", "--results-dir", str(results), cwd=tmp_path, home=home)
    assert compared.code == 0, compared.out + compared.err
    summary = json.loads((results / "compare" / "local_vs_other" / "summary.json").read_text())
    assert summary["sides"] == ["local", "other"] and len(summary["rows"]) == 8  # 4 jobs aligned, each side
    assert "only in" not in compared.out


# -- refusals: one line, exit 2 ---------------------------------------------------------------

@pytest.fixture
def stored_run(cli, tmp_path, monkeypatch):
    """One small complete run, made in-process; returns its folder."""
    monkeypatch.setattr(lock, "LOCK_DIR", tmp_path / "locks")
    (tmp_path / "harness.toml").write_text('[targets.spare]\nrunner = "local"\n')
    (tmp_path / "suite.toml").write_text(SUITE % "0.1, 0.2")
    done = cli("run", "--target", "spare", "--suite", "suite.toml", "--results-dir", "r")
    assert done.code == 0, done.out + done.err
    return only_run(tmp_path / "r")


def edit_manifest(run_dir: Path, **changes) -> None:
    manifest = json.loads((run_dir / "run.json").read_text())
    manifest.update(changes)
    (run_dir / "run.json").write_text(json.dumps(manifest))


def refused(result: CliResult, text: str) -> None:
    assert result.code == 2, result.out + result.err
    assert result.err.count("\n") == 1 and text in result.err, result.err
    no_traceback(result)


def test_resume_refuses_what_it_cannot_complete_safely(cli, stored_run, tmp_path):
    run_id = stored_run.name
    refused(cli("run", "--resume", "20990101-000000-nope-0000", "--results-dir", "r"), "no such run")
    refused(cli("run", "--resume", "../r", "--results-dir", "r"), "no such run")
    refused(cli("run", "--resume", run_id, "--suite", "quickstart", "--results-dir", "r"), "drop --suite")
    done = cli("run", "--resume", run_id, "--results-dir", "r")
    assert done.code == 0 and "nothing to resume" in done.out

    edit_manifest(stored_run, status="running", pid=os.getpid())
    refused(cli("run", "--resume", run_id, "--results-dir", "r"), f"still running (harness pid {os.getpid()})")

    edit_manifest(stored_run, status="interrupted", schema_version=99)
    refused(cli("run", "--resume", run_id, "--results-dir", "r"), "schema_version 99 is newer")

    edit_manifest(stored_run, schema_version=1)
    (tmp_path / "harness.toml").write_text("")
    refused(cli("run", "--resume", run_id, "--results-dir", "r"), "its target 'spare' is no longer configured")

    (tmp_path / "harness.toml").write_text('[targets.spare]\nrunner = "local"\n')
    manifest = json.loads((stored_run / "run.json").read_text())
    manifest["jobs"][1]["params"]["seconds"] = 9.0  # the stored parameters no longer give the job's key
    (stored_run / "run.json").write_text(json.dumps(manifest))
    refused(cli("run", "--resume", run_id, "--results-dir", "r"), "parameters changed since the run")

    manifest["jobs"][1]["params"] = {"no_such_param": 1}
    (stored_run / "run.json").write_text(json.dumps(manifest))
    refused(cli("run", "--resume", run_id, "--results-dir", "r"), "no longer takes its parameters")


def test_resume_reruns_interrupted_and_harness_skipped_jobs_only(cli, stored_run):
    """A job skipped by the harness (the run was interrupted) is re-run; an ok one is kept."""
    first, second = sorted(stored_run.glob("*/result.json"), key=lambda p: json.loads(p.read_text())["started"])
    kept = first.read_text()
    result = json.loads(second.read_text())
    result.update(status="skipped", started=None, error="the run was interrupted before this job started")
    second.write_text(json.dumps(result))
    edit_manifest(stored_run, status="interrupted")
    done = cli("run", "--resume", stored_run.name, "--results-dir", "r")
    assert done.code == 0 and "1 of 2 job(s) to run" in done.out, done.out + done.err
    assert first.read_text() == kept
    run = load_run(stored_run)
    assert run.status == "complete" and [r["status"] for r in run.results] == ["ok", "ok"]


# -- misbehaving jobs ----------------------------------------------------------------------------

def test_misbehaving_jobs_each_end_with_their_status_and_the_run_goes_on(tmp_path, home):
    (tmp_path / "suite.toml").write_text('[[jobs]]\njob = "misbehave"\n'
                                         'sweep = { mode = ["garbage", "bad_events", "huge_line", "crash", "hang", "ok"] }\n')
    results = tmp_path / "r"
    done = harness("run", "--suite", "suite.toml", "--timeout", "4", "--results-dir", str(results),
                   cwd=tmp_path, home=home)
    assert done.code == 1, done.out + done.err
    no_traceback(done)
    by_mode = {r["params"]["mode"]: r for r in read_results(only_run(results))}
    assert {mode: r["status"] for mode, r in by_mode.items()} == {
        "garbage": "ok", "bad_events": "ok", "huge_line": "ok", "crash": "failed", "hang": "timeout", "ok": "ok"}
    assert by_mode["bad_events"]["notes"] == ["6 malformed event lines ignored (see stdout.log)"]
    assert by_mode["huge_line"]["notes"] == ["1 malformed event lines ignored (see stdout.log)"]
    assert by_mode["crash"]["error"].startswith("job exited with code 7 without an end event")
    assert by_mode["hang"]["error"] == "job exceeded the 4 s timeout and was stopped"
    run_dir = only_run(results)
    garbage_dir = run_dir / by_mode["garbage"]["key"]
    assert (garbage_dir.with_name(garbage_dir.name + "-r1") / "stdout.log").stat().st_size > 10000
    assert not job_processes(results)


def test_a_job_ignoring_sigterm_is_killed_after_the_grace_and_the_run_goes_on(tmp_path, home):
    """A job stuck where signals do not reach (here: ignored) costs its timeout plus the 10 s grace."""
    (tmp_path / "suite.toml").write_text('[[jobs]]\njob = "misbehave"\nsweep = { mode = ["stubborn", "ok"] }\n')
    results = tmp_path / "r"
    started = time.monotonic()
    done = harness("run", "--suite", "suite.toml", "--timeout", "2", "--results-dir", str(results),
                   cwd=tmp_path, home=home)
    assert done.code == 1 and time.monotonic() - started < 40, done.out + done.err
    stubborn, ok = read_results(only_run(results))
    assert stubborn["status"] == "timeout" and stubborn["exit_code"] == -signal.SIGKILL
    assert ok["status"] == "ok" and not job_processes(results)


# -- the results disk fills mid-run -----------------------------------------------------------------

@pytest.fixture
def tiny_disk(tmp_path):
    """A 2 MB tmpfs (needs root and mount); unmounted afterwards."""
    with mounted_tmpfs(tmp_path / "tiny", "size=2m") as mount:
        yield mount


def test_results_disk_full_mid_run_stops_cleanly_and_resume_completes(tmp_path, home, tiny_disk):
    (tmp_path / "suite.toml").write_text(SUITE % "0.2, 3.0, 0.3")
    results = tiny_disk / "r"
    process = start("run", "--suite", "suite.toml", "--results-dir", str(results), cwd=tmp_path, home=home)
    wait_for(lambda: list(results.glob("runs/*/*/result.json")), what="the first job's result")
    with open(tiny_disk / "filler", "wb") as filler:  # fill the disk while the second job runs
        try:
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
        except OSError:
            pass
    out, err = process.communicate(timeout=60)
    assert process.returncode == 3, out + err  # the machine's failure (docs/errors.md), not bad input
    assert "No space left on device" in err and "harness run --resume" in err and err.count("\n") == 1, err
    assert "Traceback" not in out + err and "Exception in thread" not in err
    run_dir = only_run(results)
    assert not list(tiny_disk.rglob("*.tmp"))  # no half-written temp file
    for path in run_dir.rglob("*.json"):  # every JSON file there is whole
        json.loads(path.read_text())
    run = load_run(run_dir)
    assert run.status == "incomplete" and [r["status"] for r in run.results] == ["ok"]

    (tiny_disk / "filler").unlink()
    resumed = harness("run", "--resume", run.run_id, "--results-dir", str(results), cwd=tmp_path, home=home)
    assert resumed.code == 0, resumed.out + resumed.err
    run = load_run(run_dir)
    assert run.status == "complete" and [r["status"] for r in run.results] == ["ok", "ok", "ok"]


# -- corrupt and future-version results files, through the CLI --------------------------------------

def test_cli_skips_corrupt_and_future_results_with_a_warning_naming_the_file(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(lock, "LOCK_DIR", tmp_path / "locks")
    (tmp_path / "harness.toml").write_text('[targets.other]\nrunner = "local"\n')
    (tmp_path / "suite.toml").write_text(SUITE % "0.1, 0.2")
    for target in ("local", "other"):
        done = cli("run", "--target", target, "--suite", "suite.toml", "--results-dir", "r")
        assert done.code == 0, done.out + done.err
    runs = tmp_path / "r" / "runs"
    good = sorted(runs.iterdir())
    truncated, future, corrupt_result = runs / "20000101-000000-local-dead", runs / "20000101-000001-local-beef", good[0]
    truncated.mkdir()
    (truncated / "run.json").write_text('{"schema_version": 1, "run_id": "20000101-000000-local-dead", "targ')
    future.mkdir()
    manifest = json.loads((good[0] / "run.json").read_text())
    (future / "run.json").write_text(json.dumps({**manifest, "schema_version": 99, "run_id": future.name}))
    bad_result = corrupt_result / manifest["jobs"][1]["dir"] / "result.json"
    bad_result.write_bytes(bad_result.read_bytes()[:100])
    newer_result = good[1] / manifest["jobs"][0]["dir"] / "result.json"
    newer_result.write_text(json.dumps({**json.loads(newer_result.read_text()), "schema_version": 3}))

    listed = cli("list", "runs", "--results-dir", "r")
    assert listed.code == 0 and good[1].name in listed.out
    for path in (truncated / "run.json", future / "run.json", bad_result, newer_result):
        assert f"skipping {path.relative_to(tmp_path)}" in listed.err or f"skipping {path}" in listed.err, listed.err
    assert "schema_version 99 is newer" in listed.err and "schema_version 3 is newer" in listed.err
    no_traceback(listed)

    compared = cli("compare", "local", "other", "--results-dir", "r")
    assert compared.code == 0 and "skipping" in compared.err, compared.out + compared.err
    assert "only in local: misbehave seconds=0.1" in compared.out  # other's newer result was skipped
    no_traceback(compared)
    reported = cli("report", good[0].name, "--results-dir", "r")
    assert reported.code == 0 and str(bad_result.relative_to(tmp_path)) in reported.err, reported.out + reported.err
    no_traceback(reported)
    refused(cli("report", future.name, "--results-dir", "r"), "schema_version 99 is newer")
    refused(cli("report", truncated.name, "--results-dir", "r"), f"cannot read run {truncated.name}")


def test_sigterm_then_resume(tmp_path, home):
    """SIGTERM: exit 143, the job `interrupted`, the rest skipped; --resume re-runs exactly those."""
    (tmp_path / "suite.toml").write_text(SUITE % "0.2, 30.0, 0.3")
    results = tmp_path / "r"
    process = start("run", "--suite", "suite.toml", "--results-dir", str(results), cwd=tmp_path, home=home)
    wait_for(lambda: list(results.glob("runs/*/*/result.json")), what="the first job's result")
    wait_for(lambda: a_running_job_stepped(results), what="the second job's first steps")
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 143, out + err
    run = load_run(only_run(results))
    assert run.status == "interrupted" and [r["status"] for r in run.results] == ["ok", "interrupted", "skipped"]
    assert not job_processes(results)
    resumed = harness("run", "--resume", run.run_id, "--timeout", "3", "--results-dir", str(results),
                      cwd=tmp_path, home=home)
    assert "2 of 3 job(s) to run" in resumed.out, resumed.out + resumed.err
    assert [r["status"] for r in load_run(run.path).results] == ["ok", "timeout", "ok"]
