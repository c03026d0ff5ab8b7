"""Captures real Keras console logs for the keras-log importer's tests.

Trains a small MLP on scikit-learn's bundled digits (offline, tiled 8x) for 3 epochs of 400 steps with validation,
in Keras 3 (tf.keras on TF >= 2.16) and Keras 2 (TF_USE_LEGACY_KERAS=1 with tf-keras), with
verbose=1 through a pseudo-terminal (keeps the \\r, \\b and ANSI codes a notebook or terminal
shows) and through a pipe, and verbose=2. Run from the repository root:

    .venv/bin/python tests/data/keras_logs/make_logs.py

The seed's own Keras 2 log (`keras2_seed.log`) is composed by hand from the seed's lines,
since the TX2 that printed it is not here.
"""

import os
import pty
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TRAIN = r"""
import sys
import numpy as np
import tensorflow as tf
from sklearn.datasets import load_digits
x, y = load_digits(return_X_y=True)
x = np.tile((x / 16.0).astype("float32"), (8, 1))  # 8x the set: epochs of about a second
y = np.tile(y, 8)
tf.keras.utils.set_random_seed(0)
model = tf.keras.Sequential([tf.keras.Input((64,)), tf.keras.layers.Dense(256, activation="relu"),
                             tf.keras.layers.Dense(10)])
model.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
model.fit(x[:12800], y[:12800], batch_size=32, epochs=3, validation_data=(x[12800:], y[12800:]),
          verbose=int(sys.argv[1]))
"""


def capture_pipe(env, verbose):
    done = subprocess.run([sys.executable, "-c", TRAIN, str(verbose)], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, check=True)
    return done.stdout


def capture_pty(env, verbose):
    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-c", TRAIN, str(verbose)], env=env, stdout=slave,
                               stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    if process.wait() != 0:
        raise SystemExit(f"training failed under a pty (exit {process.returncode})")
    return b"".join(chunks)


def main():
    for flavour, legacy in (("keras3", "0"), ("keras2", "1")):
        env = dict(os.environ, TF_USE_LEGACY_KERAS=legacy, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
        for name, data in ((f"{flavour}_v1_pty.log", capture_pty(env, 1)),
                           (f"{flavour}_v1_pipe.log", capture_pipe(env, 1)),
                           (f"{flavour}_v2.log", capture_pipe(env, 2))):
            (HERE / name).write_bytes(data)
            print(f"wrote {name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
