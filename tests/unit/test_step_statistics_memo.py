"""A warm compare reads no steps: the cache's crc32 of `seconds` gives compare's bootstrap seed, and
the step statistics are remembered under the jobs' stamps, the seed and the statistics' code version.
Remembered values equal computed ones (one repeat and pooled repeats), a change of parameters or of
the events file computes them again, and store_events caches what store would. About 1 s."""

from __future__ import annotations

import json
import os
import zlib

import numpy as np
import pytest

from harness_jobs.events import Emitter
from harness import compare, jobdata, stats


@pytest.fixture(autouse=True)
def user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


def write_events(job_dir, steps=3000, scale=1.0):
    job_dir.mkdir(parents=True, exist_ok=True)
    emitter = Emitter(str(job_dir), stream=open(os.devnull, "w"))
    emitter.emit("start", job="x", params={"batch_size": 8})
    rng = np.random.default_rng(steps)
    for i, seconds in enumerate(rng.gamma(20.0, 0.0005 * scale, steps).tolist()):
        emitter.step(i // 1000, i % 1000, seconds, 8)
    emitter.close()


def statistics(datas):
    seed = compare._seed("key", [{"metrics": {"train_seconds": 1.0}}] * len(datas), datas)
    return compare._step_statistics(datas, seed)


def in_memory(data):
    """The same steps with no stored source: never remembered, always computed."""
    return jobdata.JobData(data.events, {name: np.array(data.steps[name]) for name in jobdata.STEP_FIELDS})


def test_the_cached_checksum_is_the_crc_of_the_seconds(tmp_path):
    write_events(tmp_path / "job")
    jobdata.load(tmp_path / "job")  # parsed, cached
    cached = jobdata.load(tmp_path / "job")
    assert cached.seconds_crc is not None
    for start in (0, 1, 0xFFFFFFFF, zlib.crc32(b"key")):
        assert cached.crc32_of_seconds(start) == zlib.crc32(np.asarray(cached.steps["seconds"]).tobytes(), start)


@pytest.mark.parametrize("repeats", [1, 3])
def test_remembered_statistics_equal_computed_ones_and_need_no_steps(tmp_path, monkeypatch, repeats):
    folders = [tmp_path / f"r{i}" for i in range(repeats)]
    for i, folder in enumerate(folders):
        write_events(folder, scale=1 + i / 10)
    expected = statistics([in_memory(jobdata.load(f)) for f in folders])
    assert expected[0]["processes"] == repeats
    assert statistics([jobdata.load(f) for f in folders]) == expected  # computed, remembered
    monkeypatch.setattr(stats, "step_statistics", lambda *args: pytest.fail("computed again"))
    warm = [jobdata.load(f) for f in folders]
    assert json.dumps(statistics(warm)[0]) == json.dumps(expected[0]) and statistics(warm)[1] == expected[1]
    assert all(not data.steps._read for data in warm)  # type: ignore[attr-defined]  # no column read


def test_other_parameters_or_other_steps_compute_again(tmp_path, monkeypatch):
    write_events(tmp_path / "job")
    first = statistics([jobdata.load(tmp_path / "job")])
    calls = []
    compute = stats.step_statistics
    monkeypatch.setattr(stats, "step_statistics", lambda *args: calls.append(1) or compute(*args))
    monkeypatch.setattr(stats, "OUTLIER_Z", 4.0)
    assert statistics([jobdata.load(tmp_path / "job")]) == first and len(calls) == 1
    (tmp_path / "job" / "events.jsonl").unlink()
    write_events(tmp_path / "job", steps=2000)
    assert statistics([jobdata.load(tmp_path / "job")])[0]["steady_steps"] == 1000 and len(calls) == 2


def test_a_damaged_memo_is_computed_again(tmp_path):
    write_events(tmp_path / "job")
    first = statistics([jobdata.load(tmp_path / "job")])
    for memo in (tmp_path / "xdg" / "harness" / "statistics").iterdir():
        memo.write_text(json.dumps({"key": {"other": 1}, "value": [{}, None]}))
    assert statistics([jobdata.load(tmp_path / "job")]) == first


def test_store_events_caches_what_store_would(tmp_path):
    write_events(tmp_path / "job")
    events = [json.loads(line) for line in (tmp_path / "job" / "events.jsonl").read_text().splitlines()]
    held = jobdata.store_events(tmp_path / "job", events)
    cached = jobdata.load(tmp_path / "job")
    assert cached.seconds_crc is not None and not (tmp_path / "xdg" / "harness" / "steps").exists()
    parsed = jobdata.parse_bytes((tmp_path / "job" / "events.jsonl").read_bytes())
    for name in jobdata.STEP_FIELDS:
        for data in (held, cached):
            assert np.array_equal(data.steps[name].view(np.int64), parsed.steps[name].view(np.int64)), name
    assert json.dumps(cached.events) == json.dumps(parsed.events)
