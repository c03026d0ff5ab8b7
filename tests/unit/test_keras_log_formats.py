"""Every Keras log format of issue 12, each from a log of its shape: captured with TF 2.21 here
(tests/data/keras_logs/make_logs.py: evaluate/predict after fit, Ctrl-C mid-epoch, a notebook) or,
for releases that do not install here, written after published logs (tests/data/keras_logs/wild/)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cli import main
from harness.importers import keras_log
from harness.results import find_run

LOGS = Path(__file__).resolve().parents[1] / "data" / "keras_logs"
WILD = LOGS / "wild"
REPO = LOGS.parents[2]


def text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="replace")


def parsed(path: Path, **kwargs) -> keras_log.ParsedLog:
    return keras_log.parse(text(path), **kwargs)


@pytest.mark.parametrize("name", ["keras3_evaluate_v1_pty.log", "keras3_evaluate_v2.log",
                                  "keras2_evaluate_v1_pty.log", "keras2_evaluate_v2.log"])
def test_evaluate_and_predict_after_fit_are_kept_apart(name):
    log = parsed(LOGS / name)
    fit_only = parsed(LOGS / name.replace("_evaluate", ""))   # the same seeded training without them
    assert [e.steps for e in log.epochs] == [400, 400, 400] and log.unreadable == 0
    assert log.epochs[-1].metrics == fit_only.epochs[-1].metrics       # the last epoch is whole
    assert [ev.kind for ev in log.evaluations] == ["evaluate", "predict"]
    evaluate = log.evaluations[0]
    assert evaluate.steps == 50 and evaluate.after_epoch == 3 and "val_loss" not in evaluate.metrics
    assert evaluate.metrics["loss"] == log.epochs[-1].metrics["val_loss"]   # evaluate() on the validation set
    metrics = keras_log.metrics_of(log, 32)
    assert metrics["test_loss"] == evaluate.metrics["loss"] and metrics["final_val_loss"] == evaluate.metrics["loss"]
    assert metrics["steps"] == 1200


def test_tf20_counts_samples_by_its_unit():
    log = parsed(WILD / "tf20_us_per_sample.log", batch_size=32)
    assert log.counts == "samples" and log.counts_from == "the us/sample unit"
    assert [(e.samples, e.steps) for e in log.epochs] == [(60000, 1875)] * 3
    assert log.epochs[1].seconds == pytest.approx(71e-6 * 60000)   # elapsed 4 s is too coarse
    assert log.epochs[1].step_seconds == pytest.approx(71e-6 * 32)
    assert [ev.kind for ev in log.evaluations] == ["evaluate"] and log.evaluations[0].metrics["accuracy"] == 0.977
    metrics = keras_log.metrics_of(log, 32)
    assert metrics["samples_per_sec"] == pytest.approx(120000 / (71e-6 * 60000 + 70e-6 * 60000))


def test_samples_are_never_stored_as_steps_without_a_batch_size():
    log = parsed(WILD / "tf20_us_per_sample.log")
    assert [(e.samples, e.steps, e.step_seconds) for e in log.epochs] == [(60000, None, None)] * 3
    metrics = keras_log.metrics_of(log, None)
    assert metrics["steps"] is None and metrics["samples_per_sec"] == pytest.approx(
        120000 / (71e-6 * 60000 + 70e-6 * 60000))
    assert any("counts samples" in note for note in log.notes)


def test_keras22_per_sample_time_labelled_step_is_read_as_samples():
    log = parsed(WILD / "keras22_samples_per_step.log", batch_size=128)
    assert log.counts == "samples" and "Train on 60000 samples" in log.counts_from
    assert [(e.samples, e.steps, e.seconds) for e in log.epochs] == [(60000, 469, 83.0), (60000, 469, 80.0)]
    assert log.epochs[0].step_seconds == pytest.approx(1e-3 * 128)
    assert keras_log.metrics_of(log, 128)["samples_per_sec"] == pytest.approx(60000 / 80.0)


def test_a_samples_log_compares_at_the_right_ratio(tmp_path):
    """Stored as steps, a sample-counting log inflated samples/s by the batch size (2,204x for ~17x)."""
    results = tmp_path / "r"
    assert main(["import", "keras-log", str(WILD / "keras22_samples_per_step.log"), "--target", "old",
                 "--job", "mlp", "--batch-size", "128", "--results-dir", str(results)]) == 0
    assert main(["import", "keras-log", str(LOGS / "keras2_v2.log"), "--target", "new", "--job", "mlp",
                 "--batch-size", "128", "--results-dir", str(results)]) == 0
    old = find_run(results, "old").results[0]["metrics"]["samples_per_sec"]
    new = find_run(results, "new").results[0]["metrics"]["samples_per_sec"]
    assert old == pytest.approx(750.0) and new == pytest.approx(800 * 128 / (0.407 + 0.442))


def test_keras20_without_a_unit_leaves_counts_to_the_user():
    log = parsed(WILD / "keras20_no_unit.log", batch_size=32)
    assert log.counts == "unknown" and all(e.steps is None and e.samples is None for e in log.epochs)
    assert [e.seconds for e in log.epochs] == [678.0, 701.0, 706.0]
    assert any("--counts samples" in note for note in log.notes)
    told = parsed(WILD / "keras20_no_unit.log", batch_size=32, counts="samples")
    assert [(e.samples, e.steps) for e in told.epochs] == [(50000, 1563)] * 3


def test_keras21_verbose_2_lines_without_a_counter():
    log = parsed(WILD / "keras21_verbose2.log", batch_size=20)
    assert [(e.number, e.seconds, e.samples, e.steps) for e in log.epochs] == [
        (1, 18.0, 2000, 100), (2, 15.0, 2000, 100), (3, 15.0, 2000, 100)]
    assert log.epochs[-1].metrics == {"loss": 0.6102, "acc": 0.6702, "val_loss": 0.6090, "val_acc": 0.6613}
    assert log.unreadable == 0 and keras_log.metrics_of(log, 20)["samples_per_sec"] == pytest.approx(4000 / 30)


def test_the_final_bars_own_metrics_win_over_residue():
    log = parsed(WILD / "keras2_residue.log")
    assert log.epochs[-1].metrics == {"loss": 0.6620, "acc": 0.5902, "val_loss": 0.6522, "val_acc": 0.5711}
    assert log.epochs[-1].seconds == 38.0 and log.epochs[-1].step_seconds == 0.019


@pytest.mark.parametrize("name", ["keras2_seed.log", "keras2_v2.log", "keras3_v2.log"])
def test_an_epoch_header_and_its_bar_on_one_line(name):
    original = parsed(LOGS / name)
    flattened = text(LOGS / name).replace("\n", " ").replace("Epoch", "\nEpoch")   # a Markdown paste
    one_line = text(LOGS / name).replace("\n", " ")
    for variant in (flattened, one_line):
        log = keras_log.parse(variant)
        assert [(e.number, e.steps, e.seconds, e.metrics) for e in log.epochs] == [
            (e.number, e.steps, e.seconds, e.metrics) for e in original.epochs]


@pytest.mark.parametrize("name", ["keras3_interrupted_v1_pty.log", "keras2_interrupted_v1_pty.log"])
def test_an_interrupted_epoch_is_kept_marked_and_untimed(name):
    log = parsed(LOGS / name)
    assert [(e.number, e.complete) for e in log.epochs] == [(1, True), (2, False)]
    assert 140 <= log.epochs[1].steps < 400 and log.epochs[1].seconds is None
    metrics = keras_log.metrics_of(log, 32)
    assert metrics["epoch_seconds"] == [log.epochs[0].seconds] and metrics["steady_epoch_seconds"] is None
    assert any("epoch 2 is incomplete" in note for note in log.notes)


def test_a_log_that_starts_mid_run_keeps_its_epoch_numbers():
    full = text(LOGS / "keras2_v1_pty.log")
    log = keras_log.parse(full[full.index("Epoch 2/3") - 300:])   # copied from inside epoch 1's bar
    assert [(e.number, e.numbered_from) for e in log.epochs] == [(1, "next header"), (2, "header"), (3, "header")]
    assert any("epoch 1 has no Epoch header" in note for note in log.notes)
    assert keras_log.metrics_of(log, 32)["first_epoch_seconds"] is None   # not known to be the warm-up
    full = text(LOGS / "keras2_v2.log")
    log = keras_log.parse(full[full.index("Epoch 2/3"):])
    assert [e.number for e in log.epochs] == [2, 3]
    metrics = keras_log.metrics_of(log, 32)
    assert metrics["first_epoch_seconds"] is None      # epoch 1's warm-up is not in the log
    assert metrics["steady_epoch_seconds"] == pytest.approx((0.407 + 0.442) / 2)


def test_a_notebook_is_read_from_its_code_cells_stream_outputs(tmp_path, capsys):
    notebook = LOGS / "keras3_notebook.ipynb"
    code = main(["import", "keras-log", str(notebook), "--target", "colab", "--job", "mlp", "--batch-size", "32",
                 "--results-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0 and "cell 4 (In [3])" in out and "cell 3" not in out
    run = find_run(tmp_path, "colab")
    assert run.manifest["imported"]["format"] == "notebook" and run.manifest["imported"]["cells"] == ["cell 4 (In [3])"]
    pty_log = parsed(LOGS / "keras3_evaluate_v1_pty.log")
    assert run.results[0]["metrics"]["epoch_seconds"] == [e.seconds for e in pty_log.epochs]
    events = [json.loads(line) for line in (run.path / run.results[0]["_dir"] / "events.jsonl").read_text().splitlines()] \
        if "_dir" in run.results[0] else None
    assert events is None or any(e["event"] == "eval" for e in events)


def test_a_notebook_without_training_output_is_a_one_line_error(tmp_path, capsys):
    import nbformat
    from nbformat import v4
    path = tmp_path / "cleared.ipynb"
    path.write_text(nbformat.writes(v4.new_notebook(cells=[v4.new_code_cell("model.fit(x, y)")])))
    code = main(["import", "keras-log", str(path), "--target", "t", "--job", "mlp", "--results-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "no code cell of this notebook printed a Keras training log" in err and err.count("\n") == 1
    (tmp_path / "broken.ipynb").write_text('{"cells": [')
    assert main(["import", "keras-log", str(tmp_path / "broken.ipynb"), "--target", "t", "--job", "mlp",
                 "--results-dir", str(tmp_path)]) == 2
    assert "not a readable Jupyter notebook" in capsys.readouterr().err
    assert not list(tmp_path.glob("runs/*"))


def test_import_of_a_large_log_shows_progress_and_ctrl_c_stores_nothing(tmp_path):
    big = tmp_path / "big.log"
    line = "400/400 - 1s - loss: 0.0499 - accuracy: 0.9916 - val_loss: 0.0343 - val_accuracy: 0.9975 - 442ms/epoch\n"
    big.write_text("".join(f"Epoch {n}/300000\n{line}" for n in range(1, 300001)))   # 36 MB, 600,000 lines
    results = tmp_path / "r"
    process = subprocess.Popen([sys.executable, "-m", "harness", "import", "keras-log", str(big), "--target", "t",
                                "--job", "mlp", "--results-dir", str(results)], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "COLUMNS": "120"})
    time.sleep(4.0)  # importing harness, then parsing
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, (out, err)
    assert "interrupted" in out and "Traceback" not in err
    assert not list(results.glob("runs/*/*"))
