"""The job registry: name -> module. Job modules import TensorFlow only inside `run`,
so reading their PARAMS is cheap (the host CLI validates parameters with them)."""

import importlib

JOBS = {
    "mnist_mlp": "harness_jobs.jobs.mnist_mlp",
    "selftest": "harness_jobs.jobs.selftest",
    "transfer": "harness_jobs.jobs.transfer",
    "retrain": "harness_jobs.jobs.retrain",
    "label_image": "harness_jobs.jobs.label_image",
    "misbehave": "harness_jobs.jobs.misbehave",  # fault injection for the harness's own tests
}


class UnknownJob(LookupError):
    pass


def load(name):
    """The job module, with PARAMS (dict of harness_jobs.params.Param), DESCRIPTION and run()."""
    if name not in JOBS:
        raise UnknownJob("unknown job %r (known: %s)" % (name, ", ".join(sorted(JOBS))))
    return importlib.import_module(JOBS[name])
