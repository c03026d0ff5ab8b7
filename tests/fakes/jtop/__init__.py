"""Stand-in for jetson-stats 4.3's `jtop` (see tests/fakes/README.md): a TX2 at MAXN."""

import os
import time


class JtopException(Exception):
    pass


_FAILURES = {
    "inactive": "The jtop.service is not active. Please run:\nsudo systemctl restart jtop.service",
    "permission": "I can't access jtop.service.\nPlease logout or reboot this board.",
    "mismatch": "Mismatch version jtop service: [4.2.1] and client: [4.3.2]. Please run:\n"
                "sudo systemctl restart jtop.service",
}


class NVPModel:
    def __init__(self, name, mode_id):
        self.name, self.id = name, mode_id

    def __str__(self):
        return self.name


class jtop:
    def __init__(self, interval=1.0):
        self.interval = interval
        self.started = None

    def start(self):
        mode = os.environ.get("FAKE_JTOP", "ok")
        if mode in _FAILURES:
            raise JtopException(_FAILURES[mode])
        self.started = time.monotonic()

    def close(self):
        self.started = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def ok(self):
        return self.started is not None

    @property
    def nvpmodel(self):
        return NVPModel(os.environ.get("FAKE_JTOP_NVPMODEL", "MAXN"), 0)

    @property
    def stats(self):
        return {"time": time.time(), "GPU": 73.0, "RAM": 0.5, "nvp model": str(self.nvpmodel),
                "jetson_clocks": os.environ.get("FAKE_JTOP_CLOCKS", "ON"), "Power TOT": 6120}

    @property
    def board(self):
        return {"platform": {"Machine": "aarch64", "Python": "3.6.9"},
                "hardware": {"Model": "NVIDIA Jetson TX2 Developer Kit", "Module": "NVIDIA Jetson TX2 (P3310-1000)",
                             "SoC": "tegra186", "L4T": "32.7.1", "Jetpack": "4.6.1"},
                "libraries": {"CUDA": "10.2.300", "cuDNN": "8.2.1.32"}}

    @property
    def gpu(self):
        return {"gpu": {"type": "integrated",
                        "status": {"railgate": False, "tpc_pg_mask": False, "3d_scaling": True, "load": 73.0},
                        "freq": {"governor": "nvhost_podgov", "cur": 1300500, "max": 1300500, "min": 114750}}}

    @property
    def memory(self):
        return {"RAM": {"tot": 8039788, "used": 3145728, "free": 2000000, "buffers": 100000, "cached": 800000,
                        "shared": 1048576, "lfb": 1164}}

    @property
    def power(self):
        return {"rail": {"VDD_SYS_GPU": {"online": True, "volt": 19000, "curr": 120, "power": 2280, "avg": 2100},
                         "VDD_IN": {"online": True, "volt": 19000, "curr": 322, "power": 6120, "avg": 6000}},
                "tot": {"volt": 19000, "curr": 322, "power": 6120, "avg": 6000, "name": "VDD_IN"}}

    @property
    def temperature(self):
        return {"CPU": {"online": True, "temp": 42.5}, "GPU": {"online": True, "temp": 41.0},
                "PMIC": {"online": True, "temp": 100.0}, "CV0": {"online": False, "temp": -256}}
