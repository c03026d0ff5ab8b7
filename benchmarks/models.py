"""Pretrained feature extractors behind the cache folder.

Two real sources, both loaded offline once the cache is filled (`harness prepare`):
- TF-Hub handles (or a SavedModel folder) through tensorflow_hub, whose cache is pointed at
  `<cache>/tfhub` (TFHUB_CACHE_DIR);
- Keras-applications backbones, whose ImageNet weights file is fetched into `<cache>/models`
  and passed to the constructor as a path.
"""

import os

from . import data

LAB_HUB_HANDLE = "https://tfhub.dev/google/tf2-preview/mobilenet_v2/feature_vector/4"
KERAS_PREFIX = "keras/"
WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"
# architecture -> (class name, default input size, allowed ImageNet sizes, weights file template)
ARCHITECTURES = {
    "mobilenet_v2": ("MobileNetV2", 224, (96, 128, 160, 192, 224),
                     "mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_%d_no_top.h5"),
    "inception_v3": ("InceptionV3", 299, None,
                     "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"),
}


class ModelUnavailable(data.DatasetUnavailable):
    """A model or its weights are neither cached nor downloadable."""


def keras2(tf):
    """The Keras 2 API: `tf.keras` on TF < 2.16 (or with TF_USE_LEGACY_KERAS=1), else tf_keras.

    TF-Hub layers, ImageDataGenerator and TF1 graph mode exist only there, which is what
    TensorFlow's own migration notes prescribe for TF-Hub users on TF >= 2.16.
    """
    from . import compat
    if not compat.is_keras3(tf.keras):
        return tf.keras
    try:
        import tf_keras
    except ImportError:
        raise ModelUnavailable("this job needs the Keras 2 API, but tf.keras is Keras 3 and the tf-keras "
                               "package is not installed (pip install tf-keras==<your TF version>)")
    return tf_keras


def default_size(architecture):
    return ARCHITECTURES[architecture][1]


def keras_weights(keras, architecture, image_size, weights, cache_dir):
    """What to pass as `weights=`: None, or the cached ImageNet file (fetched if absent)."""
    if weights == "none":
        return None
    if weights != "imagenet":
        return os.path.expanduser(weights)  # a weights file the user made
    _, _, sizes, template = ARCHITECTURES[architecture]
    if sizes is not None and image_size not in sizes:
        raise ModelUnavailable("%s has ImageNet weights for image sizes %s only, not %d"
                               % (architecture, ", ".join(map(str, sizes)), image_size))
    path = template % image_size if "%d" in template else template
    return data.fetch(keras, os.path.basename(path), WEIGHTS_URL + path, cache_dir, subdir="models")


def keras_backbone(keras, architecture, image_size, weights, cache_dir):
    """A Keras-applications model without its top, average-pooled to one feature vector."""
    if architecture not in ARCHITECTURES:
        raise ModelUnavailable("unknown architecture %r (known: %s)" % (architecture, ", ".join(sorted(ARCHITECTURES))))
    constructor = getattr(keras.applications, ARCHITECTURES[architecture][0])
    return constructor(input_shape=(image_size, image_size, 3), include_top=False, pooling="avg",
                       weights=keras_weights(keras, architecture, image_size, weights, cache_dir))


def hub_cache(cache_dir):
    folder = os.path.join(cache_dir, "tfhub")
    os.environ["TFHUB_CACHE_DIR"] = folder
    return folder


def resolve_hub(handle, cache_dir):
    """Local folder of a TF-Hub handle (downloaded into `<cache>/tfhub` if absent) or SavedModel path."""
    if os.path.isdir(os.path.expanduser(handle)):
        return os.path.expanduser(handle)
    if not handle.startswith(("http://", "https://", "gs://")):
        raise ModelUnavailable("model %r is not a TF-Hub URL, an existing SavedModel folder, or keras/<architecture>"
                               % handle)
    folder = hub_cache(cache_dir)
    import tensorflow_hub as hub
    try:
        return hub.resolve(handle)
    except Exception as error:  # tensorflow_hub raises several unrelated types for fetch failures
        raise ModelUnavailable("TF-Hub model %s is not in the cache folder %s and could not be downloaded (%s: %s); "
                               "fill the cache on a machine with internet: harness prepare --suite SUITE "
                               "--cache-dir DIR" % (handle, folder, type(error).__name__, str(error)[:200]))


def hub_layer(keras, handle, cache_dir, image_size, trainable):
    """hub.KerasLayer over the resolved handle, as the lab builds it."""
    import tensorflow_hub as hub
    return hub.KerasLayer(resolve_hub(handle, cache_dir), input_shape=(image_size, image_size, 3),
                          trainable=trainable)
