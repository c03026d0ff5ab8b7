"""A seconds-long check that an image works: versions, visible devices, CUDA/cuDNN, and a small
matmul timed on every device TensorFlow sees."""


from ..params import DEVICE, Param
from .. import compat

DESCRIPTION = "image self-test: versions, devices, a timed matmul on each device"

PARAMS = {
    "framework": Param("tensorflow", "tensorflow, or none to check Python and numpy only "
                                     "(an emulated base image without TensorFlow)", ("tensorflow", "none")),
    "size": Param(256, "matrix size for the matmul"),
    "repeats": Param(5, "timed matmuls per device (after one untimed warm-up)"),
    "device": DEVICE,
}


def needs_tensorflow(params):
    return params["framework"] == "tensorflow"


def run(params, emitter, context):
    tf = context["tf"]
    if tf is None:
        seconds = compat.timed_numpy_matmul(params["size"], params["repeats"])
        emitter.emit("eval", split="matmul", device="numpy", size=params["size"], seconds=seconds,
                     gflops=2.0 * params["size"] ** 3 / seconds / 1e9)
        return {"devices": ["numpy"], "gpus": 0, "matmul_seconds": {"numpy": seconds}}
    devices = [d for d in compat.physical_devices(tf) if d["type"] in ("CPU", "GPU")]
    timings = {}
    for index, device in enumerate(devices):
        name = "/%s:%d" % (device["type"], sum(1 for d in devices[:index] if d["type"] == device["type"]))
        seconds = compat.timed_matmul(tf, name, params["size"], params["repeats"])
        timings[name] = seconds
        emitter.emit("eval", split="matmul", device=name, size=params["size"], seconds=seconds,
                     gflops=2.0 * params["size"] ** 3 / seconds / 1e9)
    return {"devices": [d["name"] for d in devices], "gpus": sum(d["type"] == "GPU" for d in devices),
            "matmul_seconds": timings}
