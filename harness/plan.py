"""Suite + overrides -> the list of jobs to run, each with a stable key.

A job's key is its name plus a hash of its full parameters, so the same job with the same
parameters has the same key on every target: that is how `compare` aligns them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import tomllib
from typing import Any

from harness_jobs import jobs as job_registry
from harness_jobs.params import ParamError, resolve

from . import power as power_keys
from .config import Suite, check_entry_value
from .errors import UsageError


@dataclasses.dataclass(frozen=True)
class JobSpec:
    job: str
    params: dict[str, Any]
    varied: dict[str, Any]
    repeat: int = 1
    power: dict[str, Any] = dataclasses.field(default_factory=dict)  # power_mode/jetson_clocks (harness.power)

    @property
    def key(self) -> str:
        keyed = {**self.params, **{f"harness.{k}": v for k, v in self.power.items()}}  # no power: keys as before
        digest = hashlib.sha1(json.dumps(keyed, sort_keys=True).encode()).hexdigest()[:8]
        return f"{self.job}-{digest}"

    @property
    def dir_name(self) -> str:
        return f"{self.key}-r{self.repeat}"

    @property
    def label(self) -> str:
        """The job name and the parameters the suite or --set chose, for people."""
        chosen = " ".join(f"{k}={v}" for k, v in self.varied.items())
        return f"{self.job} {chosen}".strip()


def parse_overrides(pairs: list[str]) -> list[tuple[str | None, str, Any]]:
    """`--set [job.]key=value` items; values are TOML literals (3, 1e-4, true, "x") or bare strings."""
    overrides = []
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--set {pair!r}: expected key=value")
        job, _, key = name.strip().rpartition(".")
        try:
            value = tomllib.loads(f"v = {text}")["v"]
        except (ValueError, RecursionError):  # TOMLDecodeError, a 4,301-digit integer, '[' x 3000
            value = text
        overrides.append((job or None, key, value))
    return overrides


def expand(suite: Suite, overrides: list[tuple[str | None, str, Any]], repeat: int = 1) -> list[JobSpec]:
    """Every job of the suite with its sweep expanded (cartesian product) and overrides applied."""
    for job, key, _ in overrides:
        takers = [e.job for e in suite.entries if job in (None, e.job)]
        specs = [job_registry.load(name).PARAMS for name in takers]
        if key not in power_keys.KEYS and not any(key in s for s in specs):
            known = sorted({k for s in specs for k in s}) if specs else []
            scope = f"job '{job}'" if job else f"suite '{suite.name}'"
            raise UsageError(f"--set {key}: no job in {scope} takes this parameter"
                             + (f" (known: {', '.join(known)})" if known else ""))
    plan: list[JobSpec] = []
    planned: set[str] = set()
    for entry in suite.entries:
        params_spec = job_registry.load(entry.job).PARAMS
        applied = {key: check_entry_value(entry.job, key, value, "--set") for job, key, value in overrides
                   if job in (None, entry.job) and (key in params_spec or key in power_keys.KEYS)}
        sweep = {k: v for k, v in entry.sweep.items() if k not in applied}
        for values in itertools.product(*sweep.values()):
            varied = {**dict(zip(sweep, values)), **applied}
            given = {**entry.params, **varied}
            power = {key: given.pop(key) for key in power_keys.KEYS if key in given}
            try:
                params = resolve(params_spec, given)
            except ParamError as error:
                raise UsageError(str(error)) from None
            for number in range(1, repeat + 1):
                spec = JobSpec(entry.job, params, varied, number, power)
                if spec.dir_name not in planned:  # two sweeps that meet (e.g. the baseline) run it once
                    planned.add(spec.dir_name)
                    plan.append(spec)
    # rounds, not runs of one job: every job's repeat 1, then every job's repeat 2, ... so slow drift of
    # the machine (heat, background load) spreads over all jobs instead of landing on one (stable sort)
    plan.sort(key=lambda spec: spec.repeat)
    return _label_by_differences(plan)


def _label_by_differences(plan: list[JobSpec]) -> list[JobSpec]:
    """Label each job by the parameters that tell it apart from the suite's other jobs of the
    same name (sweeps and separate entries alike), in the order the sweep or --set gave them."""
    labelled = []
    for spec in plan:
        mine = {**spec.params, **spec.power}
        others = [{**other.params, **other.power} for other in plan if other.job == spec.job]
        differing = [key for key in mine if any(o.get(key) != mine[key] for o in others)]
        order = list(spec.varied) + sorted(k for k in differing if k not in spec.varied)
        varied = {key: mine[key] for key in order if key in differing or key in spec.varied}
        labelled.append(dataclasses.replace(spec, varied=varied))
    return labelled
