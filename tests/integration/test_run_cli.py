"""`harness run` end to end as a real process: the quickstart, signals, timeouts, compare."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pandas as pd
import pytest

from harness.frames import results_frame, steps_frame, telemetry_frame
from harness.results import load_run

from ..conftest import harness_process, job_processes, only_run, read_results, run_harness, wait_for



def first_step_seen(results: Path) -> bool:
    return any("\"step\"" in p.read_text() for p in results.glob("runs/*/*/events.jsonl"))



def test_quickstart_end_to_end(tmp_path):
    results = tmp_path / "reports"
    done = run_harness("run", "--target", "local", "--suite", "quickstart", "--results-dir", str(results), cwd=tmp_path)
    assert done.code == 0, done.out + done.err
    run_dir = only_run(results)
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "complete" and manifest["target"]["name"] == "local"
    assert manifest["host"]["cpu_cores"] >= 1 and "environ" not in json.dumps(manifest)
    stored = read_results(run_dir)
    assert len(stored) == 4 and {r["status"] for r in stored} == {"ok"}
    for result in stored:
        metrics = result["metrics"]
        assert metrics["final_val_accuracy"] > 0.9, result["label"]
        assert metrics["trainable_params"] == 101770
        assert metrics["samples_per_sec"] > 0 and len(metrics["epoch_seconds"]) == 5
        assert metrics["first_epoch_seconds"] == metrics["epoch_seconds"][0]
        assert metrics["peak_rss_mb"] > 50
        job_dir = run_dir / next(j["dir"] for j in manifest["jobs"] if j["key"] == result["key"])
        assert (job_dir / "events.jsonl").stat().st_size > 0
        telemetry = pd.read_csv(job_dir / "telemetry.csv")
        assert set(telemetry.metric) >= {"cpu_percent", "rss_mb", "system_used_mb"}
    assert "4 job(s) on target local" in done.out and "val_acc" in done.out

    report = run_harness("report", run_dir.name, "--results-dir", str(results), cwd=tmp_path)
    assert report.code == 0, report.err
    assert "| mnist_mlp l2=0.0 dropout=0.2 | ok |" in (run_dir / "report.md").read_text()
    assert len(pd.read_csv(run_dir / "report.csv")) == 4

    listed = run_harness("list", "runs", "--results-dir", str(results), cwd=tmp_path)
    assert run_dir.name in listed.out and "complete" in listed.out and "4/4" in listed.out

    jobs = results_frame(results)
    assert len(jobs) == 4 and (jobs.status == "ok").all()
    steps = steps_frame(results, run_dir.name)
    assert len(steps) == 4 * 5 * 45 and steps.groupby("key").size().nunique() == 1
    assert set(telemetry_frame(results, run_dir.name).source) == {"psutil"}


def test_sigkill_half_way_keeps_finished_jobs(tmp_path):
    results = tmp_path / "reports"
    process = harness_process("run", "--suite", "quickstart", "--set", "epochs=3", "--results-dir", str(results),
                              cwd=tmp_path)
    wait_for(lambda: list(results.glob("runs/*/*/result.json")), timeout=120, what="the first job's result")
    wait_for(lambda: job_processes(results), timeout=30, what="the second job to start")
    process.kill()
    process.communicate(timeout=30)
    wait_for(lambda: not job_processes(results), timeout=15, what="the orphaned job to die with its harness")

    run = load_run(only_run(results))
    assert run.status == "incomplete"
    assert 1 <= len(run.results) < 4 and all(r["status"] == "ok" for r in run.results)
    listed = run_harness("list", "runs", "--results-dir", str(results), cwd=tmp_path)
    assert "incomplete" in listed.out
    refused = run_harness("compare", "local", run.run_id, "--results-dir", str(results), cwd=tmp_path)
    assert refused.code == 2 and "has no complete run" in refused.err


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_records_the_job_and_skips_the_rest(tmp_path, sig, code):
    results = tmp_path / "reports"
    process = harness_process("run", "--suite", "quickstart", "--set", "epochs=500", "--results-dir", str(results),
                              cwd=tmp_path)
    wait_for(lambda: first_step_seen(results), timeout=120, what="the first training step")
    process.send_signal(sig)
    out, err = process.communicate(timeout=60)
    assert process.returncode == code, out + err
    run = load_run(only_run(results))
    assert run.status == "interrupted"
    statuses = [r["status"] for r in run.results]
    assert statuses == ["interrupted", "skipped", "skipped", "skipped"]
    assert "interrupted" in run.results[0]["error"] and not job_processes(results)
    assert run.results[0]["metrics"]["steps"] > 0


def test_timeout_stops_the_job_and_the_run_goes_on(tmp_path):
    suite = tmp_path / "two.toml"
    suite.write_text('[[jobs]]\njob = "mnist_mlp"\nsweep = { epochs = [1000, 1] }\n')
    results = tmp_path / "reports"
    done = run_harness("run", "--suite", str(suite), "--timeout", "25", "--results-dir", str(results), cwd=tmp_path)
    assert done.code == 1, done.out + done.err
    by_epochs = {r["params"]["epochs"]: r for r in read_results(only_run(results))}
    assert by_epochs[1000]["status"] == "timeout" and "25 s timeout" in by_epochs[1000]["error"]
    assert by_epochs[1]["status"] == "ok"


def test_compare_two_targets(tmp_path):
    (tmp_path / "harness.toml").write_text('[targets.other]\nrunner = "local"\nnotes = "the same machine, renamed"\n')
    suite = tmp_path / "small.toml"
    suite.write_text('[[jobs]]\njob = "mnist_mlp"\nparams = { epochs = 2 }\nsweep = { dropout = [0.2, 0.5] }\n')
    results = tmp_path / "reports"
    for target, extra in (("local", []), ("other", ["--set", "dropout=0.2"])):
        done = run_harness("run", "--target", target, "--suite", str(suite), *extra, "--results-dir", str(results),
                           cwd=tmp_path)
        assert done.code == 0, done.out + done.err
    compared = run_harness("compare", "local", "other", "--results-dir", str(results), cwd=tmp_path)
    assert compared.code == 0, compared.err
    assert "only in local: mnist_mlp dropout=0.5" in compared.out
    out = results / "compare" / "local_vs_other"
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.side) == ["local", "other"]
    assert summary.throughput_ratio[0] == 1.0 and summary.throughput_ratio[1] > 0
    assert {"steady_epoch_ratio", "total_time_ratio", "first_epoch_seconds", "final_val_accuracy"} <= set(summary)
    data = json.loads((out / "summary.json").read_text())
    assert data["sides"] == ["local", "other"] and len(data["rows"]) == 2


def test_a_second_run_on_the_same_engine_waits_for_the_first(tmp_path):
    (tmp_path / "harness.toml").write_text('[targets.other]\nrunner = "local"\n')
    results = tmp_path / "reports"
    first = harness_process("run", "--suite", "quickstart", "--set", "epochs=3", "--set", "l2=0",
                            "--results-dir", str(results), cwd=tmp_path)
    wait_for(lambda: first_step_seen(results), timeout=120, what="the first run's first step")
    second = run_harness("run", "--target", "local", "--target", "other", "--job", "selftest",
                         "--results-dir", str(results), cwd=tmp_path)
    first.communicate(timeout=120)
    assert first.returncode == 0 and second.code == 0, second.out + second.err
    assert "waiting for another harness run on local:" in second.out
    runs = sorted((load_run(p) for p in (results / "runs").iterdir()), key=lambda r: r.manifest["created"])
    assert [r.target for r in runs][0] == "local" and {r.target for r in runs[1:]} == {"local", "other"}
    for later in runs[1:]:  # the lock: no job of a later run started before the first run ended
        assert later.manifest["created"] >= runs[0].manifest["finished"]


def test_doctor_checks_the_default_local_target_and_exits_0(tmp_path):
    """It used to read docker-only facts and die with a KeyError on a local target."""
    result = run_harness("doctor", "--results-dir", str(tmp_path / "r"), cwd=tmp_path)
    assert result.code == 0, result.err
    assert "device: cpu" in result.out and "selftest ok" in result.out and "Traceback" not in result.err


def test_a_suites_repeat_is_the_default_and_run_repeat_overrides_it(tmp_path):
    (tmp_path / "s.toml").write_text('repeat = 2\n[[jobs]]\njob = "selftest"\nparams = { size = 64 }\n')
    result = run_harness("run", "--suite", "s.toml", "--results-dir", str(tmp_path / "r"), cwd=tmp_path)
    assert result.code == 0, result.err
    assert sorted(r["repeat"] for r in read_results(only_run(tmp_path / "r"))) == [1, 2]
