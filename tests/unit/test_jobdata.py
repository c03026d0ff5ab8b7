"""Step arrays from events.jsonl: the regex fast path agrees with json.loads, other layouts fall
back, and the steps.npz cache follows the file."""

from __future__ import annotations

import json
import os

import numpy as np

from benchmarks.events import Emitter
from harness import jobdata


def write_events(job_dir, steps=30):
    emitter = Emitter(str(job_dir), stream=open(os.devnull, "w"))
    emitter.emit("start", job="x", params={"batch_size": 8})
    for i in range(steps):
        emitter.step(i // 10, i % 10, 0.001 * (i + 1), 8)
    emitter.emit("epoch", epoch=0, seconds=1.5, metrics={"accuracy": 0.5})
    emitter.close()


def test_fast_path_matches_json_and_is_cached(tmp_path):
    write_events(tmp_path)
    data = jobdata.load(tmp_path)
    slow = jobdata.from_events([json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()])
    for name in jobdata.STEP_FIELDS:
        assert np.array_equal(data.steps[name], slow.steps[name])
    assert [e["event"] for e in data.events] == ["start", "epoch"] and data.steps["seconds"][-1] == 0.03
    assert (tmp_path / jobdata.CACHE_FILE).exists()
    cached = jobdata.load(tmp_path)
    assert np.array_equal(cached.steps["t"], data.steps["t"]) and cached.events == data.events


def test_cache_is_rebuilt_when_the_events_change(tmp_path):
    write_events(tmp_path, steps=10)
    assert jobdata.load(tmp_path).steps["seconds"].size == 10
    with open(tmp_path / "events.jsonl", "a") as handle:
        handle.write('{"v":1,"event":"step","t":9.0,"epoch":1,"step":0,"seconds":0.5,"batch_size":8}\n')
    assert jobdata.load(tmp_path).steps["seconds"][-1] == 0.5


def test_other_layouts_and_junk_lines(tmp_path):
    lines = [json.dumps({"v": 1, "event": "step", "t": 1.0, "epoch": 0, "step": 0, "seconds": 0.25, "batch_size": 4}),
             "not json", "[1, 2]", json.dumps({"v": 1, "event": "end", "t": 2.0, "status": "ok"})]
    data = jobdata.parse("\n".join(lines) + "\n")
    assert list(data.steps["seconds"]) == [0.25] and [e["event"] for e in data.events] == ["end"]
    assert jobdata.load(tmp_path / "missing").steps["seconds"].size == 0
