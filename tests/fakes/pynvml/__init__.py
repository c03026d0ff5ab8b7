"""Stand-in for nvidia-ml-py's `pynvml` (see tests/fakes/README.md): same names, types, units."""

import os
import time
from types import SimpleNamespace

NVML_TEMPERATURE_GPU = 0
NVML_CLOCK_SM = 1
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_DRIVER_NOT_LOADED = 9
_STRINGS = {1: "Uninitialized", 3: "Not Supported", 9: "Driver Not Loaded"}
GiB = 1024 ** 3
MiB = 1024 ** 2


class NVMLError(Exception):
    def __init__(self, value):
        super().__init__(value)
        self.value = value

    def __str__(self):
        return _STRINGS.get(self.value, "Unknown Error")


class NVMLError_NotSupported(NVMLError):
    def __init__(self):
        super().__init__(NVML_ERROR_NOT_SUPPORTED)


class NVMLError_DriverNotLoaded(NVMLError):
    def __init__(self):
        super().__init__(NVML_ERROR_DRIVER_NOT_LOADED)


class NVMLError_Uninitialized(NVMLError):
    def __init__(self):
        super().__init__(NVML_ERROR_UNINITIALIZED)


class NVMLError_NoPermission(NVMLError):
    def __init__(self):
        super().__init__(4)


_state = {"init": 0, "started": None}


def _env(name, default):
    return os.environ.get(name, default)


def _check():
    if not _state["init"]:
        raise NVMLError_Uninitialized()


def nvmlInit():
    if _env("FAKE_NVML", "on") == "off":
        raise NVMLError_DriverNotLoaded()
    _state["init"] += 1
    if _state["started"] is None:
        _state["started"] = time.monotonic()


def nvmlShutdown():
    _check()
    _state["init"] -= 1


def nvmlDeviceGetCount():
    _check()
    return int(_env("FAKE_NVML_GPUS", "1"))


def nvmlDeviceGetHandleByIndex(index):
    _check()
    if index >= nvmlDeviceGetCount():
        raise NVMLError(2)
    return SimpleNamespace(index=index)


def nvmlDeviceGetName(handle):
    return "NVIDIA GeForce RTX 2080"


def nvmlSystemGetDriverVersion():
    return "535.183.01"


def nvmlSystemGetCudaDriverVersion():
    return 12020


def _load():
    return float(_env("FAKE_NVML_UTIL", "87"))


def nvmlDeviceGetUtilizationRates(handle):
    return SimpleNamespace(gpu=int(_load()), memory=int(_load() / 2))


def nvmlDeviceGetMemoryInfo(handle):
    used = 512 * MiB + sum(mb or 0 for mb in _holders().values()) * MiB
    return SimpleNamespace(total=8 * GiB, used=used, free=8 * GiB - used)


def _holders():
    held = {}
    for item in filter(None, _env("FAKE_NVML_PROCESSES", "").split(",")):
        pid, mb = item.split(":")
        held[int(pid)] = float(mb)
    needle = _env("FAKE_NVML_HOLDERS", "")
    if needle:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/cmdline", "rb") as handle:
                        cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                if needle in cmdline:
                    held[int(entry)] = float(_env("FAKE_NVML_HOLDER_MB", "300"))
    return held


def nvmlDeviceGetComputeRunningProcesses(handle):
    if handle.index:
        return []
    return [SimpleNamespace(pid=pid, usedGpuMemory=int(mb * MiB)) for pid, mb in _holders().items()]


def _power_mw():
    return int(_env("FAKE_NVML_POWER_MW", "180000"))


def nvmlDeviceGetPowerUsage(handle):
    return _power_mw()


def nvmlDeviceGetTotalEnergyConsumption(handle):
    if _env("FAKE_NVML_ENERGY", "1") == "0":
        raise NVMLError_NotSupported()
    return int(5_000_000 + _power_mw() * (time.monotonic() - _state["started"]))


def nvmlDeviceGetClockInfo(handle, clock_type):
    return 1710 if clock_type == NVML_CLOCK_SM else 7000


def nvmlDeviceGetTemperature(handle, sensor):
    return 61


def nvmlDeviceGetCurrentClocksThrottleReasons(handle):
    return int(_env("FAKE_NVML_THROTTLE", "0"))
