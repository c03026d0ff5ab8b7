"""Open the device-side sources by name, or pick them with "auto", and say why one cannot run.

auto: NVML when a GPU answers, jtop when its service answers, tegrastats (only when jtop is
absent) when it is on PATH. Used in the harness's process for local targets and by the sidecar.
"""

import os
import re
import subprocess

from . import Unavailable
from .jetson import JtopReader
from .nvml import NvmlReader
from .tegrastats import TegrastatsReader

DEVICE_SOURCES = ("nvml", "jtop", "tegrastats")


def _read(path):
    try:
        with open(path) as handle:
            return handle.read().replace("\x00", "").strip()
    except OSError:
        return None


def system_facts():
    """CPU model, cores and total memory of the machine this runs on (the device, in a sidecar)."""
    from ..compat import cpu_model
    facts = {"cpu": cpu_model(), "cpu_cores": os.cpu_count()}
    meminfo = _read("/proc/meminfo") or ""
    match = re.search(r"MemTotal:\s+(\d+) kB", meminfo)
    if match:
        facts["memory_mb"] = int(match.group(1)) // 1024
    return facts


# In a sidecar the board's own files are masked or absent (runc refuses binds into /proc, Docker masks
# /sys/firmware, and /etc is the image's), so the harness binds the host's copies here read-only:
# (path on the device, name under BOARD_DIR). /proc/device-tree is a link into /sys/firmware.
BOARD_DIR = "/opt/harness/host"
BOARD_FILES = (("/sys/firmware/devicetree/base/model", "model"), ("/etc/nv_tegra_release", "nv_tegra_release"),
               ("/usr/sbin/nvpmodel", "nvpmodel"), ("/etc/nvpmodel.conf", "nvpmodel.conf"),
               ("/var/lib/nvpmodel", "nvpmodel-state"))


def _board_file(own_path, name):
    """The file where this system keeps it, else the host's copy a sidecar was given."""
    found = _read(own_path)
    return found if found is not None else _read(os.path.join(BOARD_DIR, name))


def _nvpmodel_query():
    """`nvpmodel -q` output: the system's own binary, else the host's, told where the host's
    configuration and state are (-f names the conf file; the state folder is bound at its own path)."""
    host_binary = os.path.join(BOARD_DIR, "nvpmodel")
    commands = [["nvpmodel", "-q"]]
    if os.path.exists(host_binary):
        commands.append([host_binary, "-f", os.path.join(BOARD_DIR, "nvpmodel.conf"), "-q"])
    for command in commands:
        try:
            return subprocess.check_output(command, stderr=subprocess.STDOUT, universal_newlines=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            continue
    return ""


def l4t_facts():
    """Board model, L4T release and power mode from files every L4T system has (no jtop needed)."""
    facts = {}
    model = _read("/proc/device-tree/model") or _board_file("/sys/firmware/devicetree/base/model", "model")
    if model:
        facts["board"] = model
    release = _board_file("/etc/nv_tegra_release", "nv_tegra_release") or ""
    match = re.search(r"R(\d+) \(release\), REVISION: ([\d.]+)", release)
    if match:
        facts["l4t"] = "{}.{}".format(*match.groups())
    mode = re.search(r"NV Power Mode:\s*(\S+)", _nvpmodel_query())
    if mode:
        facts["nvpmodel"] = mode.group(1)
    return facts


class TegrastatsSource:
    source = "tegrastats"

    def __init__(self, interval_s, executable="tegrastats"):
        self.reader = TegrastatsReader(interval_s, executable)

    def open(self):
        self.reader.start()
        return self

    def facts(self):
        return l4t_facts()

    def sample(self):
        sample = self.reader.latest()
        if sample is None and self.reader.failure():
            raise Unavailable(self.reader.failure())
        if sample is not None:
            sample.pop("raw", None)
            sample.pop("power_rail", None)
        return sample

    def close(self):
        self.reader.stop()


def _which(name):
    if os.path.sep in name:
        return name if os.access(name, os.X_OK) else None
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        path = os.path.join(folder, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def make(name, interval_s, tegrastats="tegrastats"):
    if name == "nvml":
        return NvmlReader()
    if name == "jtop":
        return JtopReader(interval_s=interval_s)
    if name == "tegrastats":
        if _which(tegrastats) is None:
            raise Unavailable("tegrastats is not on PATH (it ships with L4T at /usr/bin/tegrastats)")
        return TegrastatsSource(interval_s, tegrastats)
    raise ValueError("unknown telemetry source {!r} (known: {})".format(name, ", ".join(DEVICE_SOURCES)))


def open_sources(names, interval_s, tegrastats="tegrastats"):
    """Open each named source ("auto" expands); return (open readers, {source: why not})."""
    auto = list(names) == ["auto"]
    wanted = list(DEVICE_SOURCES) if auto else list(names)
    readers, unavailable = [], {}
    for name in wanted:
        if auto and name == "tegrastats" and any(r.source == "jtop" for r in readers):
            continue  # jtop already reads what tegrastats prints
        try:
            readers.append(make(name, interval_s, tegrastats).open())
        except Unavailable as why:
            unavailable[name] = str(why)
    return readers, unavailable
