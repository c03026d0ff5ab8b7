from pathlib import Path

import numpy as np

from harness import jobdata
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


def steps_data(seconds_by_epoch, batch_size=32, dataset="digits", train_samples=1437, environment=None):
    """JobData with the given step times per epoch, a start and a dataset event."""
    events = [{"event": "step", "epoch": epoch, "step": i, "seconds": s, "batch_size": batch_size, "t": 0.0}
              for epoch, seconds in enumerate(seconds_by_epoch) for i, s in enumerate(seconds)]
    start = {"event": "start", "params": {"batch_size": batch_size, "dataset": dataset},
             "environment": environment or {"tf": "2.21.0", "devices": [{"type": "CPU"}]}}
    return jobdata.from_events([start, {"event": "dataset", "train_samples": train_samples}, *events])


def loader(table):
    return lambda run, result: table[run.run_id]


def test_throughput_ci_and_significance_from_steps():
    rng = np.random.default_rng(0)
    slow = [rng.normal(0.2, 0.01, 200)] * 2  # first epoch is warm-up, second is steady
    fast = [rng.normal(0.01, 0.0005, 200)] * 2
    a, b = stored("r1", "tx2", [res("k")]), stored("r2", "rtx2080", [res("k")])
    rows = compare([a, b], load=loader({"r1": steps_data(slow), "r2": steps_data(fast)})).rows
    base, side = rows
    assert base["steady_steps"] == 200 and abs(base["samples_per_sec"] - 32 * 200 / slow[1].sum()) < 1e-9
    assert base["samples_per_sec_ci_low"] < base["samples_per_sec"] < base["samples_per_sec_ci_high"]
    assert side["throughput_significant"] is True and base["throughput_significant"] is None
    assert side["throughput_ratio_ci_low"] < side["throughput_ratio"] < side["throughput_ratio_ci_high"]
    assert 15 < side["throughput_ratio"] < 25


def test_overlapping_cis_are_not_significant():
    rng = np.random.default_rng(0)
    one, two = rng.normal(0.1, 0.02, 100), rng.normal(0.1, 0.02, 100)
    a, b = stored("r1", "a", [res("k")]), stored("r2", "b", [res("k")])
    side = compare([a, b], load=loader({"r1": steps_data([one]), "r2": steps_data([two])})).rows[1]
    assert side["throughput_significant"] is False


def test_outlier_steps_are_counted():
    steady = [0.1] * 50 + [0.11] * 49 + [2.0]  # one stall
    a = stored("r1", "a", [res("k")])
    row = compare([a, a], load=loader({"r1": steps_data([[1.0], steady])})).rows[0]
    assert row["step_outliers"] == 1 and row["step_outlier_share"] == 0.01
    assert abs(row["step_seconds_median"] - 0.105) < 1e-12  # sorted[49] = 0.1, sorted[50] = 0.11


def test_other_dataset_withholds_speed_ratios_unless_forced():
    a, b = stored("r1", "a", [res("k", train_seconds=10.0)]), stored("r2", "b", [res("k", train_seconds=5.0)])
    data = loader({"r1": steps_data([[0.1] * 10], dataset="mnist", train_samples=60000),
                   "r2": steps_data([[0.1] * 10], dataset="digits")})
    comparison = compare([a, b], load=data)
    side = comparison.rows[1]
    assert side["total_time_ratio"] is None and side["throughput_ratio"] is None
    assert "dataset mnist vs digits" in side["ratio_withheld"]
    assert comparison.withheld == [{"label": "k", "side": "b", "reasons": ["dataset mnist vs digits",
                                                                           "dataset_size 60000 vs 1437"]}]
    assert comparison.differences["k"]["dataset"] == ["mnist", "digits"]
    forced = compare([a, b], force=True, load=data)
    assert forced.rows[1]["total_time_ratio"] == 0.5 and forced.withheld == [] and forced.forced


def test_version_differences_are_shown_but_do_not_block():
    a, b = stored("r1", "a", [res("k", train_seconds=10.0)]), stored("r2", "b", [res("k", train_seconds=5.0)])
    gpu = {"tf": "2.7.0", "devices": [{"type": "CPU"}, {"type": "GPU"}], "tf_build": {"cuda_version": "11.2"}}
    comparison = compare([a, b], load=loader({"r1": steps_data([[0.1]]), "r2": steps_data([[0.1]], environment=gpu)}))
    assert comparison.differences["k"] == {"tf": ["2.21.0", "2.7.0"], "cuda": [None, "11.2"], "device": ["cpu", "gpu"]}
    assert comparison.rows[1]["total_time_ratio"] == 0.5 and comparison.rows[1]["differs"] == "tf, cuda, device"


def test_price_performance_and_energy_ratios():
    a = stored("r1", "tx2", [res("k", samples_per_sec=100.0, samples_per_joule=10.0)])
    b = stored("r2", "rtx", [res("k", samples_per_sec=1800.0, samples_per_joule=9.0)])
    a.manifest["target"]["price_usd"] = 400.0
    b.manifest["target"]["price_usd"] = 1200.0
    base, side = compare([a, b]).rows
    assert base["samples_per_sec_per_usd"] == 0.25 and side["samples_per_sec_per_usd"] == 1.5
    assert side["perf_per_dollar_ratio"] == 6.0 and abs(side["samples_per_joule_ratio"] - 0.9) < 1e-12


def test_power_mode_comes_from_the_telemetry_preflight_facts():
    maxn = res("k", train_seconds=1.0)
    maxn["telemetry"] = {"device": {"nvpmodel": "MAXN", "jetson_clocks": True}}
    low = res("k", train_seconds=2.0)
    low["telemetry"] = {"device": {"nvpmodel": "MAXQ", "jetson_clocks": False}}
    comparison = compare([stored("r1", "tx2", [maxn]), stored("r2", "tx2b", [low])])
    assert comparison.differences["k"]["power_mode"] == ["MAXN, jetson_clocks on", "MAXQ, jetson_clocks off"]
    assert comparison.rows[1]["total_time_ratio"] == 2.0


def test_repeats_pool_their_steady_steps():
    one = {**res("k"), "dir": "k-r1"}
    two = {**res("k"), "dir": "k-r2"}
    data = {"k-r1": steps_data([[9.0], [0.1] * 10]), "k-r2": steps_data([[9.0], [0.3] * 10], batch_size=64)}
    run = stored("r1", "a", [one, two])
    row = compare([run], load=lambda run, result: data[result["dir"]]).rows[0]
    assert row["steady_steps"] == 20 and row["repeats_ok"] == 2
    assert abs(row["samples_per_sec"] - (10 * 32 + 10 * 64) / (10 * 0.1 + 10 * 0.3)) < 1e-9


def test_the_headline_reads_like_the_seed_with_speed_ups_and_intervals():
    """Three repeats a side, built to give the seed's numbers; the sentence is computed from them."""
    from harness.report.words import headline

    rng = np.random.default_rng(3)
    def side(run_id, target, step, totals, firsts, price):
        results, table = [], {}
        for i, (total, first) in enumerate(zip(totals, firsts)):
            folder = f"{run_id}-r{i}"
            steady = step * np.exp(rng.normal(0, 0.01, 100)) * np.exp(rng.normal(0, 0.003))
            table[folder] = steps_data([[step * 3] * 10, steady], dataset="flowers", train_samples=3670)
            results.append({**res("transfer", train_seconds=total, first_epoch_seconds=first), "dir": folder})
        run = stored(run_id, target, results)
        run.manifest["target"]["price_usd"] = price
        return run, table
    tx2, tx2_steps = side("r1", "tx2", 0.2, [490.0, 487.0, 484.0], [281.0, 282.0, 280.0], 400.0)
    rtx, rtx_steps = side("r2", "rtx2080", 0.2 / 15.8, [27.0, 27.05, 27.1], [14.0, 13.98, 13.9], 465.0)
    steps = {**tx2_steps, **rtx_steps}
    comparison = compare([tx2, rtx], load=lambda run, result: steps[result["dir"]])
    row = comparison.rows[1]
    assert row["interval_scope"] == "between 3 processes" and not row["single_repeat"]
    [line] = headline(comparison)
    total, first = 1 / row["total_time_ratio"], 1 / row["first_epoch_ratio"]
    assert f"{total:.1f}" == "18.0" and f"{row['throughput_ratio']:.1f}" == "15.8" and f"{first:.1f}" == "20.1"
    low, high = row["throughput_ratio_ci_low"], row["throughput_ratio_ci_high"]
    assert low < row["throughput_ratio"] < high and row["throughput_significant"] and row["total_time_significant"]
    assert line == (f"rtx2080 trained `transfer` 18.0x faster than tx2 in total (15.8x steady [{low:.1f}-{high:.1f}x, "
                    f"95%], first epoch 20.1x); {row['perf_per_dollar_ratio']:.1f}x "
                    f"[{row['perf_per_dollar_ratio_ci_low']:.1f}-{row['perf_per_dollar_ratio_ci_high']:.1f}x] "
                    "the samples/s per dollar")
    assert f"{row['perf_per_dollar_ratio']:.1f}" == "13.6"
