"""A real small harness run for the exporter tests: an L2 sweep of the digits MLP (two jobs), and
optionally a tiny retrain whose frozen export graph goes to TensorBoard's Graphs tab."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import only_run, read_results, run_harness

MLP = """[[jobs]]
job = "mnist_mlp"
params = { dataset = "digits", epochs = 3, limit = 320 }
sweep = { l2 = [0.0, 1e-4] }
"""
RETRAIN = """[[jobs]]
job = "retrain"
params = { architecture = "mobilenet_v2", weights = "none", dataset = "generated", generated_classes = 2, generated_images = 6, generated_size = 32, image_size = 96, how_many_training_steps = 20, train_batch_size = 4, validation_batch_size = -1, eval_step_interval = 5 }
"""


def make_run(folder: Path, retrain: bool) -> Path:
    """The run's folder under folder/res; telemetry sampled every 0.1 s so the short jobs have series."""
    (folder / "harness.toml").write_text(f'[targets.lab]\nrunner = "local"\ncache_dir = "{folder / "cache"}"\n'
                                         'sample_interval_s = 0.1\nidle_baseline_s = 0\n')
    (folder / "sweep.toml").write_text('description = "exporter tests"\n' + MLP + (RETRAIN if retrain else ""))
    done = run_harness("run", "--target", "lab", "--suite", "sweep.toml", "--results-dir", "res", cwd=folder,
                       timeout=600)
    assert done.code == 0, done.out[-3000:] + done.err[-3000:]
    return only_run(folder / "res")


def results_by_dir(run_dir: Path) -> dict[str, dict]:
    """The stored job results keyed by their job folder."""
    jobs = json.loads((run_dir / "run.json").read_text())["jobs"]
    folder = {(job["key"], job["repeat"]): job["dir"] for job in jobs}
    return {folder[(r["key"], r["repeat"])]: r for r in read_results(run_dir)}
