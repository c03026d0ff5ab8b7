"""compare aggregates its sides on a thread per core (docs/performance.md): the comparison is the
same as one thread's, for stored runs read from disk (parsed, cached, bootstrapped), and an error
in one side's work still reaches the caller."""

import json
import threading
import time

import numpy as np
import pytest

from harness.compare import compare, load_job
from harness.results import SCHEMA_VERSION, iter_runs

KEY = "mnist_mlp-00000000"


def write_run(root, index, steps=3000, epochs=3):
    run_id = f"20260101-000000-t{index:03d}-0000"
    job_dir = root / "runs" / run_id / f"{KEY}-r1"
    job_dir.mkdir(parents=True)
    rng = np.random.default_rng(index)
    seconds = rng.gamma(20.0, 0.0005 * (1 + index % 3), steps)
    epoch = np.arange(steps) * epochs // steps
    lines = [json.dumps({"v": 1, "event": "start", "t": 0.0, "job": "mnist_mlp", "params": {"dataset": "digits"}})]
    lines += ['{"v":1,"event":"step","t":%.6f,"epoch":%d,"step":%d,"seconds":%.6f,"batch_size":32}' % row
              for row in zip(np.cumsum(seconds).tolist(), epoch.tolist(), range(steps), seconds.tolist())]
    (job_dir / "events.jsonl").write_text("\n".join(lines) + "\n")
    metrics = {"train_seconds": float(seconds.sum()), "samples_per_sec": float(32 * steps / seconds.sum())}
    (job_dir / "result.json").write_text(json.dumps(
        {"schema_version": SCHEMA_VERSION, "key": KEY, "job": "mnist_mlp", "label": "mnist_mlp", "repeat": 1,
         "params": {"dataset": "digits"}, "status": "ok", "error": None, "metrics": metrics}))
    (root / "runs" / run_id / "run.json").write_text(json.dumps(
        {"schema_version": SCHEMA_VERSION, "run_id": run_id, "status": "complete", "created": "2026-01-01",
         "target": {"name": f"t{index:03d}"}, "emulated": False,
         "jobs": [{"key": KEY, "dir": f"{KEY}-r1", "job": "mnist_mlp", "label": "mnist_mlp", "repeat": 1}]}))


@pytest.fixture
def store(tmp_path):
    for index in range(6):
        write_run(tmp_path / "store", index)
    return list(iter_runs(tmp_path / "store"))


def test_threads_give_the_comparison_one_thread_gives(store, tmp_path, monkeypatch):
    threads = set()

    def watched(run, result):
        threads.add(threading.current_thread().name)
        return load_job(run, result)

    found = {}
    for cores in (1, 4):
        monkeypatch.setattr("harness.compare.os.cpu_count", lambda cores=cores: cores)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / f"cache-{cores}"))  # nothing remembered between them
        threads.clear()
        found[cores] = (json.dumps(compare(store, load=watched).to_json(), sort_keys=True), set(threads))
    assert found[1][0] == found[4][0]
    assert found[1][1] == {"MainThread"}
    assert len(found[4][1]) > 1 and all(name.startswith("compare") for name in found[4][1])
    assert json.loads(found[4][0])["rows"][1]["throughput_ratio_ci_low"] is not None  # the steps were read


def test_an_error_in_one_side_reaches_the_caller(store, monkeypatch):
    monkeypatch.setattr("harness.compare.os.cpu_count", lambda: 4)

    def failing(run, result):
        if run.run_id.endswith("t003-0000"):
            raise OSError("disk went away")
        return load_job(run, result)

    with pytest.raises(OSError, match="disk went away"):
        compare(store, load=failing)


def test_after_an_error_the_sides_not_started_are_not_read(store, monkeypatch):
    """The first side fails at once while two others take 0.2 s each: the rest are never read
    (Executor.map cancels what has not started; Ctrl-C takes the same path), so a failing compare
    over many jobs stops at once."""
    monkeypatch.setattr("harness.compare.os.cpu_count", lambda: 2)
    started = []

    def slow(run, result):
        started.append(run.run_id)
        if len(started) == 1:
            raise OSError("disk went away")
        time.sleep(0.2)
        return load_job(run, result)

    with pytest.raises(OSError, match="disk went away"):
        compare(store, load=slow)
    assert 1 < len(started) < len(store)
