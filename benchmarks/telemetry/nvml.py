"""NVIDIA GPUs through NVML (nvidia-ml-py, module `pynvml`; not the deprecated `pynvml` dist).

Units follow NVML: power in mW, the energy counter in mJ since the driver loaded (Volta and
newer; NotSupported before), memory in bytes, clocks in MHz. Queries a GPU does not support
are dropped after their first failure and listed in `unsupported`, never reported as zero.
With several GPUs the sample is the machine's total (power, energy, memory) or mean (load).
"""

from . import Unavailable

MB = 1024.0 * 1024.0
# Reasons that mean "slowed down against the user's will" (idle, app clocks, sync boost and
# display clocks are not throttling). Bit values from nvml.h's nvmlClocksThrottleReason*.
THROTTLE_BITS = {0x4: "sw_power_cap", 0x8: "hw_slowdown", 0x20: "sw_thermal", 0x40: "hw_thermal",
                 0x80: "hw_power_brake"}


def throttle_names(mask):
    return [name for bit, name in sorted(THROTTLE_BITS.items()) if mask & bit]


class NvmlReader:
    source = "nvml"

    def __init__(self, module=None):
        self._nvml = module
        self.handles = []
        self.unsupported = set()

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
        return self

    def _query(self, name, function, *args):
        """One NVML call; None (and never asked again) when the GPU does not support it."""
        if name in self.unsupported:
            return None
        try:
            return function(*args)
        except self._nvml.NVMLError as error:
            if isinstance(error, (getattr(self._nvml, "NVMLError_NotSupported", ()), getattr(self._nvml, "NVMLError_NoPermission", ()))):
                self.unsupported.add(name)
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
                "cuda_driver": "%d.%d" % (cuda // 1000, cuda % 1000 // 10) if cuda else None}

    def processes(self):
        """{pid: MB} of every process holding GPU memory, all GPUs (None: unknown amount)."""
        nvml = self._nvml
        held = {}
        for handle in self.handles:
            for process in self._query("processes", nvml.nvmlDeviceGetComputeRunningProcesses, handle) or []:
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
            reasons = getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None) or \
                nvml.nvmlDeviceGetCurrentClocksThrottleReasons
            mask |= self._query("throttle", reasons, handle) or 0
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
        if "throttle" not in self.unsupported:
            sample["throttle_reasons"] = mask
            sample["throttled"] = 1 if throttle_names(mask) else 0
        return sample

    def close(self):
        try:
            self._nvml.nvmlShutdown()
        except Exception:  # noqa: BLE001, S110 - closing must not fail a run
            pass


def _text(value):
    return value.decode() if isinstance(value, bytes) else value
