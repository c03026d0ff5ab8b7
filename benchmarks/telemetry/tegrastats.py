"""Parse `tegrastats` lines of every L4T release in use, and run it as a subprocess.

R24/R28.1 (TX1): lowercase `cpu [17%,13%,29%,5%]@408` (one frequency for all cores), `EMC 1%@408`,
`GR3D 3%@76` without `_FREQ`, no rails. R32 (TX1/TX2/Nano/Xavier): rails as `NAME cur/avg` in mW without a unit, `GR3D_FREQ 0%` or
`0%@114`. R35+ (Orin): a `MM-DD-YYYY HH:MM:SS ` prefix, `NAME 3140mW/3208mW`, and
`GR3D_FREQ 0%@[621,621]` per GPC. Total input rail: `VDD_IN` (TX2, Xavier NX, Orin) or
`POM_5V_IN` (Nano); the others are sub-rails and are never summed into a total.
Anything not understood is kept under `raw` and never raises.
"""

import re
import subprocess
import threading

from . import Unavailable

TOTAL_RAILS = ("VDD_IN", "POM_5V_IN")
LOAD_ENGINES = ("GR3D", "EMC", "AVP")  # R24/R28.1 print `GR3D 3%@76` where later releases say GR3D_FREQ
_TIMESTAMP = re.compile(r"^\d{2}-\d{2}-\d{4} \d{2}:\d{2}:\d{2} ")
_RAM = re.compile(r"^(\d+)/(\d+)MB$")
_PERCENT_AT = re.compile(r"^(\d+)%(?:@\[?([\d,]*)\]?)?$")
_RAIL = re.compile(r"^(\d+)(?:mW)?/(\d+)(?:mW)?$")
_TEMP = re.compile(r"^([A-Za-z0-9_]+)@(-?[\d.]+)C$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
NO_SENSOR_C = -256.0  # tegrastats prints this for a sensor that is switched off


def _number(text):
    try:
        return float(text)
    except ValueError:
        return None


def _freq_mhz(text):
    """'114' or '621,621' (one per GPC) -> MHz, averaged over GPCs; '' -> None."""
    values = [_number(v) for v in (text or "").split(",") if v]
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def _cpu(text, sample):
    """CPU [9%@345,off,25%@345] or cpu [17%,13%]@408 (R24/R28.1) -> mean load of online cores and
    mean frequency."""
    loads, freqs = [], []
    cores, _, shared = text.partition("]@")
    if _number(shared) is not None:
        freqs.append(_number(shared))
    for core in cores.strip("[]").split(","):
        match = _PERCENT_AT.match(core.strip())
        if match:
            loads.append(float(match.group(1)))
            freq = _freq_mhz(match.group(2))
            if freq is not None:
                freqs.append(freq)
    if loads:
        sample["cpu_util_percent"] = round(sum(loads) / len(loads), 1)
        sample["cpu_cores_online"] = len(loads)
    if freqs:
        sample["cpu_freq_mhz"] = round(sum(freqs) / len(freqs), 1)


def parse_line(line):
    """One tegrastats line -> flat dict with units in the keys; unknown tokens under 'raw'."""
    sample, raw = {}, []
    text = _TIMESTAMP.sub("", line.strip())
    tokens = text.split()
    index = 0
    while index < len(tokens):
        token = tokens[index]
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        consumed = 1
        if token in ("RAM", "SWAP", "IRAM") and _RAM.match(following):
            used, total = _RAM.match(following).groups()
            sample[token.lower() + "_used_mb"] = float(used)
            sample[token.lower() + "_total_mb"] = float(total)
            consumed = 2
            while index + consumed < len(tokens) and tokens[index + consumed].startswith("("):
                # (lfb 1164x4MB) / (cached 0MB): two tokens, kept raw
                end = index + consumed
                while end < len(tokens) and not tokens[end].endswith(")"):
                    end += 1
                raw.append(" ".join(tokens[index + consumed:end + 1]))
                consumed = end + 1 - index
        elif token in ("CPU", "cpu") and following.startswith("["):
            _cpu(following, sample)
            consumed = 2
        elif (token.endswith("_FREQ") or token in LOAD_ENGINES) and _PERCENT_AT.match(following):
            load, freq = _PERCENT_AT.match(following).groups()
            engine = token[:-5] if token.endswith("_FREQ") else token
            prefix = "gpu" if engine == "GR3D" else engine.lower()
            sample[prefix + "_util_percent"] = float(load)
            if _freq_mhz(freq) is not None:
                sample[prefix + "_freq_mhz"] = _freq_mhz(freq)
            consumed = 2
        elif _TEMP.match(token):
            name, value = _TEMP.match(token).groups()
            celsius = _number(value)  # None for a mangled '42.5.5C'
            if celsius is None:
                raw.append(token)
            elif celsius != NO_SENSOR_C:
                sample["temp_" + name.lower() + "_c"] = celsius
        elif _NAME.match(token) and _RAIL.match(following):
            current, _average = _RAIL.match(following).groups()
            sample["rail_" + token.lower() + "_w"] = float(current) / 1000.0
            if token in TOTAL_RAILS and "power_w" not in sample:
                sample["power_w"] = float(current) / 1000.0
                sample["power_rail"] = token
            consumed = 2
        else:
            raw.append(token)
        index += consumed
    if "temp_gpu_c" in sample:
        sample["temperature_c"] = sample["temp_gpu_c"]
    if raw:
        sample["raw"] = " ".join(raw)
    return sample


class TegrastatsReader:
    """`tegrastats --interval MS` as a subprocess; `latest()` is the newest parsed line.

    tegrastats paces itself, so the caller's sampling loop just picks up the newest line."""

    def __init__(self, interval_s, executable="tegrastats"):
        self.interval_s = interval_s
        self.executable = executable
        self._latest = None
        self._lock = threading.Lock()
        self._process = None
        self.lines = 0

    def start(self):
        command = [self.executable, "--interval", str(max(1, int(self.interval_s * 1000)))]
        try:
            self._process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                             universal_newlines=True)
        except OSError as error:
            raise Unavailable("cannot run %s (%s); it ships with L4T at /usr/bin/tegrastats"
                              % (self.executable, error.strerror or error))
        thread = threading.Thread(target=self._read, name="tegrastats-reader")
        thread.daemon = True
        thread.start()

    def _read(self):
        for line in iter(self._process.stdout.readline, ""):
            sample = parse_line(line)
            with self._lock:
                self._latest = sample
                self.lines += 1

    def latest(self):
        """The newest sample not yet returned (None when tegrastats printed nothing new)."""
        with self._lock:
            sample, self._latest = self._latest, None
        return sample

    def failure(self):
        """Why tegrastats stopped early (None while it runs)."""
        if self._process is None or self._process.poll() is None:
            return None
        error = (self._process.stderr.read() or "").strip().splitlines()
        return "tegrastats exited with code {}{}".format(self._process.returncode,
                                                    ": " + error[-1] if error else "")

    def stop(self):
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
