"""The typed model of run.json and result.json: every stored run in tests/data reads into it and
comes back unchanged, the fields have the types their annotations say, and what the writers
write now is byte for byte what the model gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.migrations import migrate
from harness.model import SCHEMA_VERSION, JobEntry, JobResult, JobStatus, RunManifest
from harness.results import RESULT_FILE, RUN_FILE, RunWriter, load_run, read_manifest, read_result

DATA = Path(__file__).resolve().parents[1] / "data"
RUNS = sorted(path.parent for path in DATA.rglob(RUN_FILE))
RESULTS = sorted(DATA.rglob(RESULT_FILE))


def migrated(path: Path) -> dict:
    data = json.loads(path.read_text())
    run_path = path.parent if path.name == RUN_FILE else path.parent.parent
    return migrate(path.name, data, run_path)


def test_there_are_stored_runs_of_each_kind():
    names = {path.name for path in RUNS}
    assert len(RUNS) >= 5 and len(RESULTS) >= 6
    assert any(name.endswith("-desk-411d") for name in names)  # tests/data/reports, schema 1 without params
    assert any(name.endswith("-tx2-cd8c") for name in names)  # tests/data/v1, an import


@pytest.mark.parametrize("run", RUNS, ids=lambda path: path.name)
def test_every_stored_manifest_round_trips(run):
    data = migrated(run / RUN_FILE)
    manifest = RunManifest.from_json(data)
    assert manifest.to_json() == data
    assert RunManifest.from_json(manifest.to_json()) == manifest
    assert manifest.extra == {}, "a key of run.json the model does not know"


@pytest.mark.parametrize("path", RESULTS, ids=lambda path: f"{path.parent.parent.name}/{path.parent.name}")
def test_every_stored_result_round_trips(path):
    data = migrated(path)
    result = JobResult.from_json(data)
    assert result.to_json() == data
    assert JobResult.from_json(result.to_json()) == result
    assert result.extra == {}, "a key of result.json the model does not know"


@pytest.mark.parametrize("run", RUNS, ids=lambda path: path.name)
def test_stored_fields_have_their_types(run):
    manifest = read_manifest(run)
    assert manifest.schema_version == SCHEMA_VERSION and manifest.run_id == run.name
    assert isinstance(manifest.target["name"], str) and manifest.status in ("complete", "interrupted", "running")
    assert isinstance(manifest.created, str) and isinstance(manifest.emulated, bool)
    assert manifest.jobs and all(isinstance(entry, JobEntry) and isinstance(entry.repeat, int) for entry in manifest.jobs)
    for entry in manifest.jobs:
        result = read_result(run / entry.dir / RESULT_FILE)
        assert isinstance(result.status, JobStatus) and result.status.value == json.loads(
            (run / entry.dir / RESULT_FILE).read_text())["status"]
        assert result.key == entry.key and isinstance(result.params, dict) and isinstance(result.metrics, dict)
        assert isinstance(result.notes, list) and all(isinstance(note, str) for note in result.notes)
        assert result.duration_s is None or isinstance(result.duration_s, float)
        assert result.exit_code is None or isinstance(result.exit_code, int)
        assert entry.params == result.params  # schema 2: the plan keeps the parameters


def test_the_job_statuses_are_one_enum():
    assert [status.value for status in JobStatus] == ["ok", "failed", "oom", "timeout", "interrupted", "skipped"]
    assert JobStatus("oom") is JobStatus.OOM and str(JobStatus.OK) == "ok" and JobStatus.OK == "ok"
    assert JobResult(key="a-1", job="a", status="timeout").status is JobStatus.TIMEOUT
    assert JobResult(key="a-1", job="a", status=JobStatus.OK).to_json()["status"] == "ok"


@pytest.mark.parametrize("change, message", [
    ({"status": "great"}, "status: unknown job status 'great' (known: ok, failed, oom, timeout, interrupted, skipped)"),
    ({"duration_s": "3 s"}, "duration_s: expected float or int or null, got str"),
    ({"params": ["lr"]}, "params: expected dict, got list"),
    ({"notes": "one"}, "notes: expected list, got str"),
    ({"schema_version": 1}, "schema_version 1: this model reads"),
])
def test_a_result_of_the_wrong_shape_is_refused_naming_the_key(change, message):
    data = {"key": "a-1", "job": "a", "status": "ok", **change}
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        JobResult.from_json(data)


@pytest.mark.parametrize("data, message", [
    ({"target": {"name": "x"}}, "missing run_id"),
    ({"run_id": "r", "target": {}}, "target: no name"),
    ({"run_id": "r", "target": {"name": "x"}, "jobs": {"a": 1}}, "jobs: expected list, got dict"),
    ({"run_id": "r", "target": {"name": "x"}, "jobs": [{"dir": "a"}, {"key": "b"}]}, r"jobs\[1\]: missing dir"),
    ({"run_id": "r", "target": {"name": "x"}, "pid": "12"}, "pid: expected int or null, got str"),
    ([1, 2], "expected a JSON object, got list"),
])
def test_a_manifest_of_the_wrong_shape_is_refused_naming_the_key(data, message):
    with pytest.raises(ValueError, match=message):
        RunManifest.from_json(data)


def test_unknown_keys_are_kept_and_missing_ones_read_as_defaults():
    manifest = RunManifest.from_json({"run_id": "r", "target": {"name": "x"}, "later": {"a": 1},
                                      "jobs": [{"dir": "a-r1", "note": "n"}]})
    assert manifest.extra == {"later": {"a": 1}} and manifest.jobs[0].extra == {"note": "n"}
    assert manifest.status == "incomplete" and manifest.pid is None and manifest.jobs[0].repeat == 1
    written = manifest.to_json()
    assert written["later"] == {"a": 1} and written["jobs"][0]["note"] == "n"
    # a key that is absent while None stays absent: nothing here was imported, resumed or power-swept
    assert not {"imported", "resumed", "adaptive", "power", "jobs_version"} & set(written)
    assert not {"params", "varied", "power"} & set(written["jobs"][0])
    assert {"telemetry", "unavailable", "power"}.isdisjoint(JobResult(key="k", job="j", status="ok").to_json())


def test_what_the_store_writes_is_the_models_json_byte_for_byte(tmp_path):
    manifest = RunManifest(target={"name": "box", "price_usd": 400.0}, suite={"name": "s"},
                           jobs=[JobEntry(key="a-1", dir="a-1-r1", job="a", label="a", params={"x": 1}, varied={})])
    writer = RunWriter(tmp_path, manifest)
    writer.write_result("a-1-r1", JobResult(key="a-1", job="a", label="a", status="ok", duration_s=1.5,
                                            telemetry={"sources": []}, unavailable={}, metrics={"steps": 3}))
    writer.finish("complete")
    for path in (writer.path / RUN_FILE, writer.path / "a-1-r1" / RESULT_FILE):
        text = path.read_text()
        data = json.loads(text)
        model = RunManifest if path.name == RUN_FILE else JobResult
        assert json.dumps(model.from_json(data).to_json(), indent=2, sort_keys=True) + "\n" == text
        assert data["schema_version"] == SCHEMA_VERSION
    run = load_run(writer.path)
    assert run.manifest == writer.manifest and run.results == [{**json.loads(
        (writer.path / "a-1-r1" / RESULT_FILE).read_text()), "dir": "a-1-r1"}]
