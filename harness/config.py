"""Targets and suites: built-in TOML files plus the user's `harness.toml`, validated.

Each target key is declared once, on its `Target` field: the check that turns the TOML value into
the typed one, and the runners it applies to. Every error names the file (and line, for TOML
syntax), the target and the key, and the known names, so a user can fix it without reading code.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from harness_jobs import jobs as job_registry
from harness_jobs.params import ParamError, check_value
from harness_jobs.telemetry.sources import DEVICE_SOURCES

from . import peaks, power
from .errors import UsageError
from .telemetry.preflight import POLICIES, parse_spec

USER_CONFIG = "harness.toml"
RUNNERS = ("local", "docker")
DOCKER_ONLY = ("docker",)
TARGET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

# (where, key, value) -> the typed value, or a UsageError naming where, the key and what it must be
Check = Callable[[str, str, Any], Any]


@dataclasses.dataclass(frozen=True)
class TelemetrySpec:
    """A target's `telemetry`, parsed once: ("auto",) lets the device decide, () is `none`, else the
    sources named. `text` is what the config said, as the run manifest records it."""

    text: str
    sources: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> TelemetrySpec:
        """ValueError naming the known sources."""
        names = parse_spec(text)
        return cls(text, () if names == ["none"] else tuple(names))

    @property
    def auto(self) -> bool:
        return self.sources == ("auto",)

    @property
    def device_sources(self) -> list[str]:
        """The GPU/board sources to open (["auto"]: whichever answer on the device)."""
        return ["auto"] if self.auto else [name for name in self.sources if name in DEVICE_SOURCES]


def _wrong(where: str, key: str, value: Any, wants: str) -> UsageError:
    return UsageError(f"{where}: '{key}' must be {wants}, got {value!r:.60}")


def _text(where: str, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _wrong(where, key, value, "a string")
    return value


def _one_of(*allowed: str) -> Check:
    def check(where: str, key: str, value: Any) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise UsageError(f"{where}: {key} must be one of {', '.join(allowed)}, got {value!r:.60}")
        return value
    return check


def _number(where: str, key: str, value: Any) -> float:
    """An int or a float (never a bool), as a finite float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _wrong(where, key, value, "a number")
    try:
        return float(value)
    except OverflowError:
        raise UsageError(f"{where}: '{key}' is too large a number") from None


def _seconds(zero_ok: bool = False) -> Check:
    def check(where: str, key: str, value: Any) -> float:
        seconds = _number(where, key, value)
        if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not zero_ok):
            raise _wrong(where, key, value, "0 or more seconds" if zero_ok else "a positive number of seconds")
        return seconds
    return check


def _price(where: str, key: str, value: Any) -> float:
    price = _number(where, key, value)
    if not math.isfinite(price) or price < 0:
        raise _wrong(where, key, value, "a number of 0 or more")
    return price


def _gpus(where: str, key: str, value: Any) -> str:
    """"all" or a count, as Docker's --gpus takes them; 0 (no GPUs) is stored as unset, ""."""
    if value in ("", "all"):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value) if value else ""
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,6}", value):
        return str(int(value)) if int(value) else ""
    raise _wrong(where, key, value, '"all" or a number of GPUs (0 or more)')


def _telemetry(where: str, key: str, value: Any) -> TelemetrySpec:
    try:
        return TelemetrySpec.parse(_text(where, key, value))
    except ValueError as error:
        raise UsageError(f"{where}: {error}") from None


def _device_model(where: str, key: str, value: Any) -> str:
    if value != "" and (not isinstance(value, str) or value not in peaks.PEAKS):
        raise UsageError(f"{where}: unknown device_model {value!r:.60} (known: {', '.join(peaks.PEAKS)})")
    return value


def _power(where: str, key: str, value: Any) -> Any:
    return power.check_value(key, value, where)


def _key(default: Any, check: Check, runners: tuple[str, ...] = RUNNERS) -> Any:
    """A target key: its default, its check, and the runners it applies to (elsewhere it is an error)."""
    return dataclasses.field(default=default, metadata={"check": check, "runners": runners})


@dataclasses.dataclass(frozen=True)
class Target:
    """Where jobs run and how they are measured. Fields left empty are filled by later runners."""

    name: str
    runner: str = _key("local", _one_of(*RUNNERS))
    platform: str = _key("", _text, DOCKER_ONLY)  # checked against the engine's architecture
    image: str = _key("", _text, DOCKER_ONLY)
    runtime: str = _key("", _text, DOCKER_ONLY)
    gpus: str = _key("", _gpus, DOCKER_ONLY)      # "", "all" or a count from 1
    docker_host: str = _key("", _text, DOCKER_ONLY)
    telemetry: TelemetrySpec = _key(TelemetrySpec("auto", ("auto",)), _telemetry)
    price_usd: float | None = _key(None, _price)
    notes: str = _key("", _text)
    cache_dir: str = _key("", _text)
    work_volume: str = _key("harness-work", _text, DOCKER_ONLY)  # named volume for bottlenecks, exports, data
    shm_size: str = _key("", _text, DOCKER_ONLY)
    mem_limit: str = _key("", _text, DOCKER_ONLY)
    timeout_s: float = _key(3600.0, _seconds())
    engine_timeout_s: float = _key(60.0, _seconds(), DOCKER_ONLY)  # the longest wait for one engine answer
    sample_interval_s: float = _key(0.5, _seconds())
    idle_baseline_s: float = _key(3.0, _seconds(zero_ok=True))  # pre-flight idle power baseline (0: none)
    preflight: str = _key("warn", _one_of(*POLICIES))  # "strict": other GPU memory holders fail the job
    tegrastats_path: str = _key("", _text)  # on the device; default: tegrastats on PATH (/usr/bin in L4T)
    power_mode: str | int | None = _key(None, _power)   # Jetson: nvpmodel name or id (docs/power-modes.md)
    jetson_clocks: bool | None = _key(None, _power)     # Jetson: jetson_clocks on/off before each job
    device_model: str = _key("", _device_model)         # a harness.peaks name; "" infers it (docs/device-peaks.md)
    source: str = ""

    @property
    def gpu_count(self) -> int | None:
        """Docker's device-request count: -1 for all GPUs, None when the target asks for none."""
        if not self.gpus:
            return None
        return -1 if self.gpus == "all" else int(self.gpus)

    def public(self) -> dict[str, Any]:
        """The fields worth recording in a run manifest (a password in docker_host masked)."""
        fields = {k: v for k, v in dataclasses.asdict(self).items() if k != "source"}
        fields["telemetry"] = self.telemetry.text
        fields["docker_host"] = re.sub(r"^([a-z]+://[^/@:]*):[^/@]*@", r"\1:***@", self.docker_host)
        return fields


# every key a target table may hold -> its field (the check and runners in its metadata)
_TARGET_TYPES = {f.name: f for f in dataclasses.fields(Target) if "check" in f.metadata}


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


def make_target(name: str, table: Any, source: str) -> Target:
    where = f"{source}: target '{name}'"
    if not TARGET_NAME.match(name) or ".." in name:
        raise UsageError(f"{where}: a target name is letters, digits, '.', '_' or '-' (it names folders)")
    if not isinstance(table, dict):
        raise UsageError(f"{where} must be a table")
    unknown = sorted(set(table) - set(_TARGET_TYPES))
    if unknown:
        raise UsageError(f"{where}: unknown key '{unknown[0]}' (known: {', '.join(sorted(_TARGET_TYPES))})")
    runner = _TARGET_TYPES["runner"].metadata["check"](where, "runner", table.get("runner", "local"))
    fields = {}
    for key, value in table.items():
        spec = _TARGET_TYPES[key].metadata
        if runner not in spec["runners"]:
            raise UsageError(f"{where}: '{key}' applies to {' and '.join(spec['runners'])} targets only, "
                             f"and this one has runner = \"{runner}\"")
        fields[key] = spec["check"](where, key, value)
    return Target(name=name, source=source, **fields)


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
    folder = resources.files("harness_jobs").joinpath("suites")
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
    description = _text(where, "description", data.get("description", ""))
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
    return Suite(name=name, description=description, entries=tuple(entries), source=source, repeat=repeat)
