"""label_image on a retrain export: per-image latency, images/s and top-1 accuracy.

The input and output names, the input size and the normalisation come from the export's
export.json, so nobody has to guess the `--input_layer` / `--output_layer` flags. Images are
read and preprocessed as label_image.py does ((pixel - input_mean) / input_std after a bilinear
resize); each image's inference is one timed `step`.
"""

import json
import os
import time

from ..params import DEVICE, Param
from .. import data, images

DESCRIPTION = "label_image inference on a retrain export: latency p50/p95, images/s, top-1 accuracy"

PARAMS = {
    "export": Param("retrain-mobilenet_v2", "an export name saved by retrain's export_as (under WORK/exports), "
                                            "or an export folder"),
    "split": Param("testing", "which images to label (retrain's hash split)",
                   ("testing", "validation", "training", "all")),
    "max_images": Param(0, "label at most this many images (0: all of the split)"),
    "warmup": Param(3, "untimed inferences before timing"),
    "device": DEVICE,
}


def load_export(name, work_dir):
    folder = name if os.path.isdir(os.path.expanduser(name)) else os.path.join(work_dir, "exports", name)
    record_path = os.path.join(os.path.expanduser(folder), "export.json")
    if not os.path.exists(record_path):
        raise data.DatasetUnavailable("no retrain export %r: %s is missing; run the retrain job with "
                                      "export_as=%r first (in the same suite, before label_image)"
                                      % (name, record_path, name))
    with open(record_path) as handle:
        return os.path.dirname(record_path), json.load(handle)


class Labeller(object):
    """The frozen graph imported once, with a file-to-tensor graph in front of it."""

    def __init__(self, tf, folder, record):
        v1 = tf.compat.v1
        graph_def = v1.GraphDef()
        with open(os.path.join(folder, record["graph_file"]), "rb") as handle:
            graph_def.ParseFromString(handle.read())
        self.graph = tf.Graph()
        with self.graph.as_default():
            v1.import_graph_def(graph_def, name="")  # first, so its names stay as recorded
            self.file_name = v1.placeholder(tf.string, name="label_image_file_name")
            decoded = tf.io.decode_image(tf.io.read_file(self.file_name), channels=3, expand_animations=False)
            resized = v1.image.resize_bilinear(tf.expand_dims(tf.cast(decoded, tf.float32), 0),
                                               [record["input_height"], record["input_width"]])
            self.preprocessed = (resized - record["input_mean"]) / float(record["input_std"])
        self.input = self.graph.get_tensor_by_name(record["input_layer"] + ":0")
        self.output = self.graph.get_tensor_by_name(record["output_layer"] + ":0")
        self.session = v1.Session(graph=self.graph)

    def read(self, path):
        return self.session.run(self.preprocessed, {self.file_name: path})

    def label(self, image):
        return self.session.run(self.output, {self.input: image})[0]


def run(params, emitter, context):
    import numpy as np
    tf = context["tf"]
    folder, record = load_export(params["export"], context["work_dir"])
    with open(os.path.join(folder, record["labels_file"])) as handle:
        labels = [line.strip() for line in handle if line.strip()]
    classes, items = images.list_images(record["dataset_folder"])
    if params["split"] != "all":
        items = images.split(items, record["validation_percentage"], record["testing_percentage"])[params["split"]]
    items = items[:params["max_images"]] if params["max_images"] else items
    if not items:
        raise data.DatasetUnavailable("the %s split of %s is empty" % (params["split"], record["dataset_folder"]))
    emitter.emit("dataset", name=record["dataset_folder"], split=params["split"], samples=len(items),
                 export=folder, input_layer=record["input_layer"], output_layer=record["output_layer"])
    labeller = Labeller(tf, folder, record)
    for path, _ in items[:params["warmup"]]:
        labeller.label(labeller.read(path))
    latencies, correct = [], 0
    start = time.monotonic()
    for index, (path, label) in enumerate(items):
        image = labeller.read(path)
        began = time.monotonic()
        scores = labeller.label(image)
        latencies.append(time.monotonic() - began)
        emitter.step(0, index, latencies[-1], 1)
        correct += labels[int(np.argmax(scores))] == classes[label]
    seconds = time.monotonic() - start
    labeller.session.close()
    return {
        "images": len(items),
        "latency_ms_p50": float(np.percentile(latencies, 50) * 1000),
        "latency_ms_p95": float(np.percentile(latencies, 95) * 1000),
        "images_per_sec": len(items) / seconds,
        "inference_images_per_sec": len(items) / sum(latencies),
        "top1_accuracy": correct / float(len(items)),
        "input_layer": record["input_layer"], "output_layer": record["output_layer"],
        "input_size": record["input_height"], "export_test_accuracy": record.get("test_accuracy"),
    }
