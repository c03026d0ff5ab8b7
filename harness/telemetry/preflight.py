"""Pre-flight before each job: idle power baseline, other GPU memory holders, Jetson power mode,
temperature at start; and which telemetry a target asks for.

`assess` is pure (facts, idle samples, holders -> a report); the runners collect the inputs
in-process (local) or from the sidecar's stream (docker).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

from harness_jobs.telemetry import Unavailable
from harness_jobs.telemetry.sources import DEVICE_SOURCES

SOURCES = ("psutil", "docker") + DEVICE_SOURCES
POLICIES = ("warn", "strict")
FIRST_SAMPLE_WAIT_S = 3.0


def parse_spec(spec: str) -> list[str]:
    """`auto`, `none`, or a comma list of sources -> the list; ValueError names the known ones."""
    names = [n.strip() for n in spec.split(",") if n.strip()]
    if names in (["auto"], ["none"]):
        return names
    bad = [n for n in names if n not in SOURCES]
    if bad or not names:
        raise ValueError(f"telemetry must be 'auto', 'none' or a comma list of {', '.join(SOURCES)}; got {spec!r}")
    return names


def unavailable_warning(target: str, reasons: dict[str, str], auto: bool, opened: bool) -> str | None:
    """One line for the run: what cannot be measured on this target, and why."""
    if not reasons or (auto and opened):
        return None  # auto found a GPU/board source: the ones that do not apply here are no news
    why = "; ".join(f"{name}: {reason}" for name, reason in sorted(reasons.items()))
    return (f"target '{target}': no GPU/board telemetry, so GPU load, GPU memory, power and energy are "
            f"recorded as unavailable ({why})") if auto else f"target '{target}': telemetry unavailable ({why})"


@dataclasses.dataclass
class Preflight:
    idle_power_w: float | None = None
    idle_samples: int = 0
    temperature_start_c: float | None = None
    other_gpu_processes: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    error: str | None = None

    def public(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def assess(facts: dict[str, Any], samples: Sequence[dict[str, Any]], holders: dict[int, float | None],
           policy: str = "warn", baseline: bool = True) -> Preflight:
    report = Preflight()
    powers = [s["power_w"] for s in samples if isinstance(s.get("power_w"), (int, float))]
    if baseline and powers:
        report.idle_power_w, report.idle_samples = round(sum(powers) / len(powers), 3), len(powers)
    temps = [s["temperature_c"] for s in samples if isinstance(s.get("temperature_c"), (int, float))]
    report.temperature_start_c = temps[0] if temps else None
    if holders:
        report.other_gpu_processes = [{"pid": pid, "memory_mb": mb} for pid, mb in sorted(holders.items())]
        listed = ", ".join(f"pid {pid} ({'?' if mb is None else f'{mb:g}'} MB)" for pid, mb in sorted(holders.items()))
        text = (f"{len(holders)} other process(es) hold GPU memory before the job: {listed}; they can cause "
                f"out-of-memory errors and skew memory and power figures")
        if policy == "strict":
            report.error = text + " (preflight = \"strict\": the job was not started)"
        else:
            report.warnings.append(text)
    mode = facts.get("nvpmodel")
    if mode and "MAXN" not in str(mode).upper():
        report.warnings.append(f"Jetson power mode is {mode}, not MAXN: the board runs below its best "
                               f"(sudo nvpmodel -m 0 selects MAXN on most modules)")
    if facts.get("jetson_clocks") is False:
        report.warnings.append("jetson_clocks is off: clocks follow the load, so step times vary more "
                               "(sudo jetson_clocks pins them)")
    return report


def collect(readers: Sequence[Any], seconds: float, interval: float) -> tuple[list[dict], dict[int, float | None], dict[str, str]]:
    """Sample the open readers for `seconds` (and until each answered once, at most a few
    seconds): (samples, GPU memory holders, {source: why it failed})."""
    samples: list[dict] = []
    holders: dict[int, float | None] = {}
    failed: dict[str, str] = {}
    answered: set[str] = set()
    started = time.monotonic()
    while True:
        for reader in readers:
            if reader.source in failed:
                continue
            try:
                sample = reader.sample()
                if hasattr(reader, "processes"):
                    holders.update(reader.processes())
            except Unavailable as why:
                failed[reader.source] = str(why)
                continue
            if sample is not None:
                samples.append(sample)
                answered.add(reader.source)
        elapsed = time.monotonic() - started
        waiting = len(answered) + len(failed) < len(readers) and elapsed < FIRST_SAMPLE_WAIT_S
        if elapsed >= seconds and not waiting:
            return samples, holders, failed
        time.sleep(min(interval, 0.1) if waiting else interval)
