"""`python -m benchmarks JOB --params JSON --out DIR [--cache-dir DIR]` runs one job.

`python -m benchmarks --describe` prints every job's parameters as JSON. A job always ends
with an `end` event carrying its status (ok, failed, oom, interrupted) and an error text;
the exit code says the same (0, 1, 3, 130; 2 for bad arguments).
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

EXIT_CODES = {"ok": 0, "failed": 1, "oom": 3, "interrupted": 130}
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


def run_job(module, name, params, out_dir, cache_dir):
    """Run one job, emitting its events; return the final status."""
    emitter = Emitter(out_dir)
    status, error, metrics, tf = "failed", None, {}, None
    try:
        needs_tf = getattr(module, "needs_tensorflow", lambda params: True)(params)
        tf = compat.import_tensorflow() if needs_tf else None
        emitter.emit("start", job=name, params=params, jobs_version=__version__,
                     startup_seconds=time.monotonic() - PROCESS_START,
                     environment=compat.environment(tf))
        metrics = module.run(params, emitter, {"tf": tf, "cache_dir": cache_dir}) or {}
        status = "ok"
    except KeyboardInterrupt:
        status, error = "interrupted", "interrupted by a signal"
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
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("job", nargs="?", help="job name (see --describe)")
    parser.add_argument("--params", default="{}", help="JSON object of parameters")
    parser.add_argument("--out", default=".", help="output folder (events.jsonl, artifacts)")
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR, help="datasets and models cache")
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
        sys.stderr.write("benchmarks: error: %s\n" % bad)
        return 2
    if not os.path.isdir(args.out):
        os.makedirs(args.out)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    return EXIT_CODES[run_job(module, args.job, params, args.out, args.cache_dir)]


if __name__ == "__main__":
    sys.exit(main())
