"""Targets and suites: built-in TOML files plus the user's `harness.toml`, validated.

Every error names the file (and line, for TOML syntax) and the known names, so a user can
fix it without reading code.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from benchmarks import jobs as job_registry
from benchmarks.params import ParamError, check_value

from . import power
from .errors import UsageError

USER_CONFIG = "harness.toml"
RUNNERS = ("local", "docker")
TARGET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclasses.dataclass(frozen=True)
class Target:
    """Where jobs run and how they are measured. Fields left empty are filled by later runners."""

    name: str
    runner: str = "local"
    platform: str = ""
    image: str = ""
    runtime: str = ""
    gpus: str = ""
    docker_host: str = ""
    telemetry: str = "auto"
    price_usd: float | None = None
    notes: str = ""
    cache_dir: str = ""
    work_volume: str = "harness-work"  # docker: named volume for bottlenecks, exports, generated data
    shm_size: str = ""
    mem_limit: str = ""
    timeout_s: float = 3600.0
    engine_timeout_s: float = 60.0  # docker: the longest wait for one answer from the engine
    sample_interval_s: float = 0.5
    idle_baseline_s: float = 3.0   # pre-flight idle power baseline before each job (0: none)
    preflight: str = "warn"        # "strict": other processes holding GPU memory fail the job
    tegrastats_path: str = ""      # on the device; default: tegrastats on PATH (/usr/bin in L4T)
    power_mode: str | int | None = None  # Jetson: nvpmodel name or id set before each job (docs/power-modes.md)
    jetson_clocks: bool | None = None    # Jetson: jetson_clocks on/off before each job
    source: str = ""

    def public(self) -> dict[str, Any]:
        """The fields worth recording in a run manifest (a password in docker_host masked)."""
        fields = {k: v for k, v in dataclasses.asdict(self).items() if k != "source"}
        fields["docker_host"] = re.sub(r"^([a-z]+://[^/@:]*):[^/@]*@", r"\1:***@", self.docker_host)
        return fields


_TARGET_TYPES = {f.name: f.type for f in dataclasses.fields(Target) if f.name not in ("name", "source")}


@dataclasses.dataclass(frozen=True)
class SuiteEntry:
    job: str
    params: dict[str, Any]
    sweep: dict[str, list[Any]]


@dataclasses.dataclass(frozen=True)
class Suite:
    name: str
    description: str
    entries: tuple[SuiteEntry, ...]
    source: str
    repeat: int = 1   # processes per job unless `run --repeat` says otherwise


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{path}: {error}") from None
    except UnicodeDecodeError as error:
        raise UsageError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except ValueError as error:  # an integer too long to convert
        raise UsageError(f"{path}: {error}") from None
    except RecursionError:
        raise UsageError(f"{path}: arrays or tables nested too deeply") from None
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None


def _check_field(where: str, key: str, value: Any, annotation: str) -> Any:
    wants_float = "float" in annotation
    if wants_float and isinstance(value, int) and not isinstance(value, bool):
        try:
            value = float(value)
        except OverflowError:
            raise UsageError(f"{where}: '{key}' is too large a number") from None
    ok = isinstance(value, float) if wants_float else isinstance(value, str)
    if not ok:
        kind = "a number" if wants_float else "a string"
        raise UsageError(f"{where}: '{key}' must be {kind}, got {value!r}")
    return value


def make_target(name: str, table: Any, source: str) -> Target:
    where = f"{source}: target '{name}'"
    if not TARGET_NAME.match(name) or ".." in name:
        raise UsageError(f"{where}: a target name is letters, digits, '.', '_' or '-' (it names folders)")
    if not isinstance(table, dict):
        raise UsageError(f"{where} must be a table")
    unknown = sorted(set(table) - set(_TARGET_TYPES))
    if unknown:
        raise UsageError(f"{where}: unknown key '{unknown[0]}' (known: {', '.join(sorted(_TARGET_TYPES))})")
    fields = {key: power.check_value(key, value, where) if key in power.KEYS
              else _check_field(where, key, value, _TARGET_TYPES[key]) for key, value in table.items()}
    if fields.get("runner", "local") not in RUNNERS:
        raise UsageError(f"{where}: runner must be one of {', '.join(RUNNERS)}, got {fields['runner']!r}")
    _check_telemetry(where, fields)
    return Target(name=name, source=source, **fields)


def _check_telemetry(where: str, fields: dict[str, Any]) -> None:
    from .telemetry.preflight import POLICIES, parse_spec
    try:
        parse_spec(fields.get("telemetry", "auto"))
    except ValueError as error:
        raise UsageError(f"{where}: {error}") from None
    if fields.get("preflight", "warn") not in POLICIES:
        raise UsageError(f"{where}: preflight must be one of {', '.join(POLICIES)}, got {fields['preflight']!r}")
    for key in ("sample_interval_s", "idle_baseline_s", "timeout_s", "engine_timeout_s"):
        value = fields.get(key, 1.0)
        if not math.isfinite(value) or value < 0 or (key != "idle_baseline_s" and value == 0):
            raise UsageError(f"{where}: '{key}' must be a positive number of seconds, got {value!r}")
    price = fields.get("price_usd")
    if price is not None and (not math.isfinite(price) or price < 0):
        raise UsageError(f"{where}: 'price_usd' must be a number of 0 or more, got {price!r}")


def _builtin(name: str):
    return resources.files("harness").joinpath(name)


def load_config(path: Path | None) -> dict[str, Any]:
    """The user's config file: `path` when given (must exist), else ./harness.toml if present."""
    if path is None:
        path = Path(USER_CONFIG)
        if not path.exists():
            return {}
    data = read_toml(path)
    unknown = sorted(set(data) - {"targets", "suites"})
    if unknown:
        raise UsageError(f"{path}: unknown section '{unknown[0]}' (known: suites, targets)")
    data["_path"] = str(path)
    return data


def load_targets(config: dict[str, Any]) -> dict[str, Target]:
    """Built-in targets, overridden or extended by the user's `[targets.NAME]` tables."""
    builtin_file = _builtin("targets.toml")
    tables = tomllib.loads(builtin_file.read_text())["targets"]
    targets = {name: make_target(name, table, "built-in targets") for name, table in tables.items()}
    user_tables = config.get("targets", {})
    for name, table in user_tables.items():
        merged = {**(tables.get(name, {})), **table} if isinstance(table, dict) else table
        targets[name] = make_target(name, merged, config["_path"])
    return targets


def get_target(targets: dict[str, Target], name: str) -> Target:
    if name not in targets:
        raise UsageError(f"unknown target '{name}' (known: {', '.join(sorted(targets))})")
    return targets[name]


def builtin_suites() -> dict:
    folder = resources.files("benchmarks").joinpath("suites")
    return {entry.name[:-5]: entry for entry in folder.iterdir() if entry.name.endswith(".toml")}


def suite_names(config: dict[str, Any]) -> list[str]:
    return sorted(set(builtin_suites()) | set(config.get("suites", {})))


def load_suite(name: str, config: dict[str, Any]) -> Suite:
    """A suite by name (user config first, then built-in) or by path to a .toml file."""
    if name in config.get("suites", {}):
        return parse_suite(name, config["suites"][name], config["_path"])
    builtin = builtin_suites()
    if name in builtin:
        source = f"built-in suite {name}.toml"
        try:
            data = tomllib.loads(builtin[name].read_text())
        except tomllib.TOMLDecodeError as error:
            raise UsageError(f"{source}: {error}") from None
        return parse_suite(name, data, source)
    if name.endswith(".toml"):
        path = Path(name)
        return parse_suite(path.stem, read_toml(path), str(path))
    raise UsageError(f"unknown suite '{name}' (known: {', '.join(suite_names(config))}, or a path to a .toml file)")


def single_job_suite(job: str) -> Suite:
    check_job(job, "--job")
    return Suite(name=job, description=f"the {job} job with default parameters",
                 entries=(SuiteEntry(job, {}, {}),), source="--job")


def check_job(job: Any, where: str):
    if not isinstance(job, str):
        raise UsageError(f"{where}: a job name must be a string, got {job!r}")
    try:
        return job_registry.load(job)
    except job_registry.UnknownJob as error:
        raise UsageError(f"{where}: {error.args[0]}") from None


def check_param(job: str, key: str, value: Any, where: str) -> Any:
    specs = check_job(job, where).PARAMS
    if key not in specs:
        raise UsageError(f"{where}: unknown parameter '{key}' for job '{job}' (known: {', '.join(sorted(specs))})")
    try:
        return check_value(key, specs[key], value)
    except ParamError as error:
        raise UsageError(f"{where}: {error}") from None


def check_entry_value(job: str, key: str, value: Any, where: str) -> Any:
    """A suite entry's param or sweep value: a job parameter, or a harness power key (power_mode,
    jetson_clocks: set on the device before the job, docs/power-modes.md)."""
    if key in power.KEYS:
        return power.check_value(key, value, where)
    return check_param(job, key, value, where)


def parse_suite(name: str, data: Any, source: str) -> Suite:
    where = f"{source}: suite '{name}'"
    if not isinstance(data, dict):
        raise UsageError(f"{where} must be a table")
    unknown = sorted(set(data) - {"description", "jobs", "repeat"})
    if unknown:
        raise UsageError(f"{where}: unknown key '{unknown[0]}' (known: description, jobs, repeat)")
    repeat = data.get("repeat", 1)
    if isinstance(repeat, bool) or not isinstance(repeat, int) or not 1 <= repeat <= 1000:
        raise UsageError(f"{where}: 'repeat' must be a whole number from 1 to 1000, got {repeat!r:.40}")
    raw_entries = data.get("jobs")
    if not isinstance(raw_entries, list) or not raw_entries:
        raise UsageError(f"{where}: needs at least one [[jobs]] entry")
    entries = []
    for number, raw in enumerate(raw_entries, start=1):
        here = f"{where}, jobs entry {number}"
        if not isinstance(raw, dict) or "job" not in raw:
            raise UsageError(f"{here}: needs a 'job' name")
        extra = sorted(set(raw) - {"job", "params", "sweep"})
        if extra:
            raise UsageError(f"{here}: unknown key '{extra[0]}' (known: job, params, sweep)")
        job, params, sweep = raw["job"], raw.get("params", {}), raw.get("sweep", {})
        check_job(job, here)  # also without params: an unknown or non-string name is a usage error
        if not isinstance(params, dict) or not isinstance(sweep, dict):
            raise UsageError(f"{here}: 'params' and 'sweep' must be tables")
        params = {key: check_entry_value(job, key, value, here) for key, value in params.items()}
        checked_sweep = {}
        for key, values in sweep.items():
            if not isinstance(values, list) or not values:
                raise UsageError(f"{here}: sweep '{key}' must be a non-empty list")
            checked_sweep[key] = [check_entry_value(job, key, value, here) for value in values]
        entries.append(SuiteEntry(job, params, checked_sweep))
    return Suite(name=name, description=str(data.get("description", "")), entries=tuple(entries), source=source,
                 repeat=repeat)
