from pathlib import Path

from harness.compare import compare
from harness.results import StoredRun


def stored(run_id, target, results, emulated=False):
    manifest = {"run_id": run_id, "target": {"name": target}, "status": "complete", "created": "2026",
                "emulated": emulated}
    return StoredRun(Path(run_id), manifest, results)


def res(key, status="ok", **metrics):
    return {"key": key, "label": key, "status": status, "metrics": metrics}


def test_ratios_are_side_over_baseline_and_repeats_use_the_median():
    tx2 = stored("r1", "tx2", [res("k", samples_per_sec=100.0, train_seconds=180.0, steady_epoch_seconds=50.0),
                               res("k", samples_per_sec=120.0, train_seconds=200.0, steady_epoch_seconds=70.0),
                               res("k", samples_per_sec=110.0, train_seconds=190.0, steady_epoch_seconds=60.0),
                               res("only-tx2", samples_per_sec=1.0)])
    rtx = stored("r2", "rtx2080", [res("k", samples_per_sec=1980.0, train_seconds=10.0, steady_epoch_seconds=3.0),
                                   res("only-rtx", status="failed")])
    comparison = compare([tx2, rtx])
    assert comparison.sides == ["tx2", "rtx2080"]
    base, side = comparison.rows
    assert base["samples_per_sec"] == 110.0 and base["repeats"] == 3 and base["throughput_ratio"] == 1.0
    assert side["throughput_ratio"] == 18.0
    assert side["total_time_ratio"] == 10.0 / 190.0
    assert side["steady_epoch_ratio"] == 3.0 / 60.0
    assert comparison.only_in == {"tx2": ["only-tx2"], "rtx2080": ["only-rtx"]}


def test_failed_jobs_keep_their_status_and_give_no_ratio():
    a = stored("r1", "a", [res("k", samples_per_sec=10.0)])
    b = stored("r2", "b", [res("k", status="oom")])
    side = compare([a, b]).rows[1]
    assert side["status"] == "oom" and side["samples_per_sec"] is None and side["throughput_ratio"] is None


def test_two_runs_of_one_target_are_named_by_run_id():
    assert compare([stored("r1", "a", []), stored("r2", "a", [])]).sides == ["r1", "r2"]


def test_an_emulated_run_gives_no_speed_ratio():
    native = stored("r1", "a", [res("k", samples_per_sec=10.0, train_seconds=5.0)])
    emulated = stored("r2", "tx2", [res("k", samples_per_sec=1.0, train_seconds=50.0)], emulated=True)
    rows = compare([native, emulated]).rows
    assert rows[1]["emulated"] is True and rows[1]["samples_per_sec"] == 1.0
    assert rows[1]["throughput_ratio"] is None and rows[1]["total_time_ratio"] is None
