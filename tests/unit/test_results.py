import json
import os
import subprocess
import sys

import pytest

from harness import results
from harness.errors import UsageError
from harness.model import JobEntry, JobResult, RunManifest
from harness.results import ResultsWarning, RunWriter, find_run, iter_runs, load_run


def manifest(target="local", jobs=("a-1",)):
    return RunManifest(target={"name": target}, suite={"name": "s"}, jobs=[JobEntry(key=j, dir=j) for j in jobs])


def result(key="a-1", status="ok"):
    return JobResult(key=key, job="a", label="a", repeat=1, params={}, status=status, error=None, exit_code=0,
                     metrics={"samples_per_sec": 10.0})


def test_write_and_load_a_run(tmp_path):
    writer = RunWriter(tmp_path, manifest())
    writer.write_result("a-1", result())
    writer.finish("complete")
    run = load_run(writer.path)
    assert run.status == "complete" and run.results[0]["metrics"]["samples_per_sec"] == 10.0
    assert json.loads((writer.path / "run.json").read_text())["schema_version"] == results.SCHEMA_VERSION
    assert not list(writer.path.rglob("*.tmp")), "temp files must be renamed away"


def test_unknown_status_is_refused(tmp_path):
    writer = RunWriter(tmp_path, manifest())
    with pytest.raises(ValueError):
        writer.write_result("a-1", result(status="great"))


def test_run_of_a_dead_harness_reads_incomplete(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    writer = RunWriter(tmp_path, manifest())
    writer.model.pid = dead.pid
    writer.save()
    assert load_run(writer.path).status == "incomplete"
    assert RunWriter(tmp_path, manifest()).manifest["pid"] == os.getpid()


def test_newer_schema_and_corrupt_files_are_skipped_with_a_warning(tmp_path):
    good = RunWriter(tmp_path, manifest(jobs=("a-1", "b-1")))
    good.write_result("a-1", result())
    (good.path / "b-1" ).mkdir(exist_ok=True)
    (good.path / "b-1" / "result.json").write_text('{"schema_version": 1, "status": "ok", "trunc')
    good.finish("complete")
    future = RunWriter(tmp_path, manifest())
    future.model.schema_version = results.SCHEMA_VERSION + 1  # as a newer harness would write it
    future.save()
    with pytest.warns(ResultsWarning) as caught:
        runs = list(iter_runs(tmp_path))
    assert [r.run_id for r in runs] == [good.run_id]
    assert [r["key"] for r in runs[0].results] == ["a-1"]
    messages = " ".join(str(w.message) for w in caught)
    assert "b-1/result.json" in messages and "newer than this harness knows" in messages


def test_find_run_by_id_or_latest_complete_target(tmp_path):
    first = RunWriter(tmp_path, manifest(target="tx2"))
    first.finish("complete")
    RunWriter(tmp_path, manifest(target="tx2")).finish("interrupted")
    assert find_run(tmp_path, "tx2").run_id == first.run_id
    assert find_run(tmp_path, first.run_id).run_id == first.run_id
    with pytest.raises(UsageError, match="neither a run id nor a target"):
        find_run(tmp_path, "rtx2080")
    with pytest.raises(UsageError, match="neither a run id"):
        find_run(tmp_path, "../../etc")


def test_unwritable_results_dir_is_a_usage_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(UsageError, match="is not writable"):
        RunWriter(blocker / "results", manifest())
