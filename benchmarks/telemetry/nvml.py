"""NVIDIA GPUs through NVML (nvidia-ml-py, module `pynvml`; not the deprecated `pynvml` dist).

Units follow NVML: power in mW, the energy counter in mJ since the driver loaded (Volta and
newer; NotSupported before), memory in bytes, clocks in MHz. A query the GPU does not support,
the user may not make, or the driver does not have (after its older fallback) is null from its
first failure on, never 0, with the reason in `unavailable` (and the facts' `nvml_unavailable`).
A lost GPU (NVMLError_GpuIsLost) ends the reader with Unavailable. With several GPUs the sample
is the machine's total (power, energy, memory) or mean (load). docs/telemetry.md has the rules.
"""

from . import Unavailable

MB = 1024.0 * 1024.0
# Reasons that mean "slowed down against the user's will" (idle, app clocks, sync boost and
# display clocks are not throttling). Bit values from nvml.h's nvmlClocksThrottleReason*.
THROTTLE_BITS = {0x4: "sw_power_cap", 0x8: "hw_slowdown", 0x20: "sw_thermal", 0x40: "hw_thermal",
                 0x80: "hw_power_brake"}


def throttle_names(mask):
    return [name for bit, name in sorted(THROTTLE_BITS.items()) if mask & bit]


# The query each sample needs, by the first name that answers: newer calls first, the older ones
# (kept by every driver that predates the newer) on NVMLError_FunctionNotFound.
THROTTLE_CALLS = ("nvmlDeviceGetCurrentClocksEventReasons",  # R535+; the other is deprecated since
                  "nvmlDeviceGetCurrentClocksThrottleReasons")
PROCESS_CALLS = ("nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetComputeRunningProcesses_v2",
                 "nvmlDeviceGetComputeRunningProcesses")  # unversioned: v1 in old bindings, v3 in new
LOST = ("the GPU is lost (NVML: %s): it fell off the bus or hung; a GPU reset or a reboot brings it back, "
        "and nothing it measured after this point is recorded")


class NvmlReader:
    source = "nvml"

    def __init__(self, module=None):
        self._nvml = module
        self.handles = []
        self.unavailable = {}  # query -> why it is null (not supported, not permitted, not in this driver)
        self._calls = {}  # query -> the function that answered it

    @property
    def unsupported(self):
        return set(self.unavailable)

    def open(self):
        if self._nvml is None:
            try:
                import pynvml
            except ImportError:
                raise Unavailable("nvidia-ml-py is not installed (pip install nvidia-ml-py)")
            self._nvml = pynvml
        nvml = self._nvml
        try:
            nvml.nvmlInit()
            count = nvml.nvmlDeviceGetCount()
            self.handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        except nvml.NVMLError as error:
            raise Unavailable("NVML did not start (%s): no NVIDIA driver, or the container lacks the "
                              "GPU (--gpus / runtime nvidia)" % error)
        if not self.handles:
            raise Unavailable("NVML answers but sees no GPU")
        self.sample()  # learn once which queries this GPU and driver answer (facts list the others)
        self.processes()
        return self

    def _error(self, name):
        return getattr(self._nvml, name, None) or ()

    def _query(self, name, function, *args, **options):
        """One NVML query; None when it cannot answer. Not supported, not permitted or absent from
        this driver: None for good, with the reason in `unavailable`. A lost GPU ends the reader."""
        if name in self.unavailable:
            return None
        calls = [function] if callable(function) else \
            [c for c in (self._calls.get(name),) if c] or [getattr(self._nvml, c, None) for c in function]
        reasons = []
        for call in calls:
            if call is None:
                continue
            try:
                value = call(*args)
                self._calls[name] = call
                return value
            except self._error("NVMLError_GpuIsLost") as error:
                raise Unavailable(LOST % error)
            except (self._error("NVMLError_FunctionNotFound"), self._error("NVMLLibraryMismatchError")) as error:
                reasons.append("%s: %s" % (call.__name__, _first_line(error)))
            except (self._error("NVMLError_NotSupported"), self._error("NVMLError_NoPermission")) as error:
                self.unavailable[name] = "%s: %s" % (call.__name__, error)
                return None
            except self._nvml.NVMLError:
                return None  # e.g. Unknown Error or Timeout: this sample only
        self.unavailable[name] = "; ".join(reasons) or "not in this version of nvidia-ml-py"
        return None

    def facts(self):
        nvml = self._nvml
        gpus = []
        for handle in self.handles:
            memory = self._query("memory", nvml.nvmlDeviceGetMemoryInfo, handle)
            gpus.append({"name": _text(self._query("name", nvml.nvmlDeviceGetName, handle)),
                         "memory_total_mb": round(memory.total / MB) if memory else None})
        cuda = self._query("cuda", nvml.nvmlSystemGetCudaDriverVersion)
        return {"gpus": gpus, "gpu_count": len(gpus),
                "gpu_model": gpus[0]["name"] if gpus else None,
                "driver": _text(self._query("driver", nvml.nvmlSystemGetDriverVersion)),
                "cuda_driver": "%d.%d" % (cuda // 1000, cuda % 1000 // 10) if cuda else None,
                "nvml_unavailable": dict(self.unavailable) or None}

    def processes(self):
        """{pid: MB} of every process holding GPU memory, all GPUs. None: the driver cannot say how
        much (usedGpuMemory None: not attributable, never 0). Empty too when the query is unavailable."""
        held = {}
        for handle in self.handles:
            for process in self._query("processes", PROCESS_CALLS, handle) or []:
                used = getattr(process, "usedGpuMemory", None)
                mb = round(used / MB, 1) if used is not None else None
                if mb is None:
                    held.setdefault(process.pid, None)
                else:
                    held[process.pid] = round((held.get(process.pid) or 0) + mb, 1)
        return held

    def sample(self):
        nvml = self._nvml
        util, used, power, energy, temps, clocks, mask = [], [], [], [], [], [], 0
        masks_known = True
        for handle in self.handles:
            rates = self._query("utilization", nvml.nvmlDeviceGetUtilizationRates, handle)
            if rates is not None:
                util.append(float(rates.gpu))
            memory = self._query("memory", nvml.nvmlDeviceGetMemoryInfo, handle)
            if memory is not None:
                used.append(memory.used / MB)
            power.append(self._query("power", nvml.nvmlDeviceGetPowerUsage, handle))
            energy.append(self._query("energy", nvml.nvmlDeviceGetTotalEnergyConsumption, handle))
            temps.append(self._query("temperature", nvml.nvmlDeviceGetTemperature, handle, nvml.NVML_TEMPERATURE_GPU))
            clocks.append(self._query("sm_clock", nvml.nvmlDeviceGetClockInfo, handle, nvml.NVML_CLOCK_SM))
            reasons = self._query("throttle", THROTTLE_CALLS, handle)
            if reasons is None:
                masks_known = False
            else:
                mask |= reasons
        sample = {}
        if util:
            sample["gpu_util_percent"] = round(sum(util) / len(util), 1)
        if used:
            sample["gpu_memory_used_mb"] = round(sum(used), 1)
        if power and None not in power:
            sample["power_w"] = round(sum(power) / 1000.0, 3)
        if energy and None not in energy:
            sample["energy_j"] = round(sum(energy) / 1000.0, 3)
        if [t for t in temps if t is not None]:
            sample["temperature_c"] = float(max(t for t in temps if t is not None))
        if [c for c in clocks if c is not None]:
            sample["sm_clock_mhz"] = float(min(c for c in clocks if c is not None))
        sample["throttle_reasons"] = mask if masks_known else None  # null, never 0, when unknown
        sample["throttled"] = (1 if throttle_names(mask) else 0) if masks_known else None
        for key, query in (("power_w", "power"), ("energy_j", "energy"), ("gpu_util_percent", "utilization"),
                           ("gpu_memory_used_mb", "memory"), ("temperature_c", "temperature"),
                           ("sm_clock_mhz", "sm_clock")):
            if query in self.unavailable:
                sample.setdefault(key, None)
        return sample

    def close(self):
        try:
            self._nvml.nvmlShutdown()
        except Exception:  # noqa: BLE001, S110 - closing must not fail a run
            pass


def _first_line(error):
    return str(error).split(". ")[0]


def _text(value):
    return value.decode() if isinstance(value, bytes) else value
