"""Jetson boards through jtop (jetson-stats 4.3.x, the last line for Python 3.6 and the TX2).

jtop reads the board through its root service over /run/jtop.sock; the client here only asks.
Units from jetson-stats: memory in kB, power in mW, temperatures in C, GPU load in %.
"""

from . import Unavailable

ADVICE = (
    ("not active", "the jtop service is not running on the device: sudo systemctl restart jtop.service"),
    ("access", ("this user cannot open /run/jtop.sock: add it to the 'jtop' group (sudo usermod -aG jtop $USER) "
               "and log in again; a container needs -v /run/jtop.sock:/run/jtop.sock")),
    ("ismatch", ("the jetson-stats client and the device's jtop service are different versions: install the "
                "same 4.3.x on both (pip install 'jetson-stats>=4.3,<4.4') and restart jtop.service")),
)
NO_SENSOR_C = -256.0


def explain(error):
    """A jtop exception -> what to do about it."""
    text = str(error)
    for needle, advice in ADVICE:
        if needle in text.lower():
            return "{} (jtop said: {})".format(advice, " ".join(text.split()))
    return "jtop failed: {}".format(" ".join(text.split()))


class JtopReader:
    source = "jtop"

    def __init__(self, module=None, interval_s=0.5):
        self._module = module
        self.interval_s = interval_s
        self.jetson = None

    def open(self):
        module = self._module
        if module is None:
            try:
                import jtop as module
            except ImportError:
                raise Unavailable("jetson-stats is not installed (pip install 'jetson-stats>=4.3,<4.4')")
        try:
            self.jetson = module.jtop(interval=self.interval_s)
            self.jetson.start()
        except module.JtopException as error:
            raise Unavailable(explain(error))
        except (OSError, ValueError) as error:
            raise Unavailable(explain(error))
        return self

    def facts(self):
        board = self.jetson.board or {}
        hardware = board.get("hardware", {})
        stats = self.jetson.stats or {}
        return {"board": hardware.get("Model"), "module": hardware.get("Module"), "soc": hardware.get("SoC"),
                "l4t": hardware.get("L4T"), "jetpack": hardware.get("Jetpack"),
                "cuda": board.get("libraries", {}).get("CUDA"),
                "nvpmodel": _text(stats.get("nvp model", self.jetson.nvpmodel)),
                "jetson_clocks": _on(stats.get("jetson_clocks"))}

    def sample(self):
        jetson = self.jetson
        if not jetson.ok():
            return None
        sample = {}
        gpus = jetson.gpu or {}
        for gpu in gpus.values():
            status = gpu.get("status", {})
            if "load" in status:
                sample["gpu_util_percent"] = float(status["load"])
            freq = gpu.get("freq", {}).get("cur")
            if freq is not None:
                sample["gpu_freq_mhz"] = round(freq / 1000.0, 1)  # kHz
            break
        ram = (jetson.memory or {}).get("RAM", {})
        if "used" in ram:
            sample["ram_used_mb"] = round(ram["used"] / 1024.0, 1)
        if "shared" in ram:
            sample["shared_ram_mb"] = round(ram["shared"] / 1024.0, 1)
        power = jetson.power or {}
        total = power.get("tot", {})
        if total.get("power") is not None:
            sample["power_w"] = total["power"] / 1000.0
        for name, rail in power.get("rail", {}).items():
            if rail.get("power") is not None:
                sample["rail_" + name.lower() + "_w"] = rail["power"] / 1000.0
        for name, sensor in (jetson.temperature or {}).items():
            temp = sensor.get("temp") if isinstance(sensor, dict) else sensor
            if temp is not None and temp != NO_SENSOR_C and (not isinstance(sensor, dict) or sensor.get("online", True)):
                sample["temp_" + name.lower().replace(" ", "_") + "_c"] = float(temp)
        gpu_temp = sample.get("temp_gpu_c")
        if gpu_temp is not None:
            sample["temperature_c"] = gpu_temp
        return sample

    def close(self):
        if self.jetson is not None:
            try:
                self.jetson.close()
            except Exception:  # noqa: BLE001, S110 - closing must not fail a run
                pass


def _text(value):
    return None if value is None else str(value)


def _on(value):
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().upper() in ("ON", "RUNNING", "ACTIVE", "TRUE")
    return bool(value)
