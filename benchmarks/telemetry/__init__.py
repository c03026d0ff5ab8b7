"""Readers that must run next to the device: NVML, jtop and tegrastats.

They live in `benchmarks/` (Python 3.6, no harness imports) so the same code runs in the
harness's own process for a local target and in a sidecar container on a remote engine
(`python -m harness_jobs.telemetry`), which streams the samples over its log.

Every reader returns flat dicts whose keys carry their unit (gpu_util_percent, power_w,
energy_j, ...). A reader that cannot run raises Unavailable with a sentence a person can act on.
"""


class Unavailable(Exception):
    """This source cannot be read here; the message says why and what to do."""
