"""`harness run --repeat auto` with real job processes: it stops by its rule, records why in
run.json, and `compare` takes the runs like any other. Five MLP processes on 320 digits, 2
epochs each: measured 150 s on the shared 2-core machine (TensorFlow's import is most of it)."""

from __future__ import annotations

import json

from ..conftest import run_harness

TINY = ["--job", "mnist_mlp", "--set", "epochs=2", "--set", "limit=320"]


def adaptive_run(tmp_path, *options):
    results = tmp_path / "reports"
    before = set((results / "runs").iterdir()) if (results / "runs").is_dir() else set()
    done = run_harness("run", *TINY, "--repeat", "auto", *options, "--results-dir", str(results), cwd=tmp_path)
    assert done.code == 0, done.out + done.err
    (run_dir,) = set((results / "runs").iterdir()) - before
    manifest = json.loads((run_dir / "run.json").read_text())
    stored = [json.loads((run_dir / j["dir"] / "result.json").read_text()) for j in manifest["jobs"]]
    return run_dir, manifest, stored


def test_auto_repeats_stop_at_max_repeats_and_at_the_time_budget_and_compare_takes_them(tmp_path):
    # a target no run can reach: more repeats until --max-repeats
    run_dir, manifest, stored = adaptive_run(tmp_path, "--ci-target", "0.0001", "--max-repeats", "3")
    record = manifest["adaptive"]
    assert manifest["status"] == "complete" and record["stopped"] == "max_repeats" and record["rounds"] == 2
    assert [r["repeat"] for r in stored] == [1, 2, 3] and {r["status"] for r in stored} == {"ok"}
    (state,) = record["jobs"].values()
    assert state["state"] == "max_repeats" and state["repeats"] == 3 and state["half_width_percent"] > 0.0001

    # the same target with a 1 s budget: the first round (two repeats) already spent it
    budget_dir, budget, budget_stored = adaptive_run(tmp_path, "--ci-target", "0.0001", "--time-budget", "1")
    assert budget["adaptive"]["stopped"] == "time_budget" and budget["adaptive"]["time_budget_s"] == 1.0
    assert len(budget_stored) == 2 and list(budget["adaptive"]["jobs"].values())[0]["state"] is None

    compared = run_harness("compare", run_dir.name, budget_dir.name, "--results-dir", str(tmp_path / "reports"),
                           "--out", str(tmp_path / "cmp"), cwd=tmp_path)
    assert compared.code == 0, compared.err
    rows = json.loads((tmp_path / "cmp" / "summary.json").read_text())["rows"]
    assert [(row["repeats"], row["repeats_ok"]) for row in rows] == [(3, 3), (2, 2)]
    assert rows[1]["throughput_ratio"] > 0
