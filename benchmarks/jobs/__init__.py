"""The job registry: name -> module. Job modules import TensorFlow only inside `run`,
so reading their PARAMS is cheap (the host CLI validates parameters with them)."""

import importlib

JOBS = {
    "mnist_mlp": "benchmarks.jobs.mnist_mlp",
    "selftest": "benchmarks.jobs.selftest",
    "transfer": "benchmarks.jobs.transfer",
    "retrain": "benchmarks.jobs.retrain",
    "label_image": "benchmarks.jobs.label_image",
    "misbehave": "benchmarks.jobs.misbehave",  # fault injection for the harness's own tests
}


class UnknownJob(LookupError):
    pass


def load(name):
    """The job module, with PARAMS (dict of benchmarks.params.Param), DESCRIPTION and run()."""
    if name not in JOBS:
        raise UnknownJob("unknown job %r (known: %s)" % (name, ", ".join(sorted(JOBS))))
    return importlib.import_module(JOBS[name])
