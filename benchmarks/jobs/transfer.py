"""The TF2 transfer-learning lab: a MobileNetV2 feature extractor plus a Dense softmax head.

The backbone is the lab's TF-Hub handle (hub.KerasLayer), a SavedModel folder, or a
Keras-applications model (`keras/mobilenet_v2`, `keras/inception_v3`). `trainable` picks
frozen (only the head trains) or fine-tuned. Images come through ImageDataGenerator as in the
lab, or through a tf.data pipeline; before training a few batches are pulled through the input
pipeline alone, so the result says whether training was input-bound.
"""

import math
import time

from ..params import DEVICE, Param
from .. import compat, flops, images, models, timing

DESCRIPTION = "TF2 transfer learning: MobileNetV2 features (TF-Hub or Keras applications) + Dense head"

PARAMS = {
    "model": Param(models.LAB_HUB_HANDLE, "TF-Hub handle, SavedModel folder, or keras/mobilenet_v2 | "
                                          "keras/inception_v3"),
    "weights": Param("imagenet", "keras/ backbones: imagenet (cached weights file), none (random), or a file"),
    "trainable": Param(False, "fine-tune the backbone (true) or train only the head (false)"),
    "dataset": Param("flower_photos", "flower_photos (cached download), generated, or a folder of class folders"),
    "generated_classes": Param(5, "classes of the generated dataset"),
    "generated_images": Param(40, "images per class of the generated dataset"),
    "generated_size": Param(64, "height and width of the generated JPEGs"),
    "image_size": Param(224, "input height and width"),
    "batch_size": Param(32, "images per training step (the lab: 32, 115 steps on 3,670 photos)"),
    "epochs": Param(2, "training epochs"),
    "learning_rate": Param(0.001, "Adam learning rate"),
    "validation_split": Param(0.0, "share of each class held out for validation (0: the lab trained on all)"),
    "loader": Param("generator", "generator: ImageDataGenerator.flow_from_directory as in the lab; "
                                 "tfdata: parallel decode, cache, prefetch", ("generator", "tfdata")),
    "oom_retry": Param(True, "on out-of-memory, retry at half the batch size (recorded in the result)"),
    "oom_test_above_batch": Param(0, "test hook: a batch larger than this allocates an impossible tensor, "
                                     "so TensorFlow raises a real out-of-memory error (0: off)"),
    "input_probe_batches": Param(5, "batches timed through the input pipeline alone (0: no input-bound check)"),
    "seed": Param(0, "random seed for weights and shuffling"),
    "device": DEVICE,
}


def prepare(params, keras, cache_dir):
    """What `harness prepare` fetches into the cache: the dataset and the backbone."""
    fetched = [images.flower_photos(keras, cache_dir)] if params["dataset"] == "flower_photos" else []
    if params["model"].startswith(models.KERAS_PREFIX):
        architecture = params["model"][len(models.KERAS_PREFIX):]
        weights = models.keras_weights(keras, architecture, params["image_size"], params["weights"], cache_dir)
        return fetched + ([weights] if weights else [])
    return fetched + [models.resolve_hub(params["model"], cache_dir)]


def _keras_for(tf, params):
    """tf.keras, except that TF-Hub layers and ImageDataGenerator need the Keras 2 API."""
    if params["loader"] == "generator" or not params["model"].startswith(models.KERAS_PREFIX):
        return models.keras2(tf)
    return tf.keras


def _scale_to_unit_range(keras):
    """Keras applications expect [-1, 1]; the images arrive in [0, 1] (the hub models' range)."""
    if hasattr(keras.layers, "Rescaling"):
        return keras.layers.Rescaling(2.0, offset=-1.0)
    return keras.layers.Lambda(lambda x: x * 2.0 - 1.0)


def build_model(keras, params, num_classes, cache_dir):
    size = params["image_size"]
    if params["model"].startswith(models.KERAS_PREFIX):
        architecture = params["model"][len(models.KERAS_PREFIX):]
        backbone = models.keras_backbone(keras, architecture, size, params["weights"], cache_dir)
        backbone.trainable = params["trainable"]
        layers = [compat.input_layer(keras, (size, size, 3)), _scale_to_unit_range(keras), backbone]
    else:
        layers = [models.hub_layer(keras, params["model"], cache_dir, size, params["trainable"])]
    layers.append(keras.layers.Dense(num_classes, activation="softmax"))
    return keras.Sequential(layers)


def count_params(weights):
    import numpy as np
    return int(sum(np.prod(w.shape) for w in weights))


class GeneratorInput(object):
    """The lab's loader: ImageDataGenerator(rescale=1/255).flow_from_directory."""

    def __init__(self, keras, folder, params):
        split = params["validation_split"]
        generator = keras.preprocessing.image.ImageDataGenerator(rescale=1 / 255.0, validation_split=split)
        options = dict(target_size=(params["image_size"],) * 2, seed=params["seed"])
        self.train = generator.flow_from_directory(folder, subset="training" if split else None,
                                                   batch_size=params["batch_size"], **options)
        self.validation = (generator.flow_from_directory(folder, subset="validation", shuffle=False,
                                                         batch_size=params["batch_size"], **options)
                           if split else None)
        self.train_samples = self.train.samples
        self.validation_samples = self.validation.samples if split else 0
        self.num_classes = self.train.num_classes

    def probe(self, batches):
        return [self.train[index % len(self.train)] for index in range(batches)]


class TfDataInput(object):
    """A tuned tf.data pipeline over the same files and split as flow_from_directory uses."""

    def __init__(self, tf, folder, params):
        classes, items = images.list_images(folder)
        train, validation = _split_like_keras(items, len(classes), params["validation_split"])
        self.num_classes = len(classes)
        self.train_samples, self.validation_samples = len(train), len(validation)
        self.train = self._pipeline(tf, train, params, shuffle=True)
        self.validation = self._pipeline(tf, validation, params, shuffle=False) if validation else None

    def _pipeline(self, tf, items, params, shuffle):
        autotune = getattr(tf.data, "AUTOTUNE", None) or tf.data.experimental.AUTOTUNE
        size, num_classes = params["image_size"], self.num_classes

        def decode(path, label):
            image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
            image = tf.cast(tf.image.resize(image, [size, size]), tf.uint8)  # cached as bytes: 4x smaller
            return image, tf.one_hot(label, num_classes)

        dataset = tf.data.Dataset.from_tensor_slices(([p for p, _ in items], [label for _, label in items]))
        dataset = dataset.map(decode, num_parallel_calls=autotune).cache()
        if shuffle:
            dataset = dataset.shuffle(len(items), seed=params["seed"], reshuffle_each_iteration=True)
        dataset = dataset.batch(params["batch_size"])
        dataset = dataset.map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y), num_parallel_calls=autotune)
        return dataset.prefetch(autotune)

    def probe(self, batches):
        return list(self.train.take(batches))


def _split_like_keras(items, num_classes, validation_split):
    """flow_from_directory's subsets: per class, the first `validation_split` of the sorted files."""
    train, validation = [], []
    for label in range(num_classes):
        files = [item for item in items if item[1] == label]
        cut = int(math.floor(validation_split * len(files))) if validation_split else 0
        validation.extend(files[:cut])
        train.extend(files[cut:])
    return train, validation


def time_input(data, batches):
    """Seconds per batch of the input pipeline alone (after one warm-up batch), or None."""
    if batches <= 0:
        return None
    data.probe(1)
    start = time.monotonic()
    data.probe(batches)
    return (time.monotonic() - start) / batches


def oom_test_callback(tf, keras, threshold, batch_size):
    """The `oom_test_above_batch` hook: allocate 4 TiB per image, which TensorFlow refuses with
    its real ResourceExhaustedError, so the retry path below runs as it would on a GPU."""

    class ImpossibleAllocation(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if threshold and batch_size > threshold:
                tf.zeros([batch_size, 2 ** 40])

    return ImpossibleAllocation()


def train(tf, keras, params, data, batch_size, emitter, cache_dir):
    keras.backend.clear_session()
    compat.set_seed(tf, params["seed"])
    model = build_model(keras, params, data.num_classes, cache_dir)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=params["learning_rate"]),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    timer = timing.step_timer(keras, emitter, data.train_samples, batch_size)
    callbacks = [oom_test_callback(tf, keras, params["oom_test_above_batch"], batch_size), timer]
    history = model.fit(data.train, epochs=params["epochs"], validation_data=data.validation,
                        callbacks=callbacks, verbose=0)
    return model, history, timer


def run(params, emitter, context):
    tf = context["tf"]
    if compat.is_tf1(tf):
        raise compat.Unsupported("transfer is the TF2 lab; on TensorFlow %s run the retrain job" % tf.__version__)
    keras = _keras_for(tf, params)
    shape = {"classes": params["generated_classes"], "per_class": params["generated_images"],
             "size": params["generated_size"], "seed": params["seed"]}
    folder = images.resolve(params["dataset"], keras, context["cache_dir"], context["work_dir"], shape)
    batch_size, retries = params["batch_size"], []
    while True:
        params = dict(params, batch_size=batch_size)
        data = (GeneratorInput(keras, folder, params) if params["loader"] == "generator"
                else TfDataInput(tf, folder, params))
        if not retries:
            emitter.emit("dataset", name=params["dataset"], folder=folder, classes=data.num_classes,
                         train_samples=data.train_samples, validation_samples=data.validation_samples)
        input_seconds = time_input(data, params["input_probe_batches"])
        try:
            model, history, timer = train(tf, keras, params, data, batch_size, emitter, context["cache_dir"])
            break
        except Exception as error:
            if not (params["oom_retry"] and compat.is_out_of_memory(tf, error) and batch_size > 1):
                raise
            retries.append({"batch_size": batch_size, "error": str(error).strip().splitlines()[0][:300]})
            emitter.emit("oom_retry", batch_size=batch_size, next_batch_size=batch_size // 2,
                         error=retries[-1]["error"])
            batch_size //= 2
    size = params["image_size"]
    step_flops = flops.training_step(tf, model, (size, size, 3), batch_size)
    emitter.emit("model", **step_flops)
    result = _result(model, history, timer, data, input_seconds, batch_size, retries, keras, params)
    result.update(flops_per_step=step_flops["flops_per_step"], flops_method=step_flops["flops_method"])
    return result


def _result(model, history, timer, data, input_seconds, batch_size, retries, keras, params):
    import numpy as np
    last = compat.metric_logs(dict((k, v[-1]) for k, v in history.history.items()))
    steps = timer.step_seconds
    # the first epoch holds graph tracing and the tf.data cache fill: compare with the later steps
    steady = steps[int(math.ceil(data.train_samples / float(batch_size))):] or steps
    step_median = float(np.median(steady)) if steady else None
    return {
        "backbone": params["model"],
        "keras_version": compat.keras_version(keras),
        "trainable_params": count_params(model.trainable_weights),
        "non_trainable_params": count_params(model.non_trainable_weights),
        "train_samples": data.train_samples,
        "validation_samples": data.validation_samples,
        "steps_per_epoch": int(math.ceil(data.train_samples / float(batch_size))),
        "batch_size_used": batch_size,
        "oom_retries": len(retries),
        "oom_retry_history": retries,
        "final_accuracy": last.get("accuracy"),
        "final_loss": last.get("loss"),
        "final_val_accuracy": last.get("val_accuracy"),
        "final_val_loss": last.get("val_loss"),
        "input_seconds_per_batch": input_seconds,
        "job_step_seconds_median": step_median,
        "input_bound": (input_seconds > step_median) if input_seconds is not None and step_median else None,
    }
