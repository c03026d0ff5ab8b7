"""TensorFlow 1.15 / 2.x and Keras 2 / Keras 3 differences, in one place.

`tf.keras` is Keras 3 on TF >= 2.16 unless TF_USE_LEGACY_KERAS=1 with tf-keras installed
(TensorFlow's own switch); the jobs use whatever `tf.keras` is and record which.
"""

import os
import platform
import random
import socket
import time

_METRIC_NAMES = {"acc": "accuracy", "val_acc": "val_accuracy"}


class Unsupported(Exception):
    """This TensorFlow or machine cannot run the job as asked: the job ends `skipped`."""


def hide_gpus():
    """device=cpu: must run before TensorFlow is imported to keep CUDA from claiming the GPUs."""
    os.environ["CUDA_VISIBLE_DEVICES"] = "-1"


def device_used(tf):
    """`gpu` when TensorFlow itself lists a GPU (it then places ops there by default), else `cpu`."""
    return "gpu" if any(d["type"] == "GPU" for d in physical_devices(tf)) else "cpu"


def is_tf1(tf):
    return tf.__version__.startswith("1.")


def import_tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    return tf


def set_seed(tf, seed):
    import numpy as np
    random.seed(seed)
    np.random.seed(seed)
    if hasattr(tf, "random") and hasattr(tf.random, "set_seed"):
        tf.random.set_seed(seed)
    else:
        tf.set_random_seed(seed)


def metric_logs(logs):
    """Keras logs with TF1's short names (`acc`) renamed and values as plain floats."""
    return dict((_METRIC_NAMES.get(k, k), float(v)) for k, v in (logs or {}).items())


def physical_devices(tf):
    config = tf.config
    lister = getattr(config, "list_physical_devices", None) or config.experimental.list_physical_devices
    return [{"name": d.name, "type": d.device_type} for d in lister()]


def cpu_model():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.lower().startswith(("model name", "hardware")):
                    return line.split(":", 1)[1].strip()
    except (IOError, OSError):
        pass
    return platform.processor() or platform.machine()


def keras_version(keras):
    """`tf.keras.__version__`; with TF_USE_LEGACY_KERAS the lazy module lacks it, tf_keras has it."""
    version = getattr(keras, "__version__", None)
    if version is None:
        try:
            import tf_keras
            version = tf_keras.__version__
        except ImportError:
            version = "unknown"
    return version


def is_keras3(keras):
    return keras_version(keras).startswith("3")


def environment(tf):
    """Facts that change a number: recorded in every job's start event (tf None: not loaded)."""
    facts = {
        "python": platform.python_version(),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "hostname": socket.gethostname(),
        "machine": platform.machine(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
    }
    if tf is None:
        return facts
    keras = tf.keras
    build = {}
    if hasattr(tf, "sysconfig") and hasattr(tf.sysconfig, "get_build_info"):
        build = dict((k, v) for k, v in tf.sysconfig.get_build_info().items()
                     if k in ("cuda_version", "cudnn_version", "is_cuda_build"))
    facts.update({
        "tf": tf.__version__,
        "keras": keras_version(keras),
        "keras_flavour": "keras3" if is_keras3(keras) else "keras2",
        "tf_build": build,
        "devices": physical_devices(tf),
    })
    return facts


def input_layer(keras, shape):
    """Keras 3 wants `keras.Input` in a Sequential list; Keras 2 and TF 1.15 take an InputLayer."""
    if is_keras3(keras):
        return keras.Input(shape=shape)
    return keras.layers.InputLayer(input_shape=shape)


def timed_numpy_matmul(size, repeats):
    """Median seconds of a size x size float32 matmul in numpy (no TensorFlow)."""
    import numpy as np
    matrix = np.random.rand(size, size).astype("float32")
    durations = []
    for _ in range(repeats + 1):
        start = time.monotonic()
        matrix.dot(matrix)
        durations.append(time.monotonic() - start)
    return float(np.median(durations[1:]))


def timed_matmul(tf, device, size, repeats):
    """Median seconds of a size x size float32 matmul on `device`, eager (TF2) or in a session (TF1)."""
    import numpy as np
    durations = []
    if tf.executing_eagerly():
        with tf.device(device):
            matrix = tf.random.uniform((size, size))
            for _ in range(repeats + 1):
                start = time.monotonic()
                tf.linalg.matmul(matrix, matrix).numpy()
                durations.append(time.monotonic() - start)
    else:
        graph = tf.Graph()
        with graph.as_default(), tf.device(device):
            matrix = tf.random.uniform((size, size))
            product = tf.reduce_sum(tf.linalg.matmul(matrix, matrix))
        with tf.compat.v1.Session(graph=graph) as session:
            for _ in range(repeats + 1):
                start = time.monotonic()
                session.run(product)
                durations.append(time.monotonic() - start)
    return float(np.median(durations[1:]))


def is_out_of_memory(tf, error):
    return isinstance(error, (MemoryError, tf.errors.ResourceExhaustedError))
