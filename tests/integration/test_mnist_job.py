"""The real mnist_mlp job with real TensorFlow, as the harness launches it."""

import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from harness_jobs.events import PREFIX


def run_job(tmp_path, params, env=None):
    out = tmp_path / "out"
    process = subprocess.run([sys.executable, "-m", "harness_jobs", "mnist_mlp", "--params", json.dumps(params),
                              "--out", str(out), "--cache-dir", str(tmp_path / "cache")],
                             capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=300)
    streamed = [json.loads(line[len(PREFIX):]) for line in process.stdout.splitlines() if line.startswith(PREFIX)]
    return process, streamed, out


@pytest.mark.parametrize("legacy_keras, flavour", [("0", "keras3"), ("1", "keras2")])
def test_seed_model_trains_on_digits_in_both_keras_flavours(tmp_path, legacy_keras, flavour):
    process, events, out = run_job(tmp_path, {"epochs": 2}, {"TF_USE_LEGACY_KERAS": legacy_keras})
    assert process.returncode == 0, process.stderr[-2000:]
    stored = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert stored == events
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("epoch") == 2
    start, end = events[0], events[-1]
    assert start["environment"]["keras_flavour"] == flavour
    assert start["params"]["hidden_units"] == 128 and start["params"]["dataset"] == "digits"
    assert end["status"] == "ok" and end["metrics"]["trainable_params"] == 101770
    steps = [e for e in events if e["event"] == "step"]
    for epoch in (0, 1):
        sizes = [s["batch_size"] for s in steps if s["epoch"] == epoch]
        assert len(sizes) == 45 and sum(sizes) == 1437
    assert all(s["seconds"] > 0 for s in steps)
    epoch_metrics = [e["metrics"] for e in events if e["event"] == "epoch"]
    assert {"accuracy", "loss", "val_accuracy", "val_loss"} <= set(epoch_metrics[-1])
    assert 0.5 < end["metrics"]["final_val_accuracy"] <= 1.0


def test_hidden_layers_and_units_shape_the_model(tmp_path):
    process, events, _ = run_job(tmp_path, {"epochs": 1, "hidden_layers": 2, "hidden_units": 64,
                                            "dataset": "synthetic", "limit": 256, "l2": 1e-3})
    assert process.returncode == 0, process.stderr[-2000:]
    # 784*64+64 + 64*64+64 + 64*10+10
    assert events[-1]["metrics"]["trainable_params"] == 55050


def test_bad_parameters_exit_2_before_tensorflow_loads(tmp_path):
    process, events, out = run_job(tmp_path, {"epochs": "two"})
    assert process.returncode == 2 and events == []
    assert "parameter 'epochs' must be a int" in process.stderr


class _OneFile(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def test_mnist_loader_downloads_once_into_the_cache_then_works_offline(tmp_path):
    from harness_jobs import compat, data
    tf = compat.import_tensorflow()
    archive = tmp_path / "made.npz"
    rng = np.random.RandomState(1)
    np.savez(archive, x_train=rng.randint(0, 256, (64, 28, 28)).astype("uint8"), y_train=rng.randint(0, 10, 64),
             x_test=rng.randint(0, 256, (16, 28, 28)).astype("uint8"), y_test=rng.randint(0, 10, 16))
    _OneFile.body = archive.read_bytes()
    server = http.server.HTTPServer(("127.0.0.1", 0), _OneFile)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/mnist.npz"
    sha256 = hashlib.sha256(_OneFile.body).hexdigest()
    try:
        x_train, y_train, x_test, _ = data.load_mnist(tf.keras, str(tmp_path / "cache"), url=url, sha256=sha256)
    finally:
        server.shutdown()
        server.server_close()
    assert x_train.shape == (64, 28, 28) and x_test.shape == (16, 28, 28) and float(x_train.max()) <= 1.0
    assert (tmp_path / "cache" / "datasets" / "mnist.npz").exists()
    again = data.load_mnist(tf.keras, str(tmp_path / "cache"), url=url, sha256=sha256)  # server is gone
    assert (again[1] == y_train).all()
    with pytest.raises(data.DatasetUnavailable, match="mnist.npz is not in the cache folder .*empty/datasets"):
        data.load_mnist(tf.keras, str(tmp_path / "empty"), url=url, sha256=sha256)
