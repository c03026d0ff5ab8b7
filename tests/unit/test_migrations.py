"""Schema migrations on the stored schema-1 runs of tests/data/v1 (what a schema-1 harness wrote):
they read as schema 2, a params-less manifest gets each job's parameters from its result.json (so
--resume can re-run it), a read never rewrites a file, and a schema newer than known is refused."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest

from harness import config, migrations
from harness.errors import UsageError
from harness.migrations import migrate, migrate_1_to_2
from harness.model import SCHEMA_VERSION
from harness.results import RESULT_FILE, RUN_FILE, ResultsWarning, RunWriter, find_run, iter_runs, load_run, \
    read_manifest
from harness.resume import resumable

V1 = Path(__file__).resolve().parents[1] / "data" / "v1" / "runs"
WITH_PARAMS, WITHOUT_PARAMS, IMPORTED = "20261203-120223-legacy-5cdb", "20261203-120224-legacy-a0a0", "20261203-120249-tx2-cd8c"
OK_DIR, CRASH_DIR = "misbehave-06bb9357-r1", "misbehave-ba4b60ac-r1"


@pytest.fixture
def results_dir(tmp_path):
    """A results folder holding copies of the schema-1 runs."""
    shutil.copytree(V1, tmp_path / "results" / "runs")
    return tmp_path / "results"


@pytest.fixture
def targets(tmp_path):
    (tmp_path / "harness.toml").write_text('[targets.legacy]\nrunner = "local"\nnotes = "v1 fixture"\n')
    return config.load_targets(config.load_config(tmp_path / "harness.toml"))


def stored(run: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(run)): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(run.rglob("*"))
            if p.is_file()}


def test_one_step_per_schema_version_in_order():
    assert len(migrations.STEPS) == SCHEMA_VERSION - 1
    assert [step.__name__ for step in migrations.STEPS] == [f"migrate_{n}_to_{n + 1}" for n in range(1, SCHEMA_VERSION)]


def test_the_fixtures_are_schema_1_and_one_lacks_the_parameters():
    for run in (WITH_PARAMS, WITHOUT_PARAMS, IMPORTED):
        files = [V1 / run / RUN_FILE, *(V1 / run).glob(f"*/{RESULT_FILE}")]
        assert len(files) >= 2 and {json.loads(p.read_text())["schema_version"] for p in files} == {1}
    assert all("params" in entry for entry in json.loads((V1 / WITH_PARAMS / RUN_FILE).read_text())["jobs"])
    for run in (WITHOUT_PARAMS, IMPORTED):
        assert not any("params" in entry for entry in json.loads((V1 / run / RUN_FILE).read_text())["jobs"])


@pytest.mark.parametrize("run", [WITH_PARAMS, WITHOUT_PARAMS, IMPORTED])
def test_a_v1_manifest_reads_as_v2_with_every_jobs_parameters(run):
    manifest = read_manifest(V1 / run)
    assert manifest.schema_version == 2 and manifest.run_id == run
    for entry in manifest.jobs:
        result = json.loads((V1 / run / entry.dir / RESULT_FILE).read_text())
        assert entry.params == result["params"] and entry.params


def test_the_params_less_manifest_migrates_to_what_the_full_one_stored():
    full, bare = read_manifest(V1 / WITH_PARAMS), read_manifest(V1 / WITHOUT_PARAMS)
    assert [entry.params for entry in bare.jobs] == [entry.params for entry in full.jobs]
    assert [entry.params["mode"] for entry in bare.jobs] == ["ok", "crash"]
    assert bare.jobs[0].varied is None and full.jobs[0].varied == {"mode": "ok"}  # varied was never in results


def test_migrate_1_to_2_copies_and_leaves_results_as_they_were(tmp_path):
    manifest = json.loads((V1 / WITHOUT_PARAMS / RUN_FILE).read_text())
    before = json.dumps(manifest, sort_keys=True)
    after = migrate_1_to_2(RUN_FILE, manifest, V1 / WITHOUT_PARAMS)
    assert json.dumps(manifest, sort_keys=True) == before, "the input dict is not changed"
    assert after["schema_version"] == 2 and all(entry["params"] for entry in after["jobs"])
    result = json.loads((V1 / WITHOUT_PARAMS / OK_DIR / RESULT_FILE).read_text())
    assert migrate(RESULT_FILE, result, V1 / WITHOUT_PARAMS) == {**result, "schema_version": 2}


def test_params_come_only_from_a_readable_result_inside_the_run(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / RESULT_FILE).write_text(json.dumps({"schema_version": 1, "params": {"stolen": True}}))
    run = tmp_path / "runs" / "r"
    (run / "corrupt").mkdir(parents=True)
    (run / "corrupt" / RESULT_FILE).write_text('{"schema_version": 1, "params": {"a"')
    (run / "newer").mkdir()
    (run / "newer" / RESULT_FILE).write_text(json.dumps({"schema_version": 3, "params": {"a": 1}}))
    jobs = [{"dir": "../../outside"}, {"dir": "corrupt"}, {"dir": "newer"}, {"dir": "missing"}, {"dir": 5}]
    after = migrate(RUN_FILE, {"schema_version": 1, "jobs": jobs}, run)
    assert after["jobs"] == jobs


def test_resume_reads_the_parameters_of_a_v1_run(results_dir, targets):
    for run_id in (WITH_PARAMS, WITHOUT_PARAMS):
        resume = resumable(results_dir, run_id, targets)
        assert [(spec.job, spec.params["mode"], spec.dir_name) for spec in resume.plan] == [
            ("misbehave", "ok", OK_DIR), ("misbehave", "crash", CRASH_DIR)]
        assert [spec.dir_name for spec in resume.todo] == [CRASH_DIR]  # the crashed job runs again
        assert resume.run_id == run_id and resume.suite.source == "suite.toml"


def test_resume_refuses_a_v1_job_whose_parameters_are_nowhere(results_dir, targets):
    (results_dir / "runs" / WITHOUT_PARAMS / CRASH_DIR / RESULT_FILE).unlink()
    with pytest.raises(UsageError, match=f"the parameters of job {CRASH_DIR} were not stored"):
        resumable(results_dir, WITHOUT_PARAMS, targets)


def test_reading_never_rewrites_a_v1_file(results_dir, targets):
    before = {run.name: stored(run) for run in (results_dir / "runs").iterdir()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is skipped either
        runs = list(iter_runs(results_dir))
    assert {run.run_id for run in runs} == set(before)
    assert all(run.manifest["schema_version"] == 2 for run in runs)
    assert find_run(results_dir, "legacy").run_id == WITHOUT_PARAMS  # the latest complete run of the target
    load_run(results_dir / "runs" / IMPORTED)
    for run_id in (WITH_PARAMS, WITHOUT_PARAMS):
        resumable(results_dir, run_id, targets)
    assert {run.name: stored(run) for run in (results_dir / "runs").iterdir()} == before


def test_a_resume_takes_a_v1_run_over_at_v2(results_dir):
    """Writing is another matter: the run a resume reopens is saved at the current schema, with its
    parameters; the results it keeps stay as they were written."""
    run = results_dir / "runs" / WITHOUT_PARAMS
    kept = (run / OK_DIR / RESULT_FILE).read_bytes()
    RunWriter.reopen(run, {"harness_version": "test"})
    manifest = json.loads((run / RUN_FILE).read_text())
    assert manifest["schema_version"] == 2 and manifest["status"] == "running"
    assert [entry["params"]["mode"] for entry in manifest["jobs"]] == ["ok", "crash"]
    assert manifest["resumed"][0]["previous_status"] == "complete"
    assert (run / OK_DIR / RESULT_FILE).read_bytes() == kept


def test_a_schema_newer_than_known_is_refused(results_dir, targets):
    run = results_dir / "runs" / WITH_PARAMS
    manifest = json.loads((run / RUN_FILE).read_text())
    (run / RUN_FILE).write_text(json.dumps({**manifest, "schema_version": 3}))
    newer = "schema_version 3 is newer than this harness knows (2); upgrade the harness"
    with pytest.raises(ValueError, match=newer.replace("(", r"\(").replace(")", r"\)")):
        load_run(run)
    with pytest.raises(UsageError, match=f"cannot resume run {WITH_PARAMS}: .*schema_version 3 is newer"):
        resumable(results_dir, WITH_PARAMS, targets)
    with pytest.warns(ResultsWarning, match=f"skipping {run / RUN_FILE}: schema_version 3 is newer"):
        assert WITH_PARAMS not in {r.run_id for r in iter_runs(results_dir)}

    result = results_dir / "runs" / WITHOUT_PARAMS / CRASH_DIR / RESULT_FILE
    result.write_text(json.dumps({**json.loads(result.read_text()), "schema_version": 3}))
    with pytest.warns(ResultsWarning, match=f"skipping {result}: schema_version 3 is newer"):
        loaded = load_run(result.parent.parent)
    assert [r["dir"] for r in loaded.results] == [OK_DIR]
