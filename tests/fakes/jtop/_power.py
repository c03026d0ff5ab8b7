"""The nvpmodel and jetson_clocks setters of the jtop stand-in and their effect on the board, after
jetson-stats 4.3.1: jtop/core/nvpmodel.py (NVPModel.set_nvpmodel_id/_name, NVPModelService),
jtop/core/jetson_clocks.py (JetsonClocks.set_enable/set_boot) and jtop/jtop.py (the nvpmodel and
jetson_clocks setters). __init__.py mixes the setters into its client classes and sends the
service's data sets from here.

What the real package does, kept here:
- set_nvpmodel_id(id): ValueError "Use an int" for a non-int, JtopException "NV Power Model ID {id} does
  not exists! Range [0, {max}]"; set_nvpmodel_name(name): ValueError "Use a string", JtopException "NV Power
  Model {name} does not exists! Check all NVPmode available"; the current model again: nothing sent.
  `jetson.nvpmodel = value`: an int by id, a str by name, anything else silently ignored (4.3.1 builds a
  ValueError without raising it); JtopException "nvpmodel not available on this board" without one.
- the service applies a model in a thread (`nvpmodel -m ID`): a client sees it only in a later data set
  (here after FAKE_JTOP_NVP_DELAY s, default 0.3), `thread` True meanwhile and further sets ignored. A
  failed `nvpmodel -m` ("NVPM ERROR") leaves the model unchanged and its `status` entry False; the client
  raises nothing (FAKE_JTOP_NVP_FAIL=1 plays this).
- set_enable(x): ValueError "Use a boolean"; JtopException "I cannot set jetson_clocks.\nPlease shutdown
  manually jetson_clocks" when switching off without a stored configuration (FAKE_JTOP_CLOCKS_CONFIG=0);
  nothing sent while the service is booting/activating/deactivating. JetsonClocks is bool-like.
  The service keeps jetson_clocks as it was across an nvpmodel change (it turns it off and on around it).

The board's state is the service's: one JSON file shared by every client and process when FAKE_JTOP_STATE
names one (as every real client talks to the one service), else one dict per process. FAKE_JTOP_BOARD =
tx2 (default) | xavier picks the nvpmodel table and board names; FAKE_JTOP_NVPMODEL (name) and
FAKE_JTOP_CLOCKS (ON/OFF) give the state at first use.
"""

import json
import os
import time

# /etc/nvpmodel.conf of each board: the POWER_MODEL names in ID order and PM_CONFIG DEFAULT.
# TX2 (t186, L4T R32): the five models of nvpmodel_t186.conf, default 3.
# AGX Xavier (t194, L4T R32): the seven models NVIDIA's L4T power-management guide lists, default 2.
BOARDS = {
    "tx2": {"model": "NVIDIA Jetson TX2 Developer Kit", "module": "NVIDIA Jetson TX2 (P3310-1000)", "soc": "tegra186",
            "models": ["MAXN", "MAXQ", "MAXP_CORE_ALL", "MAXP_CORE_ARM", "MAXP_CORE_DENVER"], "default": 3},
    "xavier": {"model": "Jetson-AGX", "module": "NVIDIA Jetson AGX Xavier (32 GB ram)", "soc": "tegra194",
               "models": ["MAXN", "MODE_10W", "MODE_15W", "MODE_30W_ALL", "MODE_30W_6CORE", "MODE_30W_4CORE",
                          "MODE_30W_2CORE"], "default": 2},
}
_LOCAL = {}


def board():
    name = os.environ.get("FAKE_JTOP_BOARD", "tx2")
    return BOARDS.get(name, BOARDS["tx2"])


def _knobs():
    """Without a state file, one state per set of starting knobs: a test that sets other ones starts afresh."""
    return tuple(os.environ.get(name) for name in ("FAKE_JTOP_BOARD", "FAKE_JTOP_NVPMODEL", "FAKE_JTOP_CLOCKS"))


def _initial():
    spec = board()
    name = os.environ.get("FAKE_JTOP_NVPMODEL", "MAXN")
    model_id = spec["models"].index(name) if name in spec["models"] else 0
    return {"nvp": model_id, "pending": None, "due": 0.0, "jc": os.environ.get("FAKE_JTOP_CLOCKS", "ON") == "ON",
            "boot": False, "status": [True] * len(spec["models"])}


def load():
    """The service's state, with a pending nvpmodel change applied once it is due."""
    path = os.environ.get("FAKE_JTOP_STATE")
    state = None
    if path:
        try:
            with open(path) as handle:
                state = json.load(handle)
        except (OSError, ValueError):
            state = None
    else:
        state = _LOCAL.get(_knobs())
    if state is None:
        state = _initial()
        save(state)
    if state["pending"] is not None and time.time() >= state["due"]:
        if os.environ.get("FAKE_JTOP_NVP_FAIL") == "1":
            state["status"][state["pending"]] = False
        else:
            state["nvp"] = state["pending"]
            state["status"][state["pending"]] = True
        state["pending"] = None
        save(state)
    return state


def save(state):
    path = os.environ.get("FAKE_JTOP_STATE")
    if not path:
        _LOCAL[_knobs()] = state
        return
    tmp = "{}.{}.tmp".format(path, os.getpid())
    with open(tmp, "w") as handle:
        json.dump(state, handle)
    os.replace(tmp, path)


def put(message):
    """What jtop's client sends the service over its socket (controller.put), applied."""
    state = load()
    if "nvp" in message:
        if state["pending"] is None:  # NVPModelService.set_nvpmodel_id: ignored while a change is running
            state["pending"] = message["nvp"]["id"]
            state["due"] = time.time() + float(os.environ.get("FAKE_JTOP_NVP_DELAY", "0.3"))
    if "jc" in message:
        for key, field in (("enable", "jc"), ("boot", "boot")):
            if key in message["jc"]:
                state[field] = bool(message["jc"][key])
    save(state)


JtopException = Exception  # replaced by the package's own class when jtop/__init__.py loads this module


def _exception():
    return JtopException


def nvp_status():
    """The service's {'nvp': ...} data set (NVPModelService.get_status)."""
    state = load()
    models = board()["models"]
    return {"status": list(state["status"]), "thread": state["pending"] is not None,
            "model": {"id": state["nvp"], "name": models[state["nvp"]]}}


def jc_status():
    """The service's {'jc': ...} data set (JetsonClocksService.show)."""
    state = load()
    return {"enable": state["jc"], "thread": "inactive", "boot": state["boot"],
            "config": os.environ.get("FAKE_JTOP_CLOCKS_CONFIG", "1") == "1"}


def nvpmodel_table():
    """What the service sends a client at start-up: the board's models and default."""
    spec = board()
    return {"models": list(spec["models"]), "default": {"id": spec["default"], "name": spec["models"][spec["default"]]}}


class NVPModelSetters(object):
    """jtop/core/nvpmodel.py NVPModel's setters (the client side), on the fake's NVPModel."""

    def set_nvpmodel_id(self, nvpmodel_id, force=False):
        if not isinstance(nvpmodel_id, int):
            raise ValueError("Use an int")
        if nvpmodel_id < 0 or nvpmodel_id > len(self._nvp_models) - 1:
            raise _exception()("NV Power Model ID {id} does not exists! Range [0, {max}]".format(
                id=nvpmodel_id, max=len(self._nvp_models) - 1))
        if nvpmodel_id == self._nvpmodel_now["id"] and not force:
            return
        self._controller.put({"nvp": {"id": nvpmodel_id, "force": force}})

    def set_nvpmodel_name(self, nvpmodel_name, force=False):
        if not isinstance(nvpmodel_name, str):
            raise ValueError("Use a string")
        if nvpmodel_name not in self._nvp_models:
            raise _exception()("NV Power Model {name} does not exists! Check all NVPmode available".format(
                name=nvpmodel_name))
        if nvpmodel_name == self._nvpmodel_now["name"] and not force:
            return
        self._controller.put({"nvp": {"id": self._nvp_models.index(nvpmodel_name), "force": force}})

    def get_nvpmodel_id(self):
        return self._nvpmodel_now["id"]

    def get_nvpmodel_name(self):
        return self._nvpmodel_now["name"]

    def get_all_nvpmodels(self):
        return self._nvp_models


class JetsonClocksSetters(object):
    """jtop/core/jetson_clocks.py JetsonClocks's setters and bool-likeness (the client side)."""

    def set_enable(self, enable):
        if not isinstance(enable, bool):
            raise ValueError("Use a boolean")
        if not self._config and not enable:
            raise _exception()("I cannot set jetson_clocks.\nPlease shutdown manually jetson_clocks")
        if self._thread in ["booting", "activating", "deactivating", "uncontrolled"]:
            return
        if enable is not self._enable:
            self._controller.put({"jc": {"enable": enable}})

    def get_enable(self):
        return self._enable

    def set_boot(self, value):
        if not isinstance(value, bool):
            raise ValueError("Use a boolean")
        if value is self._boot:
            return
        self._controller.put({"jc": {"boot": value}})

    def get_boot(self):
        return self._boot

    def is_config(self):
        return self._config

    def get_status(self):
        return "running" if self._enable else self._thread

    @property
    def status(self):
        return self.get_status()

    def __int__(self):
        return int(self._enable)

    def __eq__(self, other):
        if isinstance(other, bool):
            return self._enable == other
        if isinstance(other, JetsonClocksSetters):
            return self._enable == other._enable
        return False

    __hash__ = None


def set_nvpmodel(client, value):
    """jtop.nvpmodel's setter in 4.3.1 (jtop/jtop.py)."""
    model = client.nvpmodel
    if model is None:
        raise _exception()("nvpmodel not available on this board")
    if isinstance(value, int):
        return model.set_nvpmodel_id(value)
    if isinstance(value, str):
        return model.set_nvpmodel_name(value)
    ValueError("Data type not allowed {type}".format(type=type(value)))  # sic: 4.3.1 never raises it
    return None


def set_jetson_clocks(client, value):
    """jtop.jetson_clocks's setter in 4.3.1."""
    if client.jetson_clocks is None:
        raise _exception()("jetson_clocks not available on this board")
    client.jetson_clocks.set_enable(value)
