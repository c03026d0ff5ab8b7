"""Captures real Keras console logs for the keras-log importer's tests.

Trains a small MLP on scikit-learn's bundled digits (offline, tiled 8x) for 3 epochs of 400 steps with validation,
in Keras 3 (tf.keras on TF >= 2.16) and Keras 2 (TF_USE_LEGACY_KERAS=1 with tf-keras), with
verbose=1 through a pseudo-terminal (keeps the \\r, \\b and ANSI codes a notebook or terminal
shows) and through a pipe, and verbose=2. Run from the repository root:

    .venv/bin/python tests/data/keras_logs/make_logs.py [NAME.log ...]   # default: all

Also captured: fit then evaluate() and predict() (`*_evaluate_*`), and a fit stopped by Ctrl-C half-way
through epoch 2 (`*_interrupted_*`); keras3_notebook.ipynb puts the Keras 3 evaluate capture into a
real nbformat v4 notebook. Formats of Keras and TF releases that do not install here are in
README.md beside this file, with the public logs they were taken from.

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
mode = sys.argv[2] if len(sys.argv) > 2 else "fit"
callbacks = []
if mode == "interrupt":  # Ctrl-C half-way through epoch 2, as a user stopping a long run
    def stop(batch, logs):
        if model.optimizer.iterations.numpy() == 400 + 150:
            raise KeyboardInterrupt
    callbacks = [tf.keras.callbacks.LambdaCallback(on_train_batch_end=stop)]
try:
    model.fit(x[:12800], y[:12800], batch_size=32, epochs=3, validation_data=(x[12800:], y[12800:]),
              verbose=int(sys.argv[1]), callbacks=callbacks)
except KeyboardInterrupt:
    sys.exit(0)
if mode == "evaluate":  # the TF quickstart's evaluate after fit, then a predict bar
    model.evaluate(x[12800:], y[12800:], verbose=int(sys.argv[1]))
    model.predict(x[12800:], verbose=int(sys.argv[1]))
"""


def capture_pipe(env, verbose, mode="fit"):
    done = subprocess.run([sys.executable, "-c", TRAIN, str(verbose), mode], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, check=True)
    return done.stdout


def capture_pty(env, verbose, mode="fit"):
    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-c", TRAIN, str(verbose), mode], env=env, stdout=slave,
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


def notebook(stream: bytes):
    """A real nbformat v4 notebook whose training cell holds `stream` as Jupyter stores it: the
    text split into several stream outputs, with its \\r, \\b and ANSI codes."""
    import nbformat
    from nbformat import v4
    text = stream.decode()
    third = len(text) // 3
    cells = [v4.new_markdown_cell("# MNIST-style MLP"),
             v4.new_code_cell("import tensorflow as tf", execution_count=1),
             v4.new_code_cell("print('data ready')", execution_count=2,
                              outputs=[v4.new_output("stream", name="stdout", text="data ready\n")]),
             v4.new_code_cell("model.fit(...); model.evaluate(...); model.predict(...)", execution_count=3,
                              outputs=[v4.new_output("stream", name="stdout", text=part)
                                       for part in (text[:third], text[third:2 * third], text[2 * third:])])]
    return nbformat.writes(v4.new_notebook(cells=cells)).encode()


def main():
    only = set(sys.argv[1:])
    for flavour, legacy in (("keras3", "0"), ("keras2", "1")):
        env = dict(os.environ, TF_USE_LEGACY_KERAS=legacy, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
        captures = {f"{flavour}_v1_pty.log": lambda: capture_pty(env, 1),
                    f"{flavour}_v1_pipe.log": lambda: capture_pipe(env, 1),
                    f"{flavour}_v2.log": lambda: capture_pipe(env, 2),
                    f"{flavour}_evaluate_v1_pty.log": lambda: capture_pty(env, 1, "evaluate"),
                    f"{flavour}_evaluate_v2.log": lambda: capture_pipe(env, 2, "evaluate"),
                    f"{flavour}_interrupted_v1_pty.log": lambda: capture_pty(env, 1, "interrupt")}
        for name, capture in captures.items():
            if only and name not in only:
                continue
            data = capture()
            (HERE / name).write_bytes(data)
            print(f"wrote {name}: {len(data)} bytes")
            if name == "keras3_evaluate_v1_pty.log":
                (HERE / "keras3_notebook.ipynb").write_bytes(notebook(data))
                print("wrote keras3_notebook.ipynb")


if __name__ == "__main__":
    main()
