"""Jetson boards through jtop (jetson-stats 4.3.x, the last line for Python 3.6 and the TX2).

jtop reads the board through its root service over /run/jtop.sock; the client here only asks.
Units from jetson-stats: memory in kB, power in mW, temperatures in C, GPU load in %.
Shapes from 4.3's source (docs/telemetry.md): the board total is power['tot'] (VDD_IN on a TX2,
taken out of power['rail']); a TX2's temperatures are BCPU, MCPU, GPU, PLL, Tboard, Tdiode, thermal.
"""

import sys
import time

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
    """Samples jtop; when the service goes away mid-job (a `jtop.service` restart: ok() re-raises
    the client thread's error; or no data within 3 intervals: ok() returns False) it records a
    gap, reconnects on the next samples and writes a note, instead of stopping."""
    source = "jtop"

    def __init__(self, module=None, interval_s=0.5, clock=time.monotonic):
        self._module = module
        self.interval_s = interval_s
        self.jetson = None
        self.clock = clock
        self.gaps = []  # {"from": last sample's t, "to": reconnection's t or None, "why": text}, on `clock`
        self.notes = []  # one sentence per closed gap (close() closes an open one)
        self._last_sample = None

    def open(self):
        if self._module is None:
            try:
                import jtop as module
            except ImportError:
                raise Unavailable("jetson-stats is not installed (pip install 'jetson-stats>=4.3,<4.4')")
            self._module = module
        self.jetson = self._connect()
        return self

    def _connect(self):
        module = self._module
        try:
            jetson = module.jtop(interval=self.interval_s)
            jetson.start()
        except module.JtopException as error:
            raise Unavailable(explain(error))
        except (OSError, ValueError) as error:
            raise Unavailable(explain(error))
        return jetson

    def _forget_connection(self):
        service = sys.modules.get(getattr(self._module, "__name__", "jtop") + ".service")
        _forget_connection_to(getattr(service, "JTOP_PIPE", "/run/jtop.sock"))

    def _lost(self, why):
        try:
            self.jetson.close()
        except Exception:  # noqa: BLE001, S110 - the connection is already gone
            pass
        self.jetson = None
        since = self._last_sample if self._last_sample is not None else self.clock()
        self.gaps.append({"from": since, "to": None, "why": why, "wall": time.time() - (self.clock() - since)})

    def _reconnect(self):
        gap = self.gaps[-1]
        self._forget_connection()
        try:
            self.jetson = self._connect()
        except Unavailable as why:
            gap["retry"] = str(why)
            return False
        except Exception as error:  # noqa: BLE001 - e.g. queue.Empty from a service that does not answer
            gap["retry"] = "jtop failed: %s" % (" ".join(str(error).split()) or type(error).__name__)
            return False
        gap["to"] = self.clock()
        self.notes.append(_gap_note(gap))
        return True

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
        if self.jetson is None and not self._reconnect():
            return None  # still in the gap
        jetson = self.jetson
        try:
            alive = jetson.ok()
        except Exception as error:  # noqa: BLE001 - ok() re-raises whatever stopped the client's thread
            self._lost("jtop lost its connection to jtop.service (%s: %s)" % (
                type(error).__name__, " ".join(str(error).split())))
            return None
        if not alive:
            why = "jtop.service sent no data within 3 intervals (ok() returned False)"
            served = _number(getattr(jetson, "interval", None))
            if served and served > self.interval_s:  # the service keeps the interval of the client that started it
                why += "; it publishes every %g s (set by another jtop client): reconnecting with that interval" % served
                self.interval_s = served
            self._lost(why)
            return None
        self._last_sample = self.clock()
        sample = {}
        if self.gaps and self.gaps[-1].get("to") is not None and not self.gaps[-1].get("reported"):
            self.gaps[-1]["reported"] = True
            sample["gap_s"] = round(self.gaps[-1]["to"] - self.gaps[-1]["from"], 3)
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
        if self.gaps and self.gaps[-1]["to"] is None:
            self.notes.append(_gap_note(self.gaps[-1], end=self.clock()))
        if self.jetson is not None:
            try:
                self.jetson.close()
            except Exception:  # noqa: BLE001, S110 - closing must not fail a run
                pass
        self.jetson = None


def _forget_connection_to(address):
    """Drop this process's cached connection to the jtop socket. jtop's client talks through
    multiprocessing manager proxies, which keep one connection per address and thread
    (BaseProxy._address_to_local) and reuse it for every later proxy: after a service restart
    that connection is dead, and a new jtop() in the same thread fails with BrokenPipeError
    forever (measured with the real 4.3.2 client, tests/unit/test_jtop_real_client.py)."""
    try:
        from multiprocessing.managers import BaseProxy
        BaseProxy._address_to_local.pop(address, None)
    except Exception:  # noqa: BLE001, S110 - a Python without that cache has nothing to forget
        pass


def _number(value):
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _gap_note(gap, end=None):
    """One sentence for a gap in the jtop samples."""
    began = time.strftime("%H:%M:%S", time.localtime(gap["wall"]))
    if gap["to"] is not None:
        return "jtop: no samples for %.1f s from %s: %s; reconnected" % (gap["to"] - gap["from"], began, gap["why"])
    retry = "; last retry: %s" % gap["retry"] if gap.get("retry") else ""
    return "jtop: no samples from %s to the end (%.1f s): %s; not reconnected%s" % (
        began, end - gap["from"], gap["why"], retry)


def _text(value):
    return None if value is None else str(value)


def _on(value):
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().upper() in ("ON", "RUNNING", "ACTIVE", "TRUE")
    return bool(value)
