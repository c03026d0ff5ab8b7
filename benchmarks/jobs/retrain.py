"""The TF1 lab: retrain.py's last-layer retraining in tf.compat.v1 graph mode.

As in TF-Hub's retrain.py: every image goes once through the frozen backbone and its
bottleneck (feature vector) is cached on disk; a softmax layer `final_result` is trained on
random batches of cached bottlenecks with plain gradient descent; images are split into
training / validation / testing by a hash of their file name. The export is a frozen graph
from `Placeholder` (float images in [0, 1]) to `final_result`, plus labels.txt and export.json,
which records the names and sizes label_image needs.
"""

import json
import os
import platform
import shutil
import time

from ..params import DEVICE, Param
from .. import images, models

DESCRIPTION = "TF1 last-layer retraining with cached bottlenecks (retrain.py); exports a frozen graph"
INPUT_LAYER = "Placeholder"
OUTPUT_LAYER = "final_result"

PARAMS = {
    "architecture": Param("mobilenet_v2", "backbone (Keras applications)", tuple(sorted(models.ARCHITECTURES))),
    "weights": Param("imagenet", "imagenet (cached weights file), none (random, seeded), or a weights file"),
    "image_size": Param(0, "input height and width (0: the architecture's: mobilenet_v2 224, inception_v3 299)"),
    "dataset": Param("flower_photos", "flower_photos (cached download), generated, or a folder of class folders"),
    "generated_classes": Param(5, "classes of the generated dataset"),
    "generated_images": Param(40, "images per class of the generated dataset"),
    "generated_size": Param(64, "height and width of the generated JPEGs"),
    "learning_rate": Param(0.01, "gradient descent learning rate (the seed tried 0.005, 0.01 and 1.0)"),
    "how_many_training_steps": Param(4000, "training steps"),
    "train_batch_size": Param(100, "bottlenecks per training step"),
    "validation_batch_size": Param(100, "bottlenecks per validation check (-1: the whole validation set)"),
    "eval_step_interval": Param(10, "steps between accuracy checks"),
    "validation_percentage": Param(10, "percent of images for validation"),
    "testing_percentage": Param(10, "percent of images for the final test"),
    "export_as": Param("", "also save the export as WORK/exports/NAME for label_image (empty: only in the job's "
                           "output folder)"),
    "seed": Param(0, "graph and sampling seed"),
    "device": DEVICE,
}


def prepare(params, keras, cache_dir):
    """What `harness prepare` fetches into the cache: the dataset and the ImageNet weights."""
    fetched = [images.flower_photos(keras, cache_dir)] if params["dataset"] == "flower_photos" else []
    size = params["image_size"] or models.default_size(params["architecture"])
    weights = models.keras_weights(keras, params["architecture"], size, params["weights"], cache_dir)
    return fetched + ([weights] if weights else [])


def bottleneck_folder(work_dir, params, size, device):
    """One cache per backbone (weights, size and, for random weights, the seed decide the
    features) and per machine and device, so a CPU run times its own bottlenecks, as the seed's
    CPU-vs-GPU question needs, and emulated targets sharing an engine do not share a cache."""
    weights = params["weights"] if params["weights"] in ("imagenet", "none") else "file-" + os.path.basename(
        params["weights"])
    seed = "-seed%d" % params["seed"] if params["weights"] == "none" else ""
    name = "%s-%s-%d%s-%s-%s" % (params["architecture"], weights, size, seed, platform.machine(), device)
    return os.path.join(work_dir, "bottlenecks", name)


def initialize_uninitialized(tf, session):
    """Initialise only what is not yet set, so ImageNet weights loaded by Keras stay."""
    v1 = tf.compat.v1
    names = set(name.decode() for name in session.run(v1.report_uninitialized_variables()))
    session.run(v1.variables_initializer([v for v in v1.global_variables() if v.op.name in names]))


class RetrainGraph(object):
    """The backbone, a JPEG decoder feeding it, and the final layer with its training ops."""

    def __init__(self, tf, keras, params, size, num_classes, cache_dir):
        v1 = tf.compat.v1
        self.graph = tf.Graph()
        self.session = v1.Session(graph=self.graph)
        with self.graph.as_default(), self.session.as_default():
            v1.set_random_seed(params["seed"])
            self.image_bytes = v1.placeholder(tf.string, name="DecodeJPGInput")
            decoded = tf.io.decode_image(self.image_bytes, channels=3, expand_animations=False)
            self.decoded = tf.expand_dims(tf.image.resize(tf.cast(decoded, tf.float32), [size, size]) / 255.0, 0)
            self.images = v1.placeholder(tf.float32, [None, size, size, 3], name=INPUT_LAYER)
            backbone = models.keras_backbone(keras, params["architecture"], size, params["weights"], cache_dir)
            self.bottleneck = backbone(self.images * 2.0 - 1.0)
            width = int(self.bottleneck.shape[-1])
            self.width, self.num_classes = width, num_classes
            self.bottleneck_input = v1.placeholder_with_default(self.bottleneck, [None, width],
                                                                name="BottleneckInputPlaceholder")
            self.labels = v1.placeholder(tf.int64, [None], name="GroundTruthInput")
            with v1.variable_scope("final_retrain_ops"):
                weights = v1.get_variable("final_weights", [width, num_classes],
                                          initializer=v1.truncated_normal_initializer(stddev=0.001))
                biases = v1.get_variable("final_biases", [num_classes], initializer=v1.zeros_initializer())
            logits = tf.matmul(self.bottleneck_input, weights) + biases
            self.final = tf.nn.softmax(logits, name=OUTPUT_LAYER)
            self.loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=self.labels,
                                                                                      logits=logits))
            self.train_step = v1.train.GradientDescentOptimizer(params["learning_rate"]).minimize(
                self.loss, var_list=[weights, biases])
            correct = tf.equal(tf.argmax(logits, 1), self.labels)
            self.accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
            initialize_uninitialized(tf, self.session)

    def bottleneck_of(self, path):
        with open(path, "rb") as handle:
            image = self.session.run(self.decoded, {self.image_bytes: handle.read()})
        return self.session.run(self.bottleneck, {self.images: image})[0]

    def evaluate(self, bottlenecks, labels):
        feed = {self.bottleneck_input: bottlenecks, self.labels: labels}
        accuracy, loss = self.session.run([self.accuracy, self.loss], feed)
        return float(accuracy), float(loss)

    def frozen_graph_def(self, tf):
        return tf.compat.v1.graph_util.convert_variables_to_constants(
            self.session, self.graph.as_graph_def(), [OUTPUT_LAYER])


def step_flops(graph, batch):
    """The `model` event's FLOPs of one training step: the final layer only (the backbone ran once
    per image, into the bottleneck cache). Forward 2*width*classes + classes (bias) per sample,
    and as much again for the weight and bias gradients; no input gradient, as the bottlenecks
    are fed in (docs/explain.md)."""
    forward = 2 * graph.width * graph.num_classes + graph.num_classes
    return {"flops_layers_forward": forward, "flops_profiler_forward": None, "flops_batch_size": batch,
            "flops_per_sample_forward": forward, "flops_per_step": float(2 * forward * batch),
            "flops_method": "layers"}


def cache_bottlenecks(graph, items, classes, folder, emitter):
    """Every image's bottleneck, from `folder` when cached (retrain.py's text format) or computed."""
    import numpy as np
    values, created, computing = [], 0, 0.0
    start = time.monotonic()
    for index, (path, label) in enumerate(items):
        cached = os.path.join(folder, classes[label], os.path.basename(path) + ".txt")
        if os.path.exists(cached):
            with open(cached) as handle:
                values.append(np.array([float(x) for x in handle.read().split(",")], "float32"))
            continue
        began = time.monotonic()
        vector = graph.bottleneck_of(path)
        computing += time.monotonic() - began
        if not os.path.isdir(os.path.dirname(cached)):
            os.makedirs(os.path.dirname(cached))
        with open(cached + ".partial", "w") as handle:
            handle.write(",".join("%.8g" % x for x in vector))
        os.rename(cached + ".partial", cached)
        values.append(vector)
        created += 1
        if created % 100 == 0:
            emitter.emit("progress", phase="bottlenecks", done=index + 1, total=len(items))
    summary = {"bottleneck_seconds": time.monotonic() - start, "bottlenecks_created": created,
               "bottleneck_cache_hits": len(items) - created,
               "bottleneck_seconds_per_image": computing / created if created else None}
    emitter.emit("bottlenecks", folder=folder, **summary)
    return np.stack(values), summary


def train(graph, bottlenecks, labels, sets, params, emitter):
    """retrain.py's loop: random training batches, accuracy every eval_step_interval steps."""
    import numpy as np
    rng = np.random.RandomState(params["seed"])
    train_index, validation_index = sets["training"], sets["validation"]
    steps, batch = params["how_many_training_steps"], params["train_batch_size"]
    last = {}
    start = time.monotonic()
    for step in range(steps):
        chosen = rng.choice(train_index, batch)
        began = time.monotonic()
        graph.session.run(graph.train_step, {graph.bottleneck_input: bottlenecks[chosen], graph.labels: labels[chosen]})
        emitter.step(0, step, time.monotonic() - began, batch)
        if step % params["eval_step_interval"] == 0 or step == steps - 1:
            accuracy, loss = graph.evaluate(bottlenecks[chosen], labels[chosen])
            last = {"accuracy": accuracy, "loss": loss}
            if len(validation_index):
                size = params["validation_batch_size"]
                picked = validation_index if size < 0 else rng.choice(validation_index, size)
                last["val_accuracy"], last["val_loss"] = graph.evaluate(bottlenecks[picked], labels[picked])
            emitter.emit("eval", split="validation", step=step, metrics=last)
    seconds = time.monotonic() - start
    emitter.emit("epoch", epoch=0, seconds=seconds, steps=steps, samples=steps * batch, metrics=last)
    return seconds, last


def export(graph, tf, classes, out_dir, work_dir, record, name):
    """Frozen graph + labels + export.json in OUT/export, and copied to WORK/exports/NAME."""
    folder = os.path.join(out_dir, "export")
    os.makedirs(folder)
    with open(os.path.join(folder, record["graph_file"]), "wb") as handle:
        handle.write(graph.frozen_graph_def(tf).SerializeToString())
    with open(os.path.join(folder, record["labels_file"]), "w") as handle:
        handle.write("\n".join(classes) + "\n")
    with open(os.path.join(folder, "export.json"), "w") as handle:
        json.dump(record, handle, indent=2, sort_keys=True)
    if name:
        shared = os.path.join(work_dir, "exports", name)
        staging = shared + ".partial-%d" % os.getpid()
        shutil.copytree(folder, staging)
        if os.path.isdir(shared):
            shutil.rmtree(shared)
        os.rename(staging, shared)
    return folder


def run(params, emitter, context):
    import numpy as np
    tf = context["tf"]
    keras = models.keras2(tf)
    size = params["image_size"] or models.default_size(params["architecture"])
    shape = {"classes": params["generated_classes"], "per_class": params["generated_images"],
             "size": params["generated_size"], "seed": params["seed"]}
    folder = images.resolve(params["dataset"], keras, context["cache_dir"], context["work_dir"], shape)
    classes, items = images.list_images(folder)
    names = images.split(items, params["validation_percentage"], params["testing_percentage"])
    if not names["training"]:
        raise ValueError("no training images left after the validation and testing split")
    emitter.emit("dataset", name=params["dataset"], folder=folder, classes=len(classes),
                 **dict((split + "_samples", len(part)) for split, part in names.items()))
    graph = RetrainGraph(tf, keras, params, size, len(classes), context["cache_dir"])
    cache = bottleneck_folder(context["work_dir"], params, size, context["device"])
    bottlenecks, summary = cache_bottlenecks(graph, items, classes, cache, emitter)
    labels = np.array([label for _, label in items], "int64")
    position = dict((path, index) for index, (path, _) in enumerate(items))
    sets = dict((split, np.array([position[path] for path, _ in part], "int64")) for split, part in names.items())
    flops = step_flops(graph, params["train_batch_size"])
    emitter.emit("model", **flops)
    train_seconds, last = train(graph, bottlenecks, labels, sets, params, emitter)
    test_accuracy = None
    if len(sets["testing"]):
        test_accuracy, test_loss = graph.evaluate(bottlenecks[sets["testing"]], labels[sets["testing"]])
        emitter.emit("eval", split="test", samples=len(sets["testing"]),
                     metrics={"accuracy": test_accuracy, "loss": test_loss})
    record = {"input_layer": INPUT_LAYER, "output_layer": OUTPUT_LAYER, "input_height": size, "input_width": size,
              "input_mean": 0, "input_std": 255, "graph_file": "output_graph.pb", "labels_file": "output_labels.txt",
              "architecture": params["architecture"], "weights": params["weights"], "dataset_folder": folder,
              "validation_percentage": params["validation_percentage"],
              "testing_percentage": params["testing_percentage"], "learning_rate": params["learning_rate"],
              "how_many_training_steps": params["how_many_training_steps"], "tf": tf.__version__,
              "test_accuracy": test_accuracy}
    export_folder = export(graph, tf, classes, context["out_dir"], context["work_dir"], record, params["export_as"])
    graph.session.close()
    result = dict(summary)
    result.update({
        "image_size": size, "input_layer": INPUT_LAYER, "output_layer": OUTPUT_LAYER,
        "export_folder": os.path.relpath(export_folder, context["out_dir"]), "export_as": params["export_as"] or None,
        "train_steps_seconds": train_seconds, "classes": len(classes),
        "final_accuracy": last.get("accuracy"), "final_loss": last.get("loss"),
        "final_val_accuracy": last.get("val_accuracy"), "test_accuracy": test_accuracy,
        "flops_per_step": flops["flops_per_step"], "flops_method": flops["flops_method"],
    })
    return result
