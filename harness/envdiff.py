"""What a job ran with (versions, parameters, device, emulation) and where sides differ.

A comparison is only defensible when the things that change a number are the same or shown:
compare puts these differences beside the numbers, and withholds speed ratios when a side was
emulated or trained on another dataset (unless forced)."""

from __future__ import annotations

from typing import Any

from .jobdata import JobData

# what a job ran with: the environment whose differences compare shows beside the numbers
ENVIRONMENT = ("python", "tf", "keras", "cuda", "device", "batch_size", "image_size", "dataset", "dataset_size",
         "power_mode", "emulated")
# environment entries whose difference makes a speed ratio meaningless: they refuse it unless --force
SPEED_BLOCKERS = ("emulated", "dataset", "dataset_size")


def _device(params: dict[str, Any], environment: dict[str, Any]) -> str | None:
    if params.get("device") not in (None, "", "auto"):  # "auto": whatever the job found, below
        return str(params["device"])
    devices = environment.get("devices")
    if not isinstance(devices, list):
        return None
    return "gpu" if any(str(d.get("type", "")).upper() == "GPU" for d in devices if isinstance(d, dict)) else "cpu"


def _power_mode(result: dict[str, Any], environment: dict[str, Any], manifest: dict[str, Any]) -> str | None:
    """Jetson nvpmodel mode (and jetson_clocks) as the telemetry pre-flight recorded them."""
    device = ((result.get("telemetry") or {}).get("device")) or {}
    mode = device.get("nvpmodel") or environment.get("power_mode") or manifest.get("power_mode")
    clocks = device.get("jetson_clocks")
    if mode is None or clocks is None:
        return mode
    return f"{mode}, jetson_clocks {'on' if clocks else 'off'}"


def job_environment(manifest: dict[str, Any], result: dict[str, Any], data: JobData) -> dict[str, Any]:
    """The environment one job result ran in (ENVIRONMENT's names); None where not recorded."""
    start = data.first("start") or {}
    dataset = data.first("dataset") or {}
    environment = start.get("environment") or {}
    params = result.get("params") or start.get("params") or {}
    build = environment.get("tf_build") or {}
    keras = environment.get("keras")
    flavour = environment.get("keras_flavour")
    return {
        "python": environment.get("python"),
        "tf": environment.get("tf"),
        "keras": f"{keras} ({flavour})" if keras and flavour else keras or flavour,
        "cuda": build.get("cuda_version"),
        "device": _device(params, environment),
        "batch_size": params.get("batch_size"),
        "image_size": params.get("image_size"),
        "dataset": params.get("dataset") or dataset.get("name"),
        "dataset_size": dataset.get("train_samples"),
        "power_mode": _power_mode(result, environment, manifest),
        "emulated": bool(manifest.get("emulated") or result.get("emulated")),
    }


def differences(environments: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """name -> its value on each side, for the environment entries that are not the same on every side."""
    return {name: [side.get(name) for side in environments] for name in ENVIRONMENT
            if len({repr(side.get(name)) for side in environments}) > 1}


def speed_blockers(baseline: dict[str, Any], side: dict[str, Any]) -> list[str]:
    """Why a speed ratio of `side` over `baseline` would mislead; empty when it would not."""
    reasons = []
    if baseline.get("emulated") or side.get("emulated"):
        reasons.append("emulated")
    for name in ("dataset", "dataset_size"):
        if baseline.get(name) != side.get(name):
            reasons.append(f"{name} {baseline.get(name)} vs {side.get(name)}")
    return reasons
