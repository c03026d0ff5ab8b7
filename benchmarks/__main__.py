"""`python -m harness_jobs JOB --params JSON --out DIR [--cache-dir DIR]` runs one job.

`python -m harness_jobs --describe` prints every job's parameters as JSON. A job always ends
with an `end` event carrying its status (ok, skipped, failed, oom, interrupted) and an error
text; the exit code says the same (0, 0, 1, 3, 130; 2 for bad arguments).
"""

import argparse
import json
import os
import signal
import sys
import time
import traceback

PROCESS_START = time.monotonic()

from . import __version__, compat, data, jobs  # noqa: E402
from .events import Emitter  # noqa: E402
from .params import ParamError, resolve  # noqa: E402

EXIT_CODES = {"ok": 0, "skipped": 0, "failed": 1, "oom": 3, "interrupted": 130}
DEFAULT_CACHE_DIR = os.path.join(os.path.expanduser("~"), ".cache", "harness")


def describe():
    described = {}
    for name in sorted(jobs.JOBS):
        module = jobs.load(name)
        described[name] = {
            "description": module.DESCRIPTION,
            "params": dict((key, dict(param._asdict())) for key, param in module.PARAMS.items()),
        }
    return described


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt()


def _one_line(error):
    text = str(error).strip().splitlines()
    return "%s: %s" % (type(error).__name__, text[0][:500] if text else "")


def _load_tensorflow(module, params):
    """TensorFlow (None when the job does not need it) and the device it will use."""
    if not getattr(module, "needs_tensorflow", lambda params: True)(params):
        return None, "cpu"
    if params.get("device") == "cpu":
        compat.hide_gpus()
    tf = compat.import_tensorflow()
    used = compat.device_used(tf)
    if params.get("device") == "gpu" and used != "gpu":
        raise compat.Unsupported("device=gpu, but TensorFlow sees no GPU here (CUDA_VISIBLE_DEVICES=%s)"
                                 % os.environ.get("CUDA_VISIBLE_DEVICES"))
    return tf, used


def run_job(module, name, params, out_dir, cache_dir, work_dir):
    """Run one job, emitting its events; return the final status."""
    emitter = Emitter(out_dir)
    status, error, metrics, tf = "failed", None, {}, None
    try:
        tf, device = _load_tensorflow(module, params)
        emitter.emit("start", job=name, params=params, jobs_version=__version__, device=device,
                     startup_seconds=time.monotonic() - PROCESS_START,
                     environment=compat.environment(tf))
        context = {"tf": tf, "cache_dir": cache_dir, "work_dir": work_dir, "out_dir": out_dir, "device": device}
        metrics = module.run(params, emitter, context) or {}
        metrics["device"] = device
        status = "ok"
    except KeyboardInterrupt:
        status, error = "interrupted", "interrupted by a signal"
    except compat.Unsupported as unsupported:
        status, error = "skipped", str(unsupported)
    except data.DatasetUnavailable as unavailable:
        error = str(unavailable)
    except Exception as failure:
        if tf is not None and compat.is_out_of_memory(tf, failure):
            status = "oom"
        error = _one_line(failure)
        traceback.print_exc()
    emitter.emit("end", status=status, error=error, metrics=metrics)
    emitter.close()
    return status


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m harness_jobs", description=__doc__.splitlines()[0])
    parser.add_argument("job", nargs="?", help="job name (see --describe)")
    parser.add_argument("--params", default="{}", help="JSON object of parameters")
    parser.add_argument("--out", default=".", help="output folder (events.jsonl, artifacts)")
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR, help="datasets and models cache (read only)")
    parser.add_argument("--work-dir", help="writable state kept between jobs: bottlenecks, exports, "
                                           "generated datasets (default: CACHE_DIR/work)")
    parser.add_argument("--describe", action="store_true", help="print the jobs' parameters as JSON")
    args = parser.parse_args(argv)
    if args.describe or not args.job:
        print(json.dumps(describe(), indent=2, sort_keys=True))
        return 0
    try:
        module = jobs.load(args.job)
        given = json.loads(args.params)
        if not isinstance(given, dict):
            raise ValueError("--params must be a JSON object")
        params = resolve(module.PARAMS, given)
    except (jobs.UnknownJob, ParamError, ValueError) as bad:
        sys.stderr.write("harness_jobs: error: %s\n" % bad)
        return 2
    if not os.path.isdir(args.out):
        os.makedirs(args.out)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    work_dir = args.work_dir or os.path.join(args.cache_dir, "work")
    return EXIT_CODES[run_job(module, args.job, params, args.out, args.cache_dir, work_dir)]


if __name__ == "__main__":
    sys.exit(main())
