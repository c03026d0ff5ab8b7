"""digits is read from scikit-learn's data file without importing scikit-learn (issue 11, item 2).

On a Jetson, scikit-learn's aarch64 wheel loads its bundled libgomp when imported, and after
TensorFlow that fails ("cannot allocate memory in static TLS block"). No stand-in reproduces the
failure itself (it needs Ubuntu 18.04's glibc and NVIDIA's TF), so the test checks its cause: in a
fresh process that imports TensorFlow first, as the jobs do, loading digits imports no scikit-learn
module. (Keras 3, i.e. TF >= 2.16, imports parts of scikit-learn itself; TF 2.7 does not, and
tests/integration/test_emulated_arm64.py checks that none is loaded at all there.) About 10 s
(the TensorFlow import).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from harness_jobs import data

from ..conftest import REPO

pytest.importorskip("sklearn")


def test_digits_after_tensorflow_never_imports_sklearn_and_equals_its_loader():
    script = textwrap.dedent("""
        import sys
        import numpy as np
        import tensorflow as tf
        from harness_jobs import data
        before = set(sys.modules)
        x_train, y_train, x_test, y_test = data.load_digits()
        loaded = sorted(m for m in set(sys.modules) - before if m == "sklearn" or m.startswith("sklearn."))
        assert not loaded, "loading digits imported " + ", ".join(loaded[:5])
        images, labels = data.read_digits()
        from sklearn.datasets import load_digits
        real = load_digits()
        assert images.dtype == real.images.dtype and np.array_equal(images, real.images)
        assert np.array_equal(labels, real.target)
        assert (len(x_train), len(x_test)) == (1437, 360) and x_train.shape[1:] == (28, 28)
        assert sorted(np.concatenate([y_train, y_test]).tolist()) == sorted(real.target.tolist())
        print("ok", tf.__version__)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(REPO)})
    assert done.returncode == 0 and done.stdout.startswith("ok"), done.stdout + done.stderr[-3000:]


def test_digits_without_sklearn_installed_is_a_clear_error(monkeypatch):
    import importlib.util
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(data.DatasetUnavailable, match="scikit-learn is not installed"):
        data.load_digits()
