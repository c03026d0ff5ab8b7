"""Step arrays from events.jsonl: the vectorised Arrow path agrees with json.loads, other layouts fall
back, the Parquet cache follows the file (stale, corrupt, old-version and old steps.npz caches are never
trusted), and read commands cache outside the run folder. About 2 s."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from harness_jobs.events import Emitter
from harness import jobdata


@pytest.fixture(autouse=True)
def user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "harness" / "steps"


def write_events(job_dir, steps=30):
    job_dir.mkdir(parents=True, exist_ok=True)
    emitter = Emitter(str(job_dir), stream=open(os.devnull, "w"))
    emitter.emit("start", job="x", params={"batch_size": 8})
    for i in range(steps):
        emitter.step(i // 10, i % 10, 0.001 * (i + 1), 8)
    emitter.emit("epoch", epoch=0, seconds=1.5, metrics={"accuracy": 0.5})
    emitter.close()


def slow_parse(path):
    return jobdata.from_events([json.loads(line) for line in path.read_text().splitlines()])


def test_fast_path_matches_json_and_read_commands_cache_outside_the_run(tmp_path, user_cache):
    job = tmp_path / "run" / "job"
    write_events(job)
    data = jobdata.load(job)
    slow = slow_parse(job / "events.jsonl")
    for name in jobdata.STEP_FIELDS:
        assert np.array_equal(data.steps[name], slow.steps[name])
    assert [e["event"] for e in data.events] == ["start", "epoch"] and data.steps["seconds"][-1] == 0.03
    assert sorted(os.listdir(job)) == ["events.jsonl"]  # nothing written into the run folder
    assert [p.suffix for p in user_cache.iterdir()] == [".parquet"]
    cached = jobdata.load(job)
    assert np.array_equal(cached.steps["t"], data.steps["t"]) and cached.events == data.events


def test_the_vectorised_path_is_exact_on_many_values(tmp_path):
    rng = np.random.default_rng(1)
    seconds = rng.gamma(2.0, 0.01, 5000)
    lines = ['{"v":1,"event":"step","t":%.6f,"epoch":%d,"step":%d,"seconds":%.6f,"batch_size":%d}' % row
             for row in zip((rng.normal(0, 1e4, 5000)).tolist(), rng.integers(-3, 50, 5000).tolist(),
                            range(5000), seconds.tolist(), rng.integers(1, 512, 5000).tolist())]
    lines.insert(100, json.dumps({"v": 1, "event": "epoch", "epoch": 0, "seconds": 1.0}))
    (tmp_path / "events.jsonl").write_text("\n".join(lines) + "\n")
    fast = jobdata._parse_vectorised((tmp_path / "events.jsonl").read_bytes())
    slow = slow_parse(tmp_path / "events.jsonl")
    assert fast is not None and [e["event"] for e in fast.events] == ["epoch"]
    for name in jobdata.STEP_FIELDS:
        assert np.array_equal(fast.steps[name], slow.steps[name]), name


def test_store_events_caches_in_the_job_folder_and_load_follows_the_file(tmp_path, user_cache):
    write_events(tmp_path, steps=10)
    (tmp_path / jobdata.LEGACY_CACHE_FILE).write_bytes(b"old")
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert jobdata.store_events(tmp_path, events).steps["seconds"].size == 10
    assert (tmp_path / jobdata.CACHE_FILE).exists() and not (tmp_path / jobdata.LEGACY_CACHE_FILE).exists()
    assert jobdata.load(tmp_path).steps["seconds"].size == 10 and not user_cache.exists()  # read from the folder
    with open(tmp_path / "events.jsonl", "a") as handle:
        handle.write('{"v":1,"event":"step","t":9.0,"epoch":1,"step":0,"seconds":0.5,"batch_size":8}\n')
    assert jobdata.load(tmp_path).steps["seconds"][-1] == 0.5  # stale stamp: parsed again


def test_no_cache_is_trusted_blindly(tmp_path):
    """A steps.npz of the old harness, a Parquet cache of another version or with a forged stamp from another
    file, and a truncated one: each is ignored and the events parsed."""
    write_events(tmp_path, steps=10)
    np.savez(tmp_path / jobdata.LEGACY_CACHE_FILE, seconds=np.zeros(3))
    assert jobdata.load(tmp_path).steps["seconds"].size == 10
    stamp = jobdata._stamp(tmp_path / "events.jsonl")
    fake = jobdata.JobData([], {name: np.zeros(2) for name in jobdata.STEP_FIELDS})
    for forged in ({**stamp, "version": 1}, {**stamp, "size": stamp["size"] + 1}, {**stamp, "source": "/elsewhere"}):
        jobdata._write(tmp_path / jobdata.CACHE_FILE, fake, forged)
        assert jobdata.load(tmp_path).steps["seconds"].size == 10
    jobdata._write(tmp_path / jobdata.CACHE_FILE, fake, stamp)
    assert jobdata.load(tmp_path).steps["seconds"].size == 2  # the check itself: an exact stamp is believed
    data = (tmp_path / jobdata.CACHE_FILE).read_bytes()
    (tmp_path / jobdata.CACHE_FILE).write_bytes(data[: len(data) // 2])
    assert jobdata.load(tmp_path).steps["seconds"].size == 10
    table = pa.table({"t": [1.0]})
    pq.write_table(table, tmp_path / jobdata.CACHE_FILE)  # no stamp at all
    assert jobdata.load(tmp_path).steps["seconds"].size == 10


def test_other_layouts_and_junk_lines(tmp_path):
    lines = [json.dumps({"v": 1, "event": "step", "t": 1.0, "epoch": 0, "step": 0, "seconds": 0.25, "batch_size": 4}),
             "not json", "[1, 2]", json.dumps({"v": 1, "event": "end", "t": 2.0, "status": "ok"})]
    data = jobdata.parse("\n".join(lines) + "\n")
    assert list(data.steps["seconds"]) == [0.25] and [e["event"] for e in data.events] == ["end"]
    reordered = '{"v":1,"event":"step","t":1.0,"step":5,"epoch":0,"seconds":0.5,"batch_size":4}\n'
    assert jobdata.parse(reordered).steps["step"].tolist() == [5.0]  # keys in another order: not misread
    assert jobdata.parse('{"v":1,"event":"step","t":1e-05,"epoch":0,"step":0,"seconds":1,"batch_size":4}\n'
                         ).steps["t"].tolist() == [1e-05]
    assert jobdata.parse("").steps["seconds"].size == 0
    assert jobdata.load(tmp_path / "missing").steps["seconds"].size == 0


def test_steps_frame_is_the_same_frame_arrow_backed(tmp_path):
    """harness.frames.steps_frame over the stored example runs: the columns and values json.loads gives,
    each column Arrow-backed."""
    import pandas as pd

    from harness.frames import steps_frame
    from harness.results import iter_runs

    root = Path(__file__).resolve().parents[1] / "data" / "reports"
    run = next(iter_runs(root))
    frame = steps_frame(root, run.run_id)
    rows = []
    for result in run.results:
        path = run.path / result["dir"] / "events.jsonl"
        steps = [json.loads(line) for line in path.read_text().splitlines() if '"event":"step"' in line]
        rows.append(pd.DataFrame(steps).assign(key=result["key"], label=result["label"], repeat=result["repeat"]))
    expected = pd.concat(rows, ignore_index=True)
    assert len(frame) > 0 and list(frame.columns) == list(expected.columns)
    assert (frame.astype(object).values == expected.astype(object).values).all()
    assert all(isinstance(dtype, pd.ArrowDtype) for dtype in frame.dtypes)  # key, label, repeat too
    assert not list(run.path.glob("*/steps.parquet"))  # a read: nothing written into the stored run
