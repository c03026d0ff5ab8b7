"""`harness prepare`: fill a cache folder with what a plan's jobs download, so a device without
internet can run them. It calls each job's own `prepare(params, keras, cache_dir)`, the same
loaders the job uses, so a prepared cache is exactly what the job looks for."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from harness_jobs import compat, data
from harness_jobs import jobs as job_registry

from .errors import UsageError
from .plan import JobSpec


@dataclasses.dataclass
class Prepared:
    label: str
    path: str | None
    megabytes: float | None
    error: str | None = None


def size_mb(path: str) -> float:
    target = Path(path)
    files = [target] if target.is_file() else [f for f in target.rglob("*") if f.is_file()]
    return sum(f.stat().st_size for f in files) / 1e6


def prepare(plan: list[JobSpec], cache_dir: Path, on_item=lambda item: None) -> list[Prepared]:
    """Fetch every job's inputs into `cache_dir`; failures are listed, not raised."""
    modules = [(spec, job_registry.load(spec.job)) for spec in plan]
    preparers = [(spec, module.prepare) for spec, module in modules if hasattr(module, "prepare")]
    if not preparers:
        return []
    try:
        tf = compat.import_tensorflow()
    except ImportError:
        raise UsageError("harness prepare needs TensorFlow on this machine to use the jobs' own loaders: "
                         "pip install -e '.[tf]'") from None
    cache_dir.mkdir(parents=True, exist_ok=True)
    done: dict[str, Prepared] = {}
    for spec, job_prepare in preparers:
        try:
            paths = job_prepare(spec.params, tf.keras, str(cache_dir))
        except data.DatasetUnavailable as error:
            if f"error:{error}" not in done:  # one line per missing file, not per job needing it
                done[f"error:{error}"] = Prepared(spec.label, None, None, str(error))
                on_item(done[f"error:{error}"])
            continue
        for path in paths:
            if path not in done:
                done[path] = Prepared(spec.label, path, size_mb(path))
                on_item(done[path])
    return list(done.values())


def default_cache_dir(target_cache_dir: str) -> Path:
    return Path(os.path.expanduser(target_cache_dir or "~/.cache/harness"))
