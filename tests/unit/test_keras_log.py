"""The keras-log importer on real captured logs (tests/data/keras_logs/make_logs.py made them with
TF 2.21: Keras 3 and Keras 2, verbose=1 through a pty and a pipe, verbose=2) and the seed's lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.compare import compare
from harness.importers import keras_log
from harness.results import find_run

LOGS = Path(__file__).resolve().parents[1] / "data" / "keras_logs"
CAPTURED = ["keras3_v1_pty.log", "keras3_v1_pipe.log", "keras3_v2.log",
            "keras2_v1_pty.log", "keras2_v1_pipe.log", "keras2_v2.log"]


def parsed(name: str) -> keras_log.ParsedLog:
    return keras_log.parse((LOGS / name).read_bytes().decode("utf-8", errors="replace"))


@pytest.mark.parametrize("name", CAPTURED)
def test_every_captured_format_gives_three_complete_epochs(name):
    log = parsed(name)
    assert log.flavour == name[:6] and log.unreadable == 0
    assert [e.number for e in log.epochs] == [1, 2, 3] and all(e.steps == 400 for e in log.epochs)
    assert all(e.seconds and e.seconds > 0 for e in log.epochs) and all(e.step_seconds for e in log.epochs)
    assert {"loss", "val_loss"} <= set(log.epochs[-1].metrics)


def test_terminal_and_pipe_captures_agree_with_the_verbose_2_numbers():
    # the same seeded training: the final metrics printed at epoch 1 are identical in all three
    first = [parsed(f"keras2_{kind}.log").epochs[0].metrics for kind in ("v1_pty", "v1_pipe", "v2")]
    assert first[0] == first[1] == first[2] == {"loss": 0.4734, "accuracy": 0.9165, "val_loss": 0.1268,
                                                "val_accuracy": 0.9727}


def test_verbose_2_keras2_uses_the_per_epoch_time():
    epochs = parsed("keras2_v2.log").epochs
    assert [e.seconds for e in epochs] == pytest.approx([0.790, 0.407, 0.442])
    assert {e.seconds_from for e in epochs} == {"per-epoch"}


def test_the_seed_line_format():
    log = parsed("keras2_seed.log")
    assert log.flavour == "keras2"
    assert [(e.steps, e.seconds, e.step_seconds) for e in log.epochs] == [(115, 281.0, 2.0), (115, 206.0, 2.0)]
    assert log.epochs[0].metrics == {"loss": 0.6960, "acc": 0.8125}
    metrics = keras_log.metrics_of(log, batch_size=32)
    assert metrics["first_epoch_seconds"] == 281.0 and metrics["steady_epoch_seconds"] == 206.0
    assert metrics["train_seconds"] == 487.0 and metrics["samples_per_sec"] == 115 * 32 / 206.0
    assert metrics["final_accuracy"] == 0.9010 and metrics["final_val_accuracy"] == 0.8900
    assert keras_log.metrics_of(log, batch_size=None)["samples_per_sec"] is None


def test_carriage_returns_and_backspaces_are_replayed_like_a_terminal():
    assert keras_log.render("abcdef\b\b\b\rXY\n") == ["XYcdef", ""]
    assert keras_log.render("\x1b[1m1/2\x1b[0m\r2/2 done") == ["2/2 done"]


def test_unreadable_lines_are_counted_not_fatal():
    text = (LOGS / "keras2_seed.log").read_text() + "WARNING: something\n\x00\xff garbage\n1/0 [] - nonsense\n"
    log = keras_log.parse(text)
    assert len(log.epochs) == 2 and log.unreadable == 2 and log.unreadable_examples[0] == "WARNING: something"
    assert keras_log.parse("").epochs == [] and keras_log.parse("\b\r\r\b").unreadable == 0


def test_import_stores_a_run_that_compares_with_others(tmp_path, capsys):
    results = tmp_path / "reports"
    for log, target in (("keras2_seed.log", "tx2"), ("keras3_v2.log", "laptop")):
        code = main(["import", "keras-log", str(LOGS / log), "--target", target, "--job", "mnist_mlp",
                     "--batch-size", "32", "--set", "dataset=mnist", "--results-dir", str(results)])
        assert code == 0, capsys.readouterr().err
    tx2 = find_run(results, "tx2")
    assert tx2.manifest["imported"]["file"] == "keras2_seed.log" and tx2.manifest["imported"]["unreadable_lines"] == 0
    result = tx2.results[0]
    assert result["key"].startswith("mnist_mlp-") and result["params"]["batch_size"] == 32
    assert result["metrics"]["epoch_seconds"] == [281.0, 206.0]
    rows = compare([tx2, find_run(results, "laptop")]).rows
    assert rows[1]["steady_epoch_ratio"] == pytest.approx(((0.4 + 0.8) / 2) / 206.0)
    assert rows[0]["keras"] == "keras2" and rows[1]["keras"] == "keras3"
    assert main(["compare", "tx2", "laptop", "--results-dir", str(results)]) == 0
    summary = json.loads((results / "compare" / "tx2_vs_laptop" / "summary.json").read_text())
    assert [r["imported"] for r in summary["runs"]] == [True, True]


def test_a_log_without_epochs_is_stored_as_failed(tmp_path, capsys):
    log = tmp_path / "empty.log"
    log.write_text("nothing useful\n")
    code = main(["import", "keras-log", str(log), "--target", "tx2", "--job", "legacy_job",
                 "--results-dir", str(tmp_path / "r")])
    out = capsys.readouterr().out
    assert code == 1 and "1 of 1 line(s) could not be read" in out
    result = find_run(tmp_path / "r", "tx2").results[0]
    assert result["status"] == "failed" and "no complete epoch" in result["error"]


@pytest.mark.parametrize("args, message", [
    (["--target", "../../etc", "--job", "mnist_mlp"], "--target '../../etc'"),
    (["--target", "tx2", "--job", "../x"], "--job '../x'"),
    (["--target", "tx2", "--job", "mnist_mlp", "--batch-size", "0"], "--batch-size must be 1 or more"),
    (["--target", "tx2", "--job", "mnist_mlp", "--set", "nope=1"], "--set nope"),
])
def test_bad_import_arguments_are_one_line_errors(tmp_path, capsys, args, message):
    code = main(["import", "keras-log", str(LOGS / "keras2_seed.log"), *args, "--results-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not list(tmp_path.glob("runs/*"))


def test_a_missing_file_is_a_usage_error(tmp_path, capsys):
    code = main(["import", "keras-log", str(tmp_path / "nope.log"), "--target", "tx2", "--job", "x",
                 "--results-dir", str(tmp_path)])
    assert code == 2 and "cannot read" in capsys.readouterr().err


def test_a_diverged_loss_is_imported_and_compared_without_crashing(tmp_path, capsys):
    log = tmp_path / "nan.log"
    log.write_text("Epoch 1/2\n10/10 - 2s - loss: nan - accuracy: 0.1000 - 200ms/epoch - 20ms/step\n"
                   "Epoch 2/2\n10/10 - 2s - loss: nan - accuracy: 0.1000 - 210ms/epoch - 21ms/step\n")
    results = tmp_path / "r"
    for target in ("a", "b"):
        assert main(["import", "keras-log", str(log), "--target", target, "--job", "legacy",
                     "--results-dir", str(results)]) == 0
    assert main(["compare", "a", "b", "--results-dir", str(results)]) == 0, capsys.readouterr().err
    summary = json.loads((results / "compare" / "a_vs_b" / "summary.json").read_text())
    assert summary["rows"][0]["final_accuracy"] == 0.1 and summary["rows"][1]["total_time_ratio"] == 1.0
