"""The labs (transfer, retrain, label_image) on real TensorFlow: the hw5-offline suite end to
end, the bottleneck cache, the export -> label_image hand-over, the OOM retry, the TF-Hub and
dataset loaders against a loopback HTTP server, and the offline failure message."""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import pytest

from harness_jobs import data, images
from tests.conftest import only_run, read_results, run_harness

HEAD_PARAMS_MOBILENET = 1280 * 5 + 5   # a Dense(5) head on MobileNetV2's 1280 features


def run_job(job: str, params: dict, out: Path, cache: Path, env: dict | None = None) -> dict:
    """`python -m harness_jobs JOB` as a real process; its end event."""
    done = subprocess.run([sys.executable, "-m", "harness_jobs", job, "--params", json.dumps(params), "--out", str(out),
                           "--cache-dir", str(cache)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    end = events[-1]
    assert end["event"] == "end", done.stderr[-2000:]
    end["all_events"] = events
    end["exit_code"] = done.returncode
    return end


@pytest.fixture(scope="module")
def offline_run(tmp_path_factory):
    """hw5-offline on a local target whose cache (and so work dir) is private to this test."""
    folder = tmp_path_factory.mktemp("hw5")
    (folder / "harness.toml").write_text(f'[targets.lab]\nrunner = "local"\ncache_dir = "{folder / "cache"}"\n')
    done = run_harness("run", "--target", "lab", "--suite", "hw5-offline", "--results-dir", "res", cwd=folder,
                       timeout=900)
    return done, {r["label"]: r for r in read_results(only_run(folder / "res"))}, folder


def test_hw5_offline_every_job_ends_ok_or_skipped_for_want_of_a_gpu(offline_run):
    done, results, _ = offline_run
    assert done.code == 0, done.out[-3000:] + done.err[-3000:]
    assert len(results) == 17
    for label, result in results.items():
        if "device=gpu" in label:
            assert result["status"] == "skipped", label
            assert "TensorFlow sees no GPU" in result["error"]
        else:
            assert result["status"] == "ok", (label, result["error"])
            assert result["metrics"]["device"] == "cpu"


def test_transfer_frozen_trains_only_the_head_and_fine_tuning_trains_the_backbone(offline_run):
    _, results, _ = offline_run
    frozen = results["transfer trainable=False loader=generator device=auto"]["metrics"]
    tuned = results["transfer trainable=True loader=tfdata device=auto"]["metrics"]
    assert frozen["trainable_params"] == HEAD_PARAMS_MOBILENET
    assert tuned["trainable_params"] > 2_000_000
    assert frozen["trainable_params"] + frozen["non_trainable_params"] == \
        tuned["trainable_params"] + tuned["non_trainable_params"]
    for metrics in (frozen, tuned):
        assert metrics["input_seconds_per_batch"] > 0 and isinstance(metrics["input_bound"], bool)
        assert metrics["steps_per_epoch"] == 4 and metrics["train_samples"] == 100  # 5 classes x 20 images


def test_retrain_uses_each_architectures_size_and_exports_what_label_image_needs(offline_run):
    _, results, folder = offline_run
    sizes = {r["params"]["architecture"]: r["metrics"]["image_size"] for r in results.values()
             if r["job"] == "retrain" and r["status"] == "ok"}
    assert sizes == {"mobilenet_v2": 224, "inception_v3": 299}
    for architecture, size in sizes.items():
        label = next(k for k in results if k.startswith("label_image") and architecture in k)
        labelled = results[label]["metrics"]
        assert (labelled["input_layer"], labelled["output_layer"], labelled["input_size"]) == \
            ("Placeholder", "final_result", size)
        assert labelled["images"] > 0 and labelled["latency_ms_p95"] >= labelled["latency_ms_p50"] > 0
        assert 0.0 <= labelled["top1_accuracy"] <= 1.0
        export = json.loads((folder / "cache" / "work" / "exports" / f"offline-{architecture}" /
                             "export.json").read_text())
        assert export["input_height"] == size and export["output_layer"] == "final_result"


def test_a_second_retrain_hits_the_bottleneck_cache(offline_run, tmp_path):
    _, results, folder = offline_run
    first = next(r for r in results.values() if r["job"] == "retrain" and r["params"]["learning_rate"] == 0.005)
    assert first["metrics"]["bottlenecks_created"] == 200  # the suite's first retrain made them all
    again = run_job("retrain", {**first["params"], "how_many_training_steps": 10}, tmp_path, folder / "cache")
    metrics = again["metrics"]
    assert again["status"] == "ok"
    assert (metrics["bottlenecks_created"], metrics["bottleneck_cache_hits"]) == (0, 200)
    assert metrics["bottleneck_seconds"] < first["metrics"]["bottleneck_seconds"]


def test_oom_retry_halves_the_batch_after_a_real_resource_exhausted_error(tmp_path):
    params = {"model": "keras/mobilenet_v2", "weights": "none", "dataset": "generated", "generated_images": 8,
              "image_size": 32, "epochs": 1, "batch_size": 32, "oom_test_above_batch": 8, "loader": "tfdata",
              "input_probe_batches": 0}
    end = run_job("transfer", params, tmp_path / "retry", tmp_path / "cache")
    assert end["status"] == "ok", end["error"]
    assert end["metrics"]["batch_size_used"] == 8 and end["metrics"]["oom_retries"] == 2
    retries = [e for e in end["all_events"] if e["event"] == "oom_retry"]
    assert [(e["batch_size"], e["next_batch_size"]) for e in retries] == [(32, 16), (16, 8)]
    assert all("OOM when allocating" in e["error"] for e in retries)

    no_retry = run_job("transfer", {**params, "oom_retry": False}, tmp_path / "plain", tmp_path / "cache")
    assert (no_retry["status"], no_retry["exit_code"]) == ("oom", 3)
    assert "ResourceExhaustedError" in no_retry["error"]


def test_transfer_on_the_keras2_flavour(tmp_path):
    """TF_USE_LEGACY_KERAS=1 makes tf.keras Keras 2 (tf-keras): the tf.data path runs there too."""
    params = {"model": "keras/mobilenet_v2", "weights": "none", "dataset": "generated", "generated_images": 8,
              "image_size": 32, "epochs": 2, "loader": "tfdata", "input_probe_batches": 1}
    end = run_job("transfer", params, tmp_path / "out", tmp_path / "cache", {"TF_USE_LEGACY_KERAS": "1"})
    assert end["status"] == "ok", end["error"]
    assert end["metrics"]["keras_version"].startswith("2.")
    assert end["all_events"][0]["environment"]["keras_flavour"] == "keras2"


# --- loaders behind the cache folder, against a loopback server ---------------------------------

@pytest.fixture
def loopback(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/served; yields its base URL, stops after."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", served, server
    server.shutdown()


def shallow_feature_extractor(path: Path) -> None:
    """A SavedModel that hub.KerasLayer loads: one conv layer and a global pool (16 features)."""
    script = f"""
import os; os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import tensorflow as tf, tf_keras as k
model = k.Sequential([k.layers.InputLayer(input_shape=(None, None, 3)),
                      k.layers.Conv2D(16, 3, strides=2, activation="relu"), k.layers.GlobalAveragePooling2D()])
tf.saved_model.save(model, {str(path)!r})
"""
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, timeout=300)


def test_tfhub_handle_is_prepared_from_loopback_then_used_offline(loopback, tmp_path):
    base, served, server = loopback
    shallow_feature_extractor(tmp_path / "feature")
    with tarfile.open(served / "feature.tar.gz", "w:gz") as archive:
        archive.add(tmp_path / "feature", arcname=".")
    handle = f"{base}/feature.tar.gz"
    cache = tmp_path / "cache"
    prepared = run_harness("prepare", "--job", "transfer", "--set", f"model={handle}", "--set", "dataset=generated",
                           "--cache-dir", str(cache), cwd=tmp_path)
    assert prepared.code == 0, prepared.out + prepared.err
    assert str(cache / "tfhub") in prepared.out.replace("\n", "")
    server.shutdown()  # from here on nothing can be downloaded

    params = {"model": handle, "dataset": "generated", "image_size": 64, "epochs": 10, "learning_rate": 0.1,
              "validation_split": 0.2}
    end = run_job("transfer", params, tmp_path / "out", cache)
    assert end["status"] == "ok", end["error"]
    assert end["metrics"]["trainable_params"] == 16 * 5 + 5  # frozen: only the head trains
    assert end["metrics"]["final_val_accuracy"] > 0.5        # the shallow features separate the colours


def make_flower_archive(path: Path) -> None:
    source = path.parent / "flower_source" / "flower_photos"
    for name in ("daisy", "roses"):
        (source / name).mkdir(parents=True)
        for index in range(3):
            (source / name / f"{name}_{index}.jpg").write_bytes(b"not really a jpeg")
    with tarfile.open(path, "w:gz") as archive:
        archive.add(source, arcname="flower_photos")


def test_flower_photos_is_downloaded_and_extracted_once_then_read_from_the_cache(loopback, tmp_path, monkeypatch):
    import tf_keras as keras  # get_file is the loader the job uses; either Keras flavour has it
    base, served, server = loopback
    make_flower_archive(served / "flower_photos.tgz")
    monkeypatch.setattr(images, "FLOWERS_URL", f"{base}/flower_photos.tgz")
    cache = tmp_path / "cache"
    folder = images.flower_photos(keras, str(cache))
    assert folder == str(cache / "datasets" / "flower_photos")
    classes, items = images.list_images(folder)
    assert classes == ["daisy", "roses"] and len(items) == 6
    server.shutdown()
    assert images.flower_photos(keras, str(cache)) == folder


def test_an_archive_escaping_the_cache_is_refused(tmp_path):
    evil = tmp_path / "evil.tgz"
    (tmp_path / "payload").write_text("x")
    with tarfile.open(evil, "w:gz") as archive:
        archive.add(tmp_path / "payload", arcname="../outside")
    with pytest.raises(data.DatasetUnavailable, match="unsafe member"):
        images._safe_extract(str(evil), str(tmp_path / "dest"))
    assert not (tmp_path / "outside").exists()


def test_a_job_missing_its_dataset_offline_fails_fast_naming_the_file_and_prepare(tmp_path):
    started = time.monotonic()
    end = run_job("transfer", {"dataset": "flower_photos"}, tmp_path / "out", tmp_path / "empty-cache")
    assert end["status"] == "failed" and end["exit_code"] == 1
    assert "flower_photos.tgz" in end["error"] and str(tmp_path / "empty-cache" / "datasets") in end["error"]
    assert "harness prepare --suite" in end["error"]
    assert time.monotonic() - started < 120


def test_label_image_without_an_export_names_the_retrain_setting(tmp_path):
    end = run_job("label_image", {"export": "nothing-here"}, tmp_path / "out", tmp_path / "cache")
    assert end["status"] == "failed"
    assert "export_as='nothing-here'" in end["error"]


def test_prepare_for_an_offline_suite_has_nothing_to_fetch(tmp_path):
    done = run_harness("prepare", "--suite", "hw5-offline", "--cache-dir", str(tmp_path / "c"), cwd=tmp_path)
    assert done.code == 0 and "nothing to fetch" in done.out
