"""Times `compare` over a large generated store: by default 200 runs x 100,000 steps each.

    .venv/bin/python scripts/bench_compare_scale.py [--runs 200] [--steps 100000] [--store DIR]

Generates the store once (events.jsonl in the job protocol's exact step format, ~10 MB per run;
kept in --store and reused when it already has the runs), then times, in this process:
  cold   compare() parsing every events.jsonl (harness.jobdata's vectorised Arrow reader) and writing
         the Parquet step caches (read commands write them in the user's cache folder, here
         STORE/xdg-cache, never in the run folders)
  warm   compare() again, reading the caches and the step statistics the cold pass remembered
         (STORE/xdg-cache/harness/statistics)
  write  summary.json + summary.csv of the warm comparison
A benchmark, not a test: it prints the numbers and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from harness.compare import compare
from harness.report.files import summary_json
from harness.results import SCHEMA_VERSION, iter_runs

KEY = "mnist_mlp-00000000"
EPOCHS = 10


def write_run(runs: Path, index: int, steps: int) -> None:
    run_id = f"20260101-000000-t{index:03d}-0000"
    job_dir = runs / run_id / f"{KEY}-r1"
    job_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(index)
    seconds = rng.gamma(20.0, 0.0005 * (1 + index % 7), steps)
    t = 100.0 + np.cumsum(seconds)
    epoch = np.arange(steps) * EPOCHS // steps
    step = np.arange(steps) % (steps // EPOCHS)
    start = {"v": 1, "event": "start", "t": 99.0, "job": "mnist_mlp", "params": {"batch_size": 32, "dataset": "digits"},
             "environment": {"python": "3.11", "tf": "2.21.0", "devices": [{"type": "CPU"}]}}
    lines = [json.dumps(start, separators=(",", ":"))]
    lines += ['{"v":1,"event":"step","t":%.6f,"epoch":%d,"step":%d,"seconds":%.6f,"batch_size":32}' % row
              for row in zip(t.tolist(), epoch.tolist(), step.tolist(), seconds.tolist())]
    ends = [float(t[epoch == e][-1]) for e in range(EPOCHS)]
    lines += [json.dumps({"v": 1, "event": "epoch", "t": end, "epoch": e, "seconds": float(seconds[epoch == e].sum()),
                          "steps": steps // EPOCHS, "metrics": {"accuracy": 0.9}}) for e, end in enumerate(ends)]
    (job_dir / "events.jsonl").write_text("\n".join(lines) + "\n")
    result = {"schema_version": SCHEMA_VERSION, "key": KEY, "job": "mnist_mlp", "label": "mnist_mlp", "repeat": 1,
              "params": {"batch_size": 32, "dataset": "digits"}, "status": "ok", "error": None,
              "metrics": {"train_seconds": float(seconds.sum()), "first_epoch_seconds": float(seconds[epoch == 0].sum())}}
    (job_dir / "result.json").write_text(json.dumps(result))
    manifest = {"schema_version": SCHEMA_VERSION, "run_id": run_id, "status": "complete", "created": "2026-01-01",
                "target": {"name": f"t{index:03d}", "price_usd": 100.0 + index}, "emulated": False,
                "jobs": [{"key": KEY, "dir": f"{KEY}-r1", "job": "mnist_mlp", "label": "mnist_mlp", "repeat": 1}]}
    (runs / run_id / "run.json").write_text(json.dumps(manifest))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--store", type=Path, default=Path(tempfile.gettempdir()) / "harness-scale-store")
    args = parser.parse_args()
    runs = args.store / "runs"
    clock = time.perf_counter()
    have = len(list(runs.glob("*/run.json"))) if runs.exists() else 0
    if have != args.runs:
        for index in range(args.runs):
            write_run(runs, index, args.steps)
        print(f"generated {args.runs} runs x {args.steps} steps in {time.perf_counter() - clock:.1f} s -> {args.store}")
    for cache in [*runs.glob("*/*/steps.npz"), *runs.glob("*/*/steps.parquet")]:
        cache.unlink()
    os.environ["XDG_CACHE_HOME"] = str(args.store / "xdg-cache")  # compare's cache, apart from the user's own
    shutil.rmtree(args.store / "xdg-cache", ignore_errors=True)
    stored = list(iter_runs(args.store))
    for label in ("cold (parse events.jsonl, write Parquet caches)", "warm (Parquet caches)"):
        clock, cpu = time.perf_counter(), time.process_time()
        comparison = compare(stored)
        print(f"compare {label}: {time.perf_counter() - clock:.2f} s for {len(stored)} runs, {len(comparison.rows)} rows "
              f"({time.process_time() - cpu:.2f} s CPU, all threads; the wall time counts other load on the machine)")
    clock = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "summary.json").write_text(summary_json(comparison))
        import pandas as pd
        pd.DataFrame([row.to_json() for row in comparison.rows]).to_csv(Path(tmp, "summary.csv"), index=False)
    print(f"summary.json + summary.csv: {time.perf_counter() - clock:.2f} s")


if __name__ == "__main__":
    main()
