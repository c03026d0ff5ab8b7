"""Jetson power modes: nvpmodel and jetson_clocks set through jtop before each job, read back,
and the device's previous state put back when the run ends (docs/power-modes.md).

Settings come from the target (`power_mode`, `jetson_clocks`) and, per job, from a suite's params or
sweep (the same two keys, a harness axis rather than a job parameter). jetson-stats 4.3's client
applies a change asynchronously (its service runs `nvpmodel -m` in a thread and the client sees the
new model at the service's next status), and a failed `nvpmodel -m` raises nothing in the client:
so every change is polled until jtop reports it, or the job fails naming what jtop still reports.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any

from .errors import UsageError

KEYS = ("power_mode", "jetson_clocks")
SETTLE_TIMEOUT_S = 30.0  # the service's nvpmodel thread waits up to ~3 s for jetson_clocks, twice, plus nvpmodel -m
POLL_S = 0.5  # the jtop client's interval: ok() returns with each new data set from the service


class PowerError(Exception):
    """A power state could not be set or read back (the job is failed, the run goes on)."""


@dataclasses.dataclass(frozen=True)
class PowerState:
    power_mode: str | None      # nvpmodel name
    power_mode_id: int | None
    jetson_clocks: bool | None

    def public(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> PowerState | None:
        if not isinstance(data, dict):
            return None
        mode_id = data.get("power_mode_id")
        clocks = data.get("jetson_clocks")
        return cls(data.get("power_mode") if isinstance(data.get("power_mode"), str) else None,
                   mode_id if isinstance(mode_id, int) and not isinstance(mode_id, bool) else None,
                   clocks if isinstance(clocks, bool) else None)


def check_value(key: str, value: Any, where: str) -> Any:
    """A power key's value as config and suites give it: power_mode a name or an id (int >= 0),
    jetson_clocks a bool. A mode's existence on the board is checked when the run starts."""
    if key == "power_mode":
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        if isinstance(value, str) and value.strip():
            text = value.strip()
            return int(text) if text.isdigit() else text
        raise UsageError(f"{where}: 'power_mode' must be an nvpmodel name (e.g. \"MAXN\") or id (e.g. 0), got {value!r}")
    if key == "jetson_clocks":
        if isinstance(value, bool):
            return value
        raise UsageError(f"{where}: 'jetson_clocks' must be true or false, got {value!r}")
    raise KeyError(key)


def wanted(target, power: dict[str, Any]) -> dict[str, Any]:
    """A job's power settings: the target's, overridden by the job's own (suite params or sweep)."""
    settings = {}
    if target.power_mode not in (None, ""):
        settings["power_mode"] = check_value("power_mode", target.power_mode, f"target '{target.name}'")
    if target.jetson_clocks is not None:
        settings["jetson_clocks"] = target.jetson_clocks
    settings.update(power)
    return settings


def _load_jtop():
    try:
        import jtop
    except ImportError:
        return None
    return jtop


class PowerControl:
    """One jtop client for a run: checks modes, applies a job's settings, restores the first state."""

    def __init__(self, target_name: str, module=None, timeout_s: float = SETTLE_TIMEOUT_S):
        self.target_name = target_name
        self.timeout_s = timeout_s
        self._module = module
        self.jetson: Any = None  # jtop.jtop once open() connects (jetson-stats has no type hints)
        self.previous: PowerState | None = None

    def open(self) -> PowerControl:
        """Connect to jtop; a UsageError (one line) when it is not there or does not answer."""
        from harness_jobs.telemetry.jetson import explain
        module = self._module or _load_jtop()
        if module is None:
            raise UsageError(f"target '{self.target_name}' sets power_mode/jetson_clocks, which needs jtop: "
                             "jetson-stats is not installed here (pip install 'jetson-stats>=4.3,<4.4')")
        try:
            self.jetson = module.jtop(interval=POLL_S)
            self.jetson.start()
        except (module.JtopException, OSError, ValueError) as error:
            raise UsageError(f"target '{self.target_name}' sets power_mode/jetson_clocks, but jtop does not "
                             f"answer: {explain(error)}") from None
        return self

    def close(self) -> None:
        if self.jetson is not None:
            try:
                self.jetson.close()
            except Exception:  # noqa: BLE001 - closing must not fail a run
                pass
            self.jetson = None

    def board(self) -> str:
        hardware = (self.jetson.board or {}).get("hardware", {})
        return str(hardware.get("Model") or hardware.get("Module") or "this board")

    def models(self) -> list[str]:
        model = self.jetson.nvpmodel
        return list(model.models) if model is not None else []

    def read(self) -> PowerState:
        model = self.jetson.nvpmodel
        clocks = self.jetson.jetson_clocks
        return PowerState(model.name if model is not None else None, model.id if model is not None else None,
                          bool(clocks) if clocks is not None else None)

    def resolve(self, mode: Any) -> tuple[int, str]:
        """An nvpmodel name or id -> (id, name) on this board; UsageError naming the board's modes."""
        models = self.models()
        if not models:
            raise UsageError(f"target '{self.target_name}': power_mode {mode!r} set, but {self.board()} has no "
                             "nvpmodel (jtop reports none)")
        if isinstance(mode, int) and 0 <= mode < len(models):
            return mode, models[mode]
        if isinstance(mode, str) and mode in models:
            return models.index(mode), mode
        known = ", ".join(f"{index} {name}" for index, name in enumerate(models))
        raise UsageError(f"target '{self.target_name}': unknown power_mode {mode!r} for {self.board()} "
                         f"(its modes: {known})")

    def check(self, settings: list[dict[str, Any]]) -> None:
        """Before anything runs: every mode exists on the board, jetson_clocks can be driven."""
        for item in settings:
            if "power_mode" in item:
                self.resolve(item["power_mode"])
            if "jetson_clocks" in item and self.jetson.jetson_clocks is None:
                raise UsageError(f"target '{self.target_name}': jetson_clocks set, but jtop reports no "
                                 f"jetson_clocks on {self.board()}")

    def remember(self, previous: PowerState | None = None) -> PowerState:
        """The state to put back at the end: `previous` (a killed run's, from its manifest) or now's."""
        self.previous = previous or self.read()
        return self.previous

    def apply(self, settings: dict[str, Any]) -> PowerState:
        """Set nvpmodel first (the service turns jetson_clocks off and on around it), then jetson_clocks;
        wait until jtop reports both; the state read back."""
        from harness_jobs.telemetry.jetson import explain
        module = self._module or _load_jtop()
        want_id = None
        if "power_mode" in settings:
            want_id, name = self.resolve(settings["power_mode"])
            try:
                if self.jetson.nvpmodel.id != want_id:
                    self.jetson.nvpmodel = name
            except module.JtopException as error:
                raise PowerError(f"nvpmodel {name}: {explain(error)}") from None
            self._wait(lambda state: state.power_mode_id == want_id, f"nvpmodel {name} (id {want_id})")
        if "jetson_clocks" in settings:
            want = bool(settings["jetson_clocks"])
            try:
                if bool(self.jetson.jetson_clocks) != want:
                    self.jetson.jetson_clocks = want
            except module.JtopException as error:
                raise PowerError(f"jetson_clocks {'on' if want else 'off'}: {explain(error)}") from None
            self._wait(lambda state: state.jetson_clocks is want, f"jetson_clocks {'on' if want else 'off'}")
        return self.read()

    def restore(self) -> PowerState | None:
        """Put the remembered state back; None when there is nothing to restore."""
        if self.previous is None or self.jetson is None:
            return None
        settings: dict[str, Any] = {}
        if self.previous.power_mode_id is not None:
            settings["power_mode"] = self.previous.power_mode_id
        if self.previous.jetson_clocks is not None:
            settings["jetson_clocks"] = self.previous.jetson_clocks
        return self.apply(settings)

    def _wait(self, done, what: str) -> None:
        deadline = time.monotonic() + self.timeout_s
        while True:
            state = self.read()
            if done(state):
                return
            if time.monotonic() >= deadline:
                status = getattr(self.jetson.nvpmodel, "status", None)
                raise PowerError(f"{what} not in effect after {self.timeout_s:g} s: jtop still reports nvpmodel "
                                 f"{state.power_mode} (id {state.power_mode_id}), jetson_clocks "
                                 f"{state.jetson_clocks} (nvpmodel status {status})")
            try:
                fresh = self.jetson.ok()  # waits for the service's next data set, where a change shows
            except Exception as error:  # noqa: BLE001 - JtopException: the service went away
                raise PowerError(f"{what}: jtop stopped answering ({error})") from None
            if not fresh:
                raise PowerError(f"{what}: jtop stopped answering (no data from its service)")


def _engine_elsewhere(target) -> str | None:
    """Where a target's jobs run when that is not this machine, whose jtop this process reaches: None
    for a local target and for a docker target on this machine's engine (its unix socket)."""
    if target.runner == "local":
        return None
    host = target.docker_host or os.environ.get("DOCKER_HOST", "")
    if target.runner == "docker" and (not host or host.startswith("unix://")):
        return None
    return f"the engine at {host}" if host else f"a {target.runner} target"


def control_for(target, plan) -> PowerControl | None:
    """The run's jtop client when any job of `plan` on `target` sets a power key, checked before anything
    runs or is written (unknown mode, no jtop: a UsageError, one line); None when none does."""
    settings = [item for item in (wanted(target, spec.power) for spec in plan) if item]
    if not settings:
        return None
    where = _engine_elsewhere(target)
    if where:
        raise UsageError(f"target '{target.name}': power_mode and jetson_clocks are applied on the machine the "
                         f"harness runs on (local targets, docker targets of its own engine), not on {where}: "
                         f"run the harness on the Jetson, or set the mode there: sudo nvpmodel -m ID; "
                         f"sudo jetson_clocks; see docs/power-modes.md")
    control = PowerControl(target.name).open()
    try:
        control.check(settings)
    except BaseException:
        control.close()
        raise
    return control
