"""Stand-in for nvidia-ml-py's `pynvml` (see tests/fakes/README.md): same names, signatures,
types, units and failure modes; tests/unit/test_fakes_conformance.py checks it against the real
module. Everything public here exists in the real pynvml; the fake's own knobs are environment
variables (read on every call, so a test or a sidecar can change them) and `_`-prefixed helpers.

How the real binding fails, and how to make this one fail the same way:
- every wrapper looks its C symbol up first (`_nvmlGetFunctionPointer`): a driver without it
  raises NVMLError_FunctionNotFound. FAKE_NVML_MISSING = comma list of functions the driver lacks
  (e.g. nvmlDeviceGetCurrentClocksEventReasons before R535, nvmlDeviceGetComputeRunningProcesses_v3).
- FAKE_NVML_NOT_SUPPORTED / FAKE_NVML_NO_PERMISSION = comma lists of functions that return
  NVML_ERROR_NOT_SUPPORTED / NVML_ERROR_NO_PERMISSION on this GPU.
- FAKE_NVML_GPU_LOST_AFTER = seconds after nvmlInit from which every device call raises
  NVMLError_GpuIsLost (the GPU fell off the bus).
- FAKE_NVML = off: nvmlInit raises DriverNotLoaded; nolib: LibraryNotFound (no libnvidia-ml.so.1).
"""

import os
import string
import time
from functools import wraps
from types import SimpleNamespace

NVML_TEMPERATURE_GPU = 0
NVML_CLOCK_SM = 1
NVML_SUCCESS = 0
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_INVALID_ARGUMENT = 2
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_NOT_FOUND = 6
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_FUNCTION_NOT_FOUND = 13
NVML_ERROR_GPU_IS_LOST = 15
NVML_ERROR_UNKNOWN = 999
_GiB = 1024 ** 3
_MiB = 1024 ** 2


class NVMLLibraryMismatchError(Exception):
    pass


class NVMLError(Exception):
    """As the real one: NVMLError(code) returns the code's subclass (NVMLError_NotSupported, ...)."""
    _valClassMapping = dict()
    _errcode_to_string = {
        NVML_ERROR_UNINITIALIZED: "Uninitialized",
        NVML_ERROR_INVALID_ARGUMENT: "Invalid Argument",
        NVML_ERROR_NOT_SUPPORTED: "Not Supported",
        NVML_ERROR_NO_PERMISSION: "Insufficient Permissions",
        NVML_ERROR_NOT_FOUND: "Not Found",
        NVML_ERROR_DRIVER_NOT_LOADED: "Driver Not Loaded",
        NVML_ERROR_LIBRARY_NOT_FOUND: "NVML Shared Library Not Found",
        NVML_ERROR_FUNCTION_NOT_FOUND: "Function Not Found",
        NVML_ERROR_GPU_IS_LOST: "GPU is lost",
        NVML_ERROR_UNKNOWN: "Unknown Error",
    }

    def __new__(typ, value):
        if typ == NVMLError:
            typ = NVMLError._valClassMapping.get(value, typ)
        obj = Exception.__new__(typ)
        obj.value = value
        return obj

    def __str__(self):
        return NVMLError._errcode_to_string.get(self.value, "NVML Error with code %d" % self.value)

    def __eq__(self, other):
        return self.value == other.value


def _extractNVMLErrorsAsClasses():
    """The real binding's NVML_ERROR_X_Y -> NVMLError_XY subclasses, built the same way."""
    names = globals()  # the real one uses sys.modules[__name__]; tests also load this file unregistered
    for err_name in sorted(x for x in names if x.startswith("NVML_ERROR_")):
        class_name = "NVMLError_" + string.capwords(err_name.replace("NVML_ERROR_", ""), "_").replace("_", "")
        err_val = names[err_name]

        def gen_new(val):
            def new(typ, *args):
                return NVMLError.__new__(typ, val)
            return new
        new_error_class = type(class_name, (NVMLError,), {"__new__": gen_new(err_val)})
        new_error_class.__module__ = __name__
        names[class_name] = new_error_class
        NVMLError._valClassMapping[err_val] = new_error_class


_extractNVMLErrorsAsClasses()

_state = {"init": 0, "started": None}


def _env(name, default):
    return os.environ.get(name, default)


def _listed(name, variable):
    return name in [n.strip() for n in _env(variable, "").split(",")]


def _driver(name, device=True):
    """What the real wrappers do before and after the C call: symbol lookup, then its return code."""
    if not _state["init"]:
        raise NVMLError(NVML_ERROR_UNINITIALIZED)
    if _listed(name, "FAKE_NVML_MISSING"):
        raise NVMLError(NVML_ERROR_FUNCTION_NOT_FOUND)
    lost_after = _env("FAKE_NVML_GPU_LOST_AFTER", "")
    if device and lost_after and time.monotonic() - _state["started"] >= float(lost_after):
        raise NVMLError(NVML_ERROR_GPU_IS_LOST)
    if _listed(name, "FAKE_NVML_NOT_SUPPORTED"):
        raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
    if _listed(name, "FAKE_NVML_NO_PERMISSION"):
        raise NVMLError(NVML_ERROR_NO_PERMISSION)


def _c_call(device=True):
    def decorate(function):
        @wraps(function)
        def wrapper(*args, **kwargs):
            _driver(function.__name__, device)
            return function(*args, **kwargs)
        return wrapper
    return decorate


def throwOnVersionMismatch(func):
    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except NVMLError_FunctionNotFound:  # noqa: F821 - made by _extractNVMLErrorsAsClasses
            raise NVMLLibraryMismatchError("Unversioned function called and the pyNVML version does not match "
                                           "the NVML lib version. Either use matching pyNVML and NVML lib versions "
                                           "or use a versioned function such as " + func.__name__ + "_v2")
    return wrapper


def nvmlInit():
    mode = _env("FAKE_NVML", "on")
    if mode == "nolib":
        raise NVMLError(NVML_ERROR_LIBRARY_NOT_FOUND)
    if mode == "off":
        raise NVMLError(NVML_ERROR_DRIVER_NOT_LOADED)
    _state["init"] += 1
    if _state["started"] is None:
        _state["started"] = time.monotonic()
    return None


@_c_call(device=False)
def nvmlShutdown():
    if 0 < _state["init"]:
        _state["init"] -= 1
    return None


@_c_call(device=False)
def nvmlDeviceGetCount():
    return int(_env("FAKE_NVML_GPUS", "1"))


@_c_call()
def nvmlDeviceGetHandleByIndex(index):
    if index >= int(_env("FAKE_NVML_GPUS", "1")):
        raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
    return SimpleNamespace(index=index)


@_c_call()
def nvmlDeviceGetName(handle):
    return "NVIDIA GeForce RTX 2080"


@_c_call(device=False)
def nvmlSystemGetDriverVersion():
    return _env("FAKE_NVML_DRIVER", "535.183.01")


@_c_call(device=False)
def nvmlSystemGetCudaDriverVersion():
    return 12020


def _load():
    return float(_env("FAKE_NVML_UTIL", "87"))


@_c_call()
def nvmlDeviceGetUtilizationRates(handle):
    return SimpleNamespace(gpu=int(_load()), memory=int(_load() / 2))


@_c_call()
def nvmlDeviceGetMemoryInfo(handle, version=None):
    used = 512 * _MiB + sum(mb or 0 for mb in _holders().values()) * _MiB
    return SimpleNamespace(total=8 * _GiB, used=int(used), free=int(8 * _GiB - used))


def _holders():
    """{pid: MB or None}: FAKE_NVML_PROCESSES = pid:mb,... (mb `na`: the driver cannot say, as
    under WDDM or in some containers: usedGpuMemory None), and FAKE_NVML_HOLDERS (a command-line
    substring) for live processes holding FAKE_NVML_HOLDER_MB each."""
    held = {}
    for item in filter(None, _env("FAKE_NVML_PROCESSES", "").split(",")):
        pid, mb = item.split(":")
        held[int(pid)] = None if mb == "na" else float(mb)
    needle = _env("FAKE_NVML_HOLDERS", "")
    if needle:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open("/proc/%s/cmdline" % entry, "rb") as handle:
                        cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                if needle in cmdline:
                    held[int(entry)] = float(_env("FAKE_NVML_HOLDER_MB", "300"))
    return held


def _processes(handle):
    if handle.index:
        return []
    return [SimpleNamespace(pid=pid, usedGpuMemory=None if mb is None else int(mb * _MiB),
                            gpuInstanceId=0xFFFFFFFF, computeInstanceId=0xFFFFFFFF)
            for pid, mb in _holders().items()]


@_c_call()
def nvmlDeviceGetComputeRunningProcesses_v2(handle):
    return _processes(handle)


@_c_call()
def nvmlDeviceGetComputeRunningProcesses_v3(handle):
    return _processes(handle)


@throwOnVersionMismatch
def nvmlDeviceGetComputeRunningProcesses(handle):
    return nvmlDeviceGetComputeRunningProcesses_v3(handle)


def _power_mw():
    return int(_env("FAKE_NVML_POWER_MW", "180000"))


@_c_call()
def nvmlDeviceGetPowerUsage(handle):
    return _power_mw()


@_c_call()
def nvmlDeviceGetTotalEnergyConsumption(handle):
    if _env("FAKE_NVML_ENERGY", "1") == "0":  # a pre-Volta card (same as listing it in FAKE_NVML_NOT_SUPPORTED)
        raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
    return int(5000000 + _power_mw() * (time.monotonic() - _state["started"]))


@_c_call()
def nvmlDeviceGetClockInfo(handle, type):
    return 1710 if type == NVML_CLOCK_SM else 7000


@_c_call()
def nvmlDeviceGetTemperature(handle, sensor):
    return 61


@_c_call()
def nvmlDeviceGetCurrentClocksThrottleReasons(handle):
    return int(_env("FAKE_NVML_THROTTLE", "0"))


@_c_call()
def nvmlDeviceGetCurrentClocksEventReasons(handle):
    return int(_env("FAKE_NVML_THROTTLE", "0"))
