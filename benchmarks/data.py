"""Datasets: the real loaders behind a cache directory, and offline data for tests.

Nothing here downloads when the file is already in the cache; a missing file with no
network fails fast with a message that names the file, the folder and the URL.
"""

import hashlib
import os

MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


class DatasetUnavailable(Exception):
    """A dataset file is neither cached nor downloadable."""


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(keras, fname, url, cache_dir, sha256=None, subdir="datasets"):
    """Path of `fname` in `<cache_dir>/<subdir>`, downloaded with Keras' get_file if absent.

    The folder is created first: get_file would otherwise fall back to /tmp/.keras silently.
    """
    folder = os.path.join(cache_dir, subdir)
    cached = os.path.join(folder, fname)
    if os.path.exists(cached):
        if sha256 and _sha256(cached) != sha256:
            raise DatasetUnavailable("%s does not match its expected sha256 %s; delete it and fetch it again"
                                     % (cached, sha256))
        return cached
    try:
        if not os.path.isdir(folder):
            os.makedirs(folder)
        return keras.utils.get_file(fname, origin=url, file_hash=sha256,
                                    cache_dir=cache_dir, cache_subdir=subdir)
    except Exception as error:  # Keras raises a bare Exception for fetch failures
        raise DatasetUnavailable(
            "%s is not in the cache folder %s and could not be downloaded from %s (%s); fill the "
            "cache on a machine with internet: harness prepare --suite SUITE --cache-dir DIR"
            % (fname, folder, url, error))


def load_mnist(keras, cache_dir, url=MNIST_URL, sha256=MNIST_SHA256):
    """The real MNIST (60,000 / 10,000), the same file keras.datasets.mnist downloads."""
    import numpy as np
    with np.load(fetch(keras, "mnist.npz", url, cache_dir, sha256)) as arrays:
        return ((arrays["x_train"] / 255.0).astype("float32"), arrays["y_train"].astype("int64"),
                (arrays["x_test"] / 255.0).astype("float32"), arrays["y_test"].astype("int64"))


DIGITS_FILE = ("datasets", "data", "digits.csv.gz")


def digits_path():
    """Path of the digits file inside the installed scikit-learn package, found without importing it.

    importlib.util.find_spec on a top-level name only locates the package (its __init__ is not
    executed), so no scikit-learn code and none of its extension libraries are loaded.
    """
    import importlib.util
    spec = importlib.util.find_spec("sklearn")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = os.path.join(folder, *DIGITS_FILE)
        if os.path.isfile(path):
            return path
    raise DatasetUnavailable("the digits dataset is read from scikit-learn's bundled %s, but %s; "
                             "install scikit-learn in this environment (the images do)"
                             % ("/".join(DIGITS_FILE), "scikit-learn is not installed" if not folders
                                else "it is not under %s" % ", ".join(folders)))


def read_digits():
    """(images (1797, 8, 8) float64, labels (1797,) int): the arrays sklearn.datasets.load_digits()
    returns as .images and .target, parsed from the same file the same way (np.loadtxt of the
    gzipped CSV; the last column is the label).

    Why not call load_digits: TensorFlow is already imported when a job loads data, and importing
    scikit-learn after it loads the libgomp that scikit-learn's aarch64 wheels bundle, which fails
    on a Jetson with "cannot allocate memory in static TLS block" (keras-team/keras-tuner#317,
    scikit-learn/scikit-learn#28362, #17231). Reading the data file loads nothing but numpy.
    """
    import gzip
    import numpy as np
    with gzip.open(digits_path(), "rt") as handle:
        data = np.loadtxt(handle, delimiter=",")
    return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(int)


def load_digits():
    """scikit-learn's bundled 8x8 digits (1,797 real images), upscaled 3x and padded to 28x28.

    The 80/20 split is fixed (seeded permutation): 1,437 train and 360 test images. The data are
    read without importing scikit-learn (see read_digits).
    """
    import numpy as np
    raw_images, raw_labels = read_digits()
    images = (raw_images / 16.0).astype("float32").repeat(3, axis=1).repeat(3, axis=2)
    images = np.pad(images, ((0, 0), (2, 2), (2, 2)), mode="constant")
    order = np.random.RandomState(0).permutation(len(images))
    n_test = -(-len(images) // 5)
    test, train = order[:n_test], order[n_test:]
    labels = raw_labels.astype("int64")
    return images[train], labels[train], images[test], labels[test]


def load_synthetic(n_train=6000, n_test=1000):
    """Random 28x28 images whose labels follow a fixed random projection (learnable, no I/O)."""
    import numpy as np
    rng = np.random.RandomState(0)
    images = rng.rand(n_train + n_test, 28, 28).astype("float32")
    projection = rng.randn(28 * 28, 10).astype("float32")
    labels = images.reshape(len(images), -1).dot(projection).argmax(axis=1).astype("int64")
    return images[:n_train], labels[:n_train], images[n_train:], labels[n_train:]


def load_image_classification(name, keras, cache_dir):
    if name == "mnist":
        return load_mnist(keras, cache_dir)
    if name == "digits":
        return load_digits()
    return load_synthetic()
