"""Image-folder datasets (one sub-folder per class) for the transfer, retrain and label_image
labs: the real flower_photos behind the cache folder, any local folder, and generated folders.

Class order is the sorted sub-folder names, as Keras' flow_from_directory and retrain.py use.
"""

import hashlib
import os
import re
import tarfile

from . import data

FLOWERS_URL = "https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
# retrain.py's split constant: the hash of a file name picks its split, stable across runs
MAX_NUM_IMAGES_PER_CLASS = 2 ** 27 - 1


def flower_photos(keras, cache_dir):
    """`<cache>/datasets/flower_photos`: the 3,670 photos of the TF2 lab, extracted once."""
    folder = os.path.join(cache_dir, "datasets", "flower_photos")
    if os.path.isdir(folder):
        return folder
    archive = data.fetch(keras, "flower_photos.tgz", FLOWERS_URL, cache_dir)
    try:
        _safe_extract(archive, os.path.dirname(folder))
    except (IOError, OSError) as error:
        raise data.DatasetUnavailable(
            "%s is downloaded but could not be extracted next to it (%s); run `harness prepare` "
            "where the cache folder is writable" % (archive, error))
    if not os.path.isdir(folder):
        raise data.DatasetUnavailable("%s did not contain a flower_photos folder" % archive)
    return folder


def _safe_extract(archive, destination):
    """Extract a .tgz, refusing members that would land outside `destination`."""
    root = os.path.realpath(destination)
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            target = os.path.realpath(os.path.join(root, member.name))
            if not (target == root or target.startswith(root + os.sep)) or member.issym() or member.islnk():
                raise data.DatasetUnavailable("%s contains an unsafe member %r" % (archive, member.name))
        tar.extractall(root)


def generated(work_dir, classes=5, per_class=30, size=64, seed=0):
    """A small folder of JPEGs whose class decides the colour and stripe direction, so even a
    randomly initialised backbone separates them. Made once per shape, then reused."""
    name = "generated-%dx%d-%dpx-seed%d" % (classes, per_class, size, seed)
    folder = os.path.join(work_dir, "datasets", name)
    if os.path.isdir(folder):
        return folder
    import numpy as np
    from PIL import Image
    rng = np.random.RandomState(seed)
    partial = folder + ".partial-%d" % os.getpid()
    ramp = np.linspace(0, 4 * np.pi, size)
    for label in range(classes):
        class_dir = os.path.join(partial, "class_%02d" % label)
        os.makedirs(class_dir)
        colour = np.array([(label * 97) % 256, (label * 57 + 80) % 256, (label * 151 + 160) % 256], "float32")
        stripes = np.sin(ramp)[None, :] if label % 2 else np.sin(ramp)[:, None]
        for index in range(per_class):
            noise = rng.normal(0, 40, (size, size, 3))
            pixels = colour + 60 * stripes[..., None] * np.ones((size, size, 1)) + noise
            image = Image.fromarray(np.clip(pixels, 0, 255).astype("uint8"))
            image.save(os.path.join(class_dir, "img_%04d.jpg" % index), quality=90)
    try:
        os.rename(partial, folder)
    except OSError:  # another job made it first
        if not os.path.isdir(folder):
            raise
    return folder


def resolve(name, keras, cache_dir, work_dir, generated_shape=None):
    """Folder of `name`: flower_photos, generated, or a path to a folder of class folders."""
    if name == "flower_photos":
        return flower_photos(keras, cache_dir)
    if name == "generated":
        return generated(work_dir, **(generated_shape or {}))
    folder = os.path.expanduser(name)
    if not os.path.isdir(folder):
        raise data.DatasetUnavailable("dataset %r is not flower_photos, generated, or an existing folder" % name)
    return folder


def list_images(folder, limit_per_class=0):
    """(classes, [(path, label_index)]) for every image in the class sub-folders, sorted."""
    classes = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)))
    items = []
    for label, name in enumerate(classes):
        files = sorted(f for f in os.listdir(os.path.join(folder, name)) if f.lower().endswith(IMAGE_EXTENSIONS))
        if limit_per_class:
            files = files[:limit_per_class]
        items.extend((os.path.join(folder, name, f), label) for f in files)
    if len(classes) < 2 or not items:
        raise data.DatasetUnavailable("%s needs at least two class sub-folders with images (found %d classes, "
                                      "%d images)" % (folder, len(classes), len(items)))
    return classes, items


def which_set(file_name, validation_percentage, testing_percentage):
    """retrain.py's split: training, validation or testing from a hash of the file name, so a
    file keeps its split when images are added; `_nohash_` suffixes group near-duplicates."""
    base = os.path.basename(file_name)
    hash_name = re.sub(r"_nohash_.*$", "", base)
    hashed = hashlib.sha1(hash_name.encode("utf-8")).hexdigest()
    percentage = (int(hashed, 16) % (MAX_NUM_IMAGES_PER_CLASS + 1)) * (100.0 / MAX_NUM_IMAGES_PER_CLASS)
    if percentage < validation_percentage:
        return "validation"
    if percentage < testing_percentage + validation_percentage:
        return "testing"
    return "training"


def split(items, validation_percentage, testing_percentage):
    """{'training': [...], 'validation': [...], 'testing': [...]} of (path, label) items."""
    sets = {"training": [], "validation": [], "testing": []}
    for item in items:
        sets[which_set(item[0], validation_percentage, testing_percentage)].append(item)
    return sets
