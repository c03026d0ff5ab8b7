"""compare aggregates its sides on a thread per core (docs/performance.md): the comparison is the
same as one thread's, for stored runs read from disk (parsed, cached, bootstrapped), and an error
in one side's work still reaches the caller."""

import importlib.util
import json
import threading
import time

import pytest

from harness.compare import compare, load_job
from harness.results import iter_runs

from ..conftest import REPO


def bench_module():
    """scripts/bench_compare_scale.py, whose write_run generates the scale benchmark's store."""
    spec = importlib.util.spec_from_file_location("bench_compare_scale", REPO / "scripts" / "bench_compare_scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def store(tmp_path):
    write_run = bench_module().write_run
    for index in range(6):
        write_run(tmp_path / "store" / "runs", index, 3000)
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
