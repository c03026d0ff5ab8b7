"""Stand-in for jetson-stats 4.3's `jtop` client (see tests/fakes/README.md): a TX2 at MAXN.

Everything public here exists in the real `jtop` package with the same signature
(tests/unit/test_fakes_conformance.py). The board's side, jtop.service, is `_Service`: it
publishes one data set per service interval, can refuse connections, and can restart. Knobs
(environment variables, read when used):

- FAKE_JTOP = ok | inactive | permission | mismatch: start() raises the JtopException text the
  real client raises for a missing socket / refused permission / a service of another version.
- FAKE_JTOP_SERVICE_INTERVAL = seconds between the service's data sets (default: the client's
  interval; the real service keeps the interval of the client that started it). Above 3x the
  client's interval, ok() waits 3 intervals and returns False, as the real one does.
- FAKE_JTOP_RESTART_AT = seconds (comma list) after the first start() (the
  FAKE_JTOP_RESTART_FROM-th, to skip a harness's probe connection) at which jtop.service
  restarts; it is down FAKE_JTOP_RESTART_DOWN_S (default 2) seconds. A connected client then
  re-raises the same error from every ok(): EOFError, or with FAKE_JTOP_LOST=pipe a
  BrokenPipeError, =jtop JtopException("Lost connection with jtop server"), as the real client
  does by where its thread was; and start() raises "The jtop.service is not active" until
  the service is back.
- FAKE_JTOP_NVPMODEL, FAKE_JTOP_CLOCKS (ON/OFF): the power mode and jetson_clocks the board reports.
- FAKE_JTOP_OFFLINE = comma list of temperature sensors that read -256 / online False.

Power-mode setters (nvpmodel, jetson_clocks) belong on NVPModel / JetsonClocks (the client side,
as in jtop/core/nvpmodel.py and jetson_clocks.py): they send their command through the controller
(`_Service.put`, the real client's queue), and the service's answer comes back in the data sets
`_Service.nvp()` / `_Service.jc()` that every ok() applies with `_update`, as the real reader does.
"""

import os
import time
from datetime import datetime, timedelta

try:
    from . import _power  # the nvpmodel / jetson_clocks setters and their effect on the board
except ImportError:  # loaded as a lone file (spec_from_file_location)
    import importlib.util as _util
    _spec = _util.spec_from_file_location("jtop_fake_power", os.path.join(os.path.dirname(__file__), "_power.py"))
    _power = _util.module_from_spec(_spec)
    _spec.loader.exec_module(_power)

_TIMEOUT_GAIN = 3  # jtop/jtop.py: ok() and the reader thread wait interval * _TIMEOUT_GAIN


class JtopException(Exception):
    """raise when jtop fail. The message attached show the reason."""

    def __init__(self, message, errors=""):
        super(JtopException, self).__init__(message, errors)
        self.message = message
        self.errors = errors

    def __repr__(self):
        return str(self.message)

    def __str__(self):
        return str(self.message)


_power.JtopException = JtopException


_NOT_ACTIVE = "The jtop.service is not active. Please run:\nsudo systemctl restart jtop.service"
_START_FAILURES = {
    "inactive": _NOT_ACTIVE,
    "permission": "I can't access jtop.service.\nPlease logout or reboot this board.",
    "mismatch": "Mismatch version jtop service: [4.2.1] and client: [4.3.2]. Please run:\n\n"
                "sudo systemctl restart jtop.service",
}
_LOST = "Lost connection with jtop server"

# A TX2 (P3310) on L4T 32.7.1 as jetson-stats 4.3 reports it (README: each shape's source).
_TX2_NVPMODEL = {"models": ["MAXN", "MAXQ", "MAXP_CORE_ALL", "MAXP_CORE_ARM", "MAXP_CORE_DENVER"],
                 "default": {"id": 3, "name": "MAXP_CORE_ARM"}}  # nvpmodel_t186.conf: PM_CONFIG DEFAULT=3
_TX2_MODEL_IDS = {"MAXN": 0, "MAXQ": 1, "MAXP_CORE_ALL": 2, "MAXP_CORE_ARM": 3, "MAXP_CORE_DENVER": 4}


def _env(name, default):
    return os.environ.get(name, default)


class _Service:
    """jtop.service on the board, seen from the client: when it is up, which connection it serves,
    and when it publishes data. One per process (the board has one)."""

    def __init__(self):
        self.born = None
        self.origin = None  # when the restart schedule starts (see connected)
        self.starts = 0
        self.commands = []

    def now(self):
        if self.born is None:
            self.born = time.monotonic()
        return time.monotonic() - self.born

    def restarts(self):
        if self.origin is None:
            return []
        down = float(_env("FAKE_JTOP_RESTART_DOWN_S", "2"))
        return [(self.origin + float(at), self.origin + float(at) + down)
                for at in filter(None, _env("FAKE_JTOP_RESTART_AT", "").split(","))]

    def connected(self):
        """A client started: the restart schedule counts from the FAKE_JTOP_RESTART_FROM-th (default 1st)."""
        self.starts += 1
        if self.starts == int(_env("FAKE_JTOP_RESTART_FROM", "1")):
            self.origin = self.now()

    def up(self, at):
        return not any(start <= at < end for start, end in self.restarts())

    def lost_since(self, connected_at, now):
        """When the connection opened at `connected_at` broke (a restart after it), else None."""
        cuts = [start for start, _ in self.restarts() if connected_at < start <= now]
        return min(cuts) if cuts else None

    def put(self, message):
        """The controller queue: the real client's setters put {'nvp': ...}, {'jc': ...} here."""
        self.commands.append(message)
        _power.put(message)

    def nvp(self):
        return _power.nvp_status()  # FAKE_JTOP_NVPMODEL at first, then what the setters chose

    def jc(self):
        return _power.jc_status()


_service = _Service()


class NVPModel(_power.NVPModelSetters):
    def __init__(self, controller, nvpmodel):
        self._controller = controller
        self._nvp_models = nvpmodel["models"]
        self._nvp_default = nvpmodel["default"]
        self._status = []
        self._running = False
        self._nvpmodel_now = {}

    def _update(self, nvp_status):
        self._status = nvp_status["status"]
        self._running = nvp_status["thread"]
        self._nvpmodel_now = nvp_status["model"]

    def is_running(self):
        return self._running

    @property
    def id(self):
        return self._nvpmodel_now["id"]

    @property
    def name(self):
        return self._nvpmodel_now["name"]

    @property
    def status(self):
        return self._status

    @property
    def models(self):
        return self._nvp_models

    def get_default(self):
        return self._nvp_default

    def __eq__(self, other):
        if isinstance(other, int):
            return self._nvpmodel_now["id"] == other
        if isinstance(other, str):
            return self._nvpmodel_now["name"] == other
        if isinstance(other, NVPModel):
            return self._nvpmodel_now["id"] == other._nvpmodel_now["id"]
        return False

    def __repr__(self):
        return self._nvpmodel_now["name"]


class JetsonClocks(_power.JetsonClocksSetters):
    def __init__(self, controller):
        self._controller = controller
        self._enable = False
        self._thread = ""
        self._boot = False
        self._config = False

    def _update(self, jc_status):
        self._enable = jc_status["enable"]
        self._thread = jc_status["thread"]
        self._config = jc_status["config"]
        self._boot = jc_status["boot"]

    @property
    def boot(self):
        return self._boot

    def __bool__(self):
        return self._enable

    def __repr__(self):
        return str(self._enable)


class jtop(object):
    """The client. Real: a Thread that reads the service's data into a trigger; ok() waits on it."""

    def __init__(self, interval=1.0):
        self._interval = float(interval)
        self._running = False
        self._error = None
        self._connected_at = None
        self._seen = None  # index of the last data set ok() released
        self._server_interval = None
        self._nvpmodel = None
        self._jetson_clocks = None

    # -- connection (jtop.py: start, ok, close) --
    def start(self):
        mode = _env("FAKE_JTOP", "ok")
        if mode in _START_FAILURES:
            raise JtopException(_START_FAILURES[mode])
        now = _service.now()
        if not _service.up(now):
            raise JtopException(_NOT_ACTIVE)
        _service.connected()
        self._connected_at = now
        self._server_interval = float(_env("FAKE_JTOP_SERVICE_INTERVAL", "") or self._interval)
        self._nvpmodel = NVPModel(_service, _power.nvpmodel_table())  # _TX2_NVPMODEL by default
        self._jetson_clocks = JetsonClocks(_service)
        self._refresh()
        self._seen = 0  # start() waits for the first data set
        self._running = True

    def _refresh(self):
        self._nvpmodel._update(_service.nvp())
        self._jetson_clocks._update(_service.jc())

    def ok(self, spin=False):
        if not spin:
            timeout = self._interval * _TIMEOUT_GAIN
            now = _service.now()
            if self._running:
                lost = _service.lost_since(self._connected_at, now + timeout)
                next_data = self._connected_at + (self._seen + 1) * self._server_interval
                if (lost is None or next_data < lost) and next_data - now <= timeout:
                    time.sleep(max(0.0, next_data - now))
                    self._seen += 1
                    self._refresh()
                    timeout = None
            if timeout is not None:  # no new data within the timeout: the real ok() sets _running False
                time.sleep(timeout)
                self._running = False
        if self._error is None and self._connected_at is not None:
            if _service.lost_since(self._connected_at, _service.now()) is not None:
                # the reader thread's error, kept and re-raised. The real 4.3.2 client gives one of three,
                # by where its thread was (tests/unit/test_jtop_real_client.py): a bare EOFError or
                # BrokenPipeError from a manager call, or _get_data's JtopException
                lost = _env("FAKE_JTOP_LOST", "eof")
                self._error = JtopException(_LOST) if lost == "jtop" else \
                    BrokenPipeError(32, "Broken pipe") if lost == "pipe" else EOFError()
        if self._error is not None:
            raise self._error
        return self._running

    def close(self):
        self._running = False

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        if exc_tb is not None:
            return False
        return True

    # -- data (jtop.py properties; shapes from jtop/core/*.py) --
    @property
    def interval(self):
        return self._server_interval

    @property
    def interval_user(self):
        return self._interval

    @property
    def nvpmodel(self):
        return self._nvpmodel

    @nvpmodel.setter
    def nvpmodel(self, value):
        _power.set_nvpmodel(self, value)

    @property
    def jetson_clocks(self):
        return self._jetson_clocks

    @jetson_clocks.setter
    def jetson_clocks(self, value):
        _power.set_jetson_clocks(self, value)

    @property
    def uptime(self):
        return timedelta(seconds=3600 + _service.now())

    @property
    def stats(self):
        stats = {"time": datetime.now(), "uptime": self.uptime}
        ram = self.memory["RAM"]
        stats["RAM"] = ram["used"] / ram["tot"]
        for index, gpu in enumerate(self.gpu.values()):
            stats["GPU" if index == 0 else "GPU%d" % index] = gpu["status"]["load"]
        for name, sensor in self.temperature.items():
            stats["Temp %s" % name] = sensor["temp"]
        for name, rail in self.power["rail"].items():
            stats["Power %s" % name] = rail["power"]
        stats["Power TOT"] = self.power["tot"]["power"]
        if self._jetson_clocks is not None:
            stats["jetson_clocks"] = "ON" if self._jetson_clocks else "OFF"
        if self._nvpmodel is not None:
            stats["nvp model"] = self._nvpmodel.name
        return stats

    @property
    def board(self):
        return {"platform": {"Machine": "aarch64", "System": "Linux", "Python": "3.6.9"},
                "hardware": {"Model": _power.board()["model"], "Module": _power.board()["module"],
                             "SoC": _power.board()["soc"], "CUDA Arch BIN": "6.2", "L4T": "32.7.1", "Jetpack": "4.6.1"},
                "libraries": {"CUDA": "10.2.300", "cuDNN": "8.2.1.32", "TensorRT": "8.2.1.8"}}

    @property
    def gpu(self):
        return {"gp10b": {"type": "integrated",
                          "status": {"railgate": False, "tpc_pg_mask": False, "3d_scaling": True, "load": 73.0},
                          "freq": {"governor": "nvhost_podgov", "cur": 1300500, "max": 1300500, "min": 114750}}}

    @property
    def memory(self):
        return {"RAM": {"tot": 8039788, "used": 3145728, "free": 2000000, "buffers": 100000, "cached": 800000,
                        "shared": 1048576, "lfb": 1164},
                "SWAP": {"tot": 4019880, "used": 0, "cached": 0, "table": {}}}

    @property
    def power(self):
        # power.py total_power(): VDD_IN is taken out of the rails and becomes `tot`, with its name
        return {"rail": {"VDD_SYS_GPU": {"volt": 19072, "curr": 120, "power": 2288, "online": True, "avg": 2100},
                         "VDD_SYS_SOC": {"volt": 19072, "curr": 48, "power": 915, "online": True, "avg": 900},
                         "VDD_4V0_WIFI": {"volt": 19072, "curr": 0, "power": 0, "online": True, "avg": 0},
                         "VDD_SYS_CPU": {"volt": 19072, "curr": 40, "power": 762, "online": True, "avg": 750},
                         "VDD_SYS_DDR": {"volt": 4792, "curr": 230, "power": 1102, "online": True, "avg": 1090}},
                "tot": {"volt": 19072, "curr": 321, "power": 6120, "online": True, "avg": 6000, "name": "VDD_IN"}}

    @property
    def temperature(self):
        # temperature.py: thermal zone types BCPU-therm, MCPU-therm, GPU-therm, PLL-therm, Tboard_tegra,
        # Tdiode_tegra, thermal-fan-est -> the names below (PMIC-Die is skipped); offline reads -256
        offline = _env("FAKE_JTOP_OFFLINE", "").split(",")  # sensors whose file cannot be read
        return {name: {"temp": -256, "online": False} if name in offline else sensor
                for name, sensor in self._tx2_temperature().items()}

    @staticmethod
    def _tx2_temperature():
        return {"BCPU": {"temp": 42.5, "online": True}, "GPU": {"temp": 41.0, "online": True},
                "MCPU": {"temp": 42.5, "online": True}, "PLL": {"temp": 40.0, "online": True},
                "Tboard": {"temp": 37.0, "online": True}, "Tdiode": {"temp": 39.75, "online": True},
                "thermal": {"temp": 40.6, "online": True}}
