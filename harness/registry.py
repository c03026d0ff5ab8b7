"""The metric registry: every value the harness stores or reports, with its unit, which way is
better, how it is shown, what produces it and what it means. One list, so result.json, compare,
the renderers, the exporters and docs/metrics.md cannot drift apart.

`METRICS` are the named values of result.json `metrics` ("result") and of the comparison rows in
summary.json ("compare"); `SERIES` are the telemetry.csv series, with their TensorBoard tag and
MLflow name. `python -m harness.registry --write-docs` regenerates docs/metrics.md's tables.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

HIGHER, LOWER = "higher", "lower"
MIB_TO_MB = 1024 * 1024 / 1e6  # the harness's MB are MiB (2^20 bytes); MLflow's megabytes are 10^6 bytes
DOCS = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"
BEGIN, END = "<!-- registry tables: begin (python -m harness.registry --write-docs) -->", "<!-- registry tables: end -->"


@dataclasses.dataclass(frozen=True)
class Metric:
    name: str            # the key in result.json `metrics` or in a comparison row
    unit: str
    better: str | None   # HIGHER, LOWER, or None where neither is better
    fmt: str | None      # format spec for a table cell (or one of SPECIAL_FORMATS); None: shown as it is
    source: str          # what produces it
    meaning: str
    kind: str = "result"         # "result": result.json metrics; "compare": comparison rows only
    compared: bool = False       # compare takes it from result.json (median over ok repeats)
    summary: bool = False        # exported as TensorBoard final/<name> and an MLflow metric of its name
    unavailable: bool = False    # a null value gets a reason in result.json `unavailable`
    of: str | None = None        # a ratio: the metric it is side / baseline of


@dataclasses.dataclass(frozen=True)
class Series:
    source: str | None   # the sampler; None: the same name from any sampler
    metric: str          # telemetry.csv `metric`
    unit: str
    meaning: str
    tensorboard: str | None = None  # tag; None: telemetry/<source>/<metric> (or not exported, if skipped)
    mlflow: str | None = None       # name; None: system/<source>_<metric>
    scale: float = 1.0              # MLflow value = telemetry value x scale
    skipped: bool = False           # bookkeeping, not exported


_GPU = "GPU/board telemetry (NVML; jtop or tegrastats on a Jetson)"
_ENERGY = "energy over the steady window (NVML counter, else integrated power)"


def _m(name, unit, better, fmt, source, meaning, **flags) -> Metric:
    return Metric(name, unit, better, fmt, source, meaning, **flags)


METRICS: tuple[Metric, ...] = (
    # the order of the compared ones is compare's (summary.csv's columns follow it)
    _m("samples_per_sec", "samples/s", HIGHER, ".1f", "steps",
       "steady-state throughput: samples / summed step time over the steps after warm-up",
       compared=True, summary=True),
    _m("time_to_first_step_seconds", "s", LOWER, ".2f", "events (start, first step)",
       "start event (TensorFlow loaded) to the end of the first step", compared=True),
    _m("first_epoch_seconds", "s", LOWER, ".2f", "epochs",
       "the first epoch: graph building, autotuning and allocation live here", compared=True, summary=True),
    _m("steady_epoch_seconds", "s", LOWER, ".2f", "epochs",
       "median of the epochs after the first (null with one epoch)", compared=True, summary=True),
    _m("train_seconds", "s", LOWER, ".2f", "epochs", "sum of the epoch times", compared=True, summary=True),
    _m("step_seconds_median", "s", LOWER, ".4f", "steps", "median step time after warm-up",
       compared=True, summary=True),
    _m("step_seconds_p95", "s", LOWER, ".4f", "steps", "95th percentile of the step time after warm-up",
       compared=True, summary=True),
    _m("final_accuracy", "share (0-1)", HIGHER, ".4f", "job (end event)",
       "training accuracy of the last epoch (with dropout active)", compared=True, summary=True),
    _m("final_val_accuracy", "share (0-1)", HIGHER, ".4f", "job (end event)",
       "accuracy on the test split at the end", compared=True, summary=True),
    _m("peak_rss_mb", "MiB", LOWER, ".0f", "psutil",
       "peak resident memory of the job's process tree (local targets)", compared=True, summary=True),
    _m("peak_container_memory_mb", "MiB", LOWER, ".0f", "docker stats",
       "peak container memory, usage minus page cache (docker targets)", compared=True),
    _m("gpu_util_mean_percent", "%", None, ".1f", _GPU, "mean GPU load over the job (jtop/tegrastats: GR3D_FREQ)",
       compared=True, summary=True, unavailable=True),
    _m("gpu_util_peak_percent", "%", None, ".1f", _GPU, "peak GPU load over the job",
       compared=True, unavailable=True),
    _m("gpu_memory_peak_mb", "MiB", LOWER, ".0f", _GPU,
       "peak GPU memory: the job's own processes where NVML can attribute it (gpu_memory_scope = job), "
       "else the whole device (device)", compared=True, summary=True, unavailable=True),
    _m("ram_peak_mb", "MiB", LOWER, ".0f", "jtop, tegrastats", "Jetson (unified memory): peak RAM used",
       unavailable=True),
    _m("shared_ram_peak_mb", "MiB", LOWER, ".0f", "jtop", "Jetson: peak GPU-shared part of the RAM",
       unavailable=True),
    _m("power_mean_w", "W", LOWER, ".1f", _GPU,
       "mean power over the job: NVML board power on a GPU, the total input rail on a Jetson (VDD_IN, POM_5V_IN)",
       compared=True, summary=True, unavailable=True),
    _m("energy_j", "J", LOWER, ".1f", _ENERGY,
       "energy in the steady-state window: NVML's energy counter delta where the GPU has one (Volta and newer), "
       "else trapezoid-integrated total-rail power", compared=True, summary=True, unavailable=True),
    _m("idle_power_w", "W", None, ".1f", "pre-flight", "idle power, measured for idle_baseline_s before the job",
       unavailable=True),
    _m("net_energy_j", "J", LOWER, ".1f", _ENERGY, "energy_j minus idle_power_w x the window",
       compared=True, summary=True, unavailable=True),
    _m("energy_per_sample_j", "J/sample", LOWER, ".4g", _ENERGY, "energy_j over the steady-state samples",
       compared=True, summary=True, unavailable=True),
    _m("samples_per_joule", "samples/J", HIGHER, ".1f", _ENERGY, "steady-state samples over energy_j",
       compared=True, summary=True, unavailable=True),
    _m("throttled_share", "share (0-1)", LOWER, "percent", "NVML", "share of samples with a throttle reason",
       compared=True, unavailable=True),
    # stored in result.json, not compared
    _m("epoch_seconds", "list of s", None, None, "epochs", "wall time of each epoch, including its validation pass"),
    _m("steps", "count", None, "d", "steps", "training steps timed"),
    _m("steady_steps", "count", None, "d", "steps", "timed steps that count as steady state (after warm-up)"),
    _m("startup_seconds", "s", LOWER, ".2f", "events (start)", "process start to TensorFlow imported"),
    _m("final_loss", "loss", LOWER, ".4f", "job (end event)", "training loss of the last epoch", summary=True),
    _m("final_val_loss", "loss", LOWER, ".4f", "job (end event)", "loss on the test split at the end", summary=True),
    _m("test_accuracy", "share (0-1)", HIGHER, ".4f", "job (end event); Keras log import",
       "accuracy of the final evaluation (retrain's test split; an imported log's evaluate line)", summary=True),
    _m("test_loss", "loss", LOWER, ".4f", "Keras log import", "loss of an imported log's evaluate line"),
    _m("samples", "count", None, "d", "Keras log import", "samples trained in the complete epochs of an imported log"),
    _m("trainable_params", "count", None, "d", "job (end event)", "trainable parameter count of the model"),
    _m("device", "name", None, None, "job (end event)", "where TensorFlow placed the training (cpu, gpu)"),
    _m("flops_per_step", "FLOP", None, ".3g", "job (end event)",
       "FLOPs of one training step, counted for the model event's batch size (docs/explain.md)"),
    _m("gpu_memory_scope", "job | device", None, None, _GPU, "what gpu_memory_peak_mb covers"),
    _m("energy_method", "counter | integrated", None, None, _ENERGY, "how energy_j was measured"),
    _m("energy_window_s", "s", None, ".2f", _ENERGY, "length of the steady window energy_j covers"),
    _m("throttle_reasons", "list of names", None, None, "NVML",
       "the throttle reasons seen (sw_power_cap, hw_slowdown, sw_thermal, hw_thermal, hw_power_brake)"),
    _m("sm_clock_min_mhz", "MHz", None, ".0f", "NVML", "lowest SM clock during the job"),
    _m("sm_clock_max_mhz", "MHz", None, ".0f", "NVML", "highest SM clock during the job"),
    _m("gpu_freq_min_mhz", "MHz", None, ".0f", "jtop, tegrastats", "lowest Jetson GPU (GR3D) clock during the job"),
    _m("gpu_freq_max_mhz", "MHz", None, ".0f", "jtop, tegrastats", "highest Jetson GPU (GR3D) clock during the job"),
    _m("temperature_peak_c", "°C", LOWER, ".0f", _GPU, "peak GPU temperature during the job"),
    # comparison rows only (harness/compare.py, harness/explain.py)
    _m("samples_per_sec_ci_low", "samples/s", HIGHER, ".1f", "compare (bootstrap over steps)",
       "lower end of the throughput's 95% interval (two-level bootstrap: processes, then blocks of steps)",
       kind="compare"),
    _m("samples_per_sec_ci_high", "samples/s", HIGHER, ".1f", "compare (bootstrap over steps)",
       "upper end of the throughput's 95% interval", kind="compare"),
    _m("repeats", "count", None, "d", "compare", "job results of this job on this side", kind="compare"),
    _m("repeats_ok", "count", None, "d", "compare", "of them, the ok ones", kind="compare"),
    _m("processes", "count", None, "d", "compare", "ok repeats with steady steps (one process each)", kind="compare"),
    _m("process_cv", "share", LOWER, ".1%", "compare",
       "coefficient of variation of the throughput between processes (null with one)", kind="compare"),
    _m("process_samples_per_sec_min", "samples/s", HIGHER, ".1f", "compare", "slowest process's throughput",
       kind="compare"),
    _m("process_samples_per_sec_max", "samples/s", HIGHER, ".1f", "compare", "fastest process's throughput",
       kind="compare"),
    _m("repeats_needed", "count", None, "d", "compare",
       "processes per side for a 95% interval within the noise band, from process_cv", kind="compare"),
    _m("step_outliers", "count", LOWER, "d", "compare",
       "steady steps whose modified z-score exceeds 3.5 (flagged, never dropped)", kind="compare"),
    _m("step_outlier_share", "share", LOWER, ".1%", "compare", "step_outliers over the steady steps", kind="compare"),
    _m("price_usd", "USD", None, "g", "config (target price_usd)", "the target's price", kind="compare"),
    _m("samples_per_sec_per_usd", "samples/s/USD", HIGHER, ".2f", "compare", "throughput per dollar",
       kind="compare"),
    # the ratios, side / baseline, in compare's order; a time ratio is one whose lower value is better
    _m("throughput_ratio", "x", HIGHER, "ratio", "compare", "samples_per_sec / the baseline's", kind="compare",
       of="samples_per_sec"),
    _m("first_epoch_ratio", "x", LOWER, "ratio", "compare", "first_epoch_seconds / the baseline's", kind="compare",
       of="first_epoch_seconds"),
    _m("steady_epoch_ratio", "x", LOWER, "ratio", "compare", "steady_epoch_seconds / the baseline's (warm-up excluded)",
       kind="compare", of="steady_epoch_seconds"),
    _m("total_time_ratio", "x", LOWER, "ratio", "compare",
       "train_seconds / the baseline's (whole training, warm-up included)", kind="compare", of="train_seconds"),
    _m("samples_per_joule_ratio", "x", HIGHER, "ratio", "compare", "samples_per_joule / the baseline's",
       kind="compare", of="samples_per_joule"),
    _m("perf_per_dollar_ratio", "x", HIGHER, "ratio", "compare", "samples_per_sec_per_usd / the baseline's",
       kind="compare", of="samples_per_sec_per_usd"),
    _m("flops_per_sample", "FLOP", None, "si", "explain", "FLOPs of one training sample", kind="compare"),
    _m("achieved_flops_per_sec", "FLOP/s", HIGHER, "si", "explain", "flops_per_sample x steady samples/s",
       kind="compare"),
    _m("peak_flops_per_sec", "FLOP/s", None, "si", "explain (docs/device-peaks.md)", "the device's FP32 peak",
       kind="compare"),
    _m("peak_share", "share", HIGHER, "percent", "explain", "achieved FLOP/s over the FP32 peak", kind="compare"),
    _m("peak_fp16_share", "share", HIGHER, "percent", "explain", "achieved FLOP/s over the FP16 peak (mixed precision)",
       kind="compare"),
    _m("peak_bandwidth_gbs", "GB/s", None, ".0f", "explain (docs/device-peaks.md)", "the device's memory bandwidth",
       kind="compare"),
    _m("input_share", "share", LOWER, "percent", "explain", "the input pipeline alone, per batch, over a steady step",
       kind="compare"),
    _m("warmup_share", "share", LOWER, "percent", "explain", "share of the training time not spent at the steady rate",
       kind="compare"),
    _m("clock_min_mhz", "MHz", None, ".0f", "explain", "lowest GPU clock (NVML SM clock or Jetson GR3D)",
       kind="compare"),
    _m("clock_max_mhz", "MHz", None, ".0f", "explain", "highest GPU clock", kind="compare"),
    _m("peak_compute_ratio", "x", None, "times", "explain", "the side's peak compute over the baseline's",
       kind="compare"),
    _m("bandwidth_ratio", "x", None, "times", "explain", "the side's memory bandwidth over the baseline's",
       kind="compare"),
)

# a ratio's interval and significance: `<ratio>_ci_low`, `<ratio>_ci_high`, `<ratio minus _ratio>_significant`
INTERVAL_SUFFIXES = ("_ci_low", "_ci_high")

SERIES: tuple[Series, ...] = (
    # GPU load, memory and power (NVML sums memory and power over the visible GPUs, averages load)
    Series(None, "gpu_util_percent", "%", "GPU load (NVML; jtop/tegrastats GR3D)",
           "telemetry/gpu_load_percent", "system/gpu_0_utilization_percentage"),
    Series(None, "gpu_memory_used_mb", "MiB", "GPU memory used on the device (NVML)",
           "telemetry/gpu_memory_mb", "system/gpu_0_memory_usage_megabytes", MIB_TO_MB),
    Series(None, "gpu_memory_job_mb", "MiB", "GPU memory of the job's own processes (NVML)",
           "telemetry/gpu_memory_job_mb", "system/gpu_0_job_memory_usage_megabytes", MIB_TO_MB),
    Series("nvml", "power_w", "W", "the GPUs' power draw",
           "telemetry/power_w", "system/gpu_0_power_usage_watts"),
    # a Jetson's power_w is the board's total input rail (VDD_IN / POM_5V_IN), not the GPU's
    Series("jtop", "power_w", "W", "the board's total input rail", "telemetry/power_w",
           "system/board_power_usage_watts"),
    Series("tegrastats", "power_w", "W", "the board's total input rail (VDD_IN, POM_5V_IN; sub-rails never summed)",
           "telemetry/power_w", "system/board_power_usage_watts"),
    Series(None, "energy_j", "J", "NVML's cumulative energy counter (Volta and newer)",
           "telemetry/energy_counter_j", "system/gpu_0_energy_joules"),
    Series(None, "temperature_c", "°C", "GPU temperature", "telemetry/temperature_c",
           "system/gpu_0_temperature_celsius"),
    Series(None, "sm_clock_mhz", "MHz", "NVML SM clock (lowest of the GPUs)", "telemetry/sm_clock_mhz",
           "system/gpu_0_sm_clock_megahertz"),
    Series(None, "gpu_freq_mhz", "MHz", "Jetson GPU (GR3D) clock", "telemetry/gpu_freq_mhz",
           "system/gpu_0_frequency_megahertz"),
    # Jetson unified memory: GPU memory is system RAM
    # the board's own name: a local Jetson target samples psutil's system_used_mb beside it
    Series(None, "ram_used_mb", "MiB", "Jetson RAM used", "telemetry/ram_used_mb",
           "system/board_ram_usage_megabytes", MIB_TO_MB),
    Series(None, "shared_ram_mb", "MiB", "Jetson GPU-shared RAM (jtop)", "telemetry/shared_ram_mb",
           "system/shared_memory_usage_megabytes", MIB_TO_MB),
    Series(None, "cpu_util_percent", "%", "mean CPU load over the online cores (tegrastats)",
           "telemetry/cpu_util_percent", "system/cpu_utilization_percentage"),
    # psutil: the job's process tree, and the whole machine's memory
    Series("psutil", "cpu_percent", "%", "CPU of the job's process tree (100 = one core)",
           "telemetry/job_cpu_percent", "system/job_cpu_utilization_percentage"),
    Series("psutil", "rss_mb", "MiB", "resident memory of the job's process tree", "telemetry/job_rss_mb",
           "system/job_memory_usage_megabytes", MIB_TO_MB),
    Series("psutil", "system_used_mb", "MiB", "the machine's memory in use", "telemetry/system_memory_mb",
           "system/system_memory_usage_megabytes", MIB_TO_MB),
    Series("psutil", "system_percent", "%", "the machine's memory in use", "telemetry/system_memory_percent",
           "system/system_memory_usage_percentage"),
    # docker stats: the job's container
    Series("docker", "cpu_percent", "%", "CPU of the job's container (100 = one core)",
           "telemetry/container_cpu_percent", "system/job_cpu_utilization_percentage"),
    Series("docker", "memory_mb", "MiB", "container memory: usage minus `cache` (cgroup v1) or `inactive_file` (v2), as docker stats does",
           "telemetry/container_memory_mb",
           "system/job_memory_usage_megabytes", MIB_TO_MB),
    # exported under the default names: telemetry/<source>/<metric>, system/<source>_<metric>
    Series("nvml", "throttle_reasons", "bitmask", "NVML throttle-reason bitmask (result: throttle_reasons names)"),
    Series(None, "rail_<name>_w", "W", "one power rail of a Jetson (jtop, tegrastats)"),
    Series(None, "temp_<sensor>_c", "°C", "one temperature sensor of a Jetson (jtop, tegrastats)"),
    Series("tegrastats", "cpu_freq_mhz", "MHz", "mean CPU clock over the online cores"),
    Series("tegrastats", "<unit>_util_percent", "%", "another engine's load (EMC, ...)"),
    Series("tegrastats", "<unit>_freq_mhz", "MHz", "another engine's clock"),
    Series("tegrastats", "<pool>_used_mb", "MiB", "RAM, swap, ... in use"),
    Series("tegrastats", "<pool>_total_mb", "MiB", "RAM, swap, ... in all"),
    # bookkeeping, not exported
    Series("psutil", "processes", "count", "processes in the job's tree", skipped=True),
    Series("jtop", "gap_s", "s", "how long jtop's service was lost (a restart mid-job)", skipped=True),
    Series("docker", "memory_limit_mb", "MiB", "the container's memory limit", skipped=True),
    Series("nvml", "throttled", "0/1", "1 where a throttle reason is set (throttled_share averages it)", skipped=True),
    Series("tegrastats", "cpu_cores_online", "count", "CPU cores online", skipped=True),
)

_BY_NAME = {m.name: m for m in METRICS}


def get(name: str) -> Metric:
    """The entry of `name`; a ratio's `_ci_low`/`_ci_high` reads as its ratio (same unit, direction, format)."""
    if name in _BY_NAME:
        return _BY_NAME[name]
    for suffix in INTERVAL_SUFFIXES:
        if name.endswith(suffix) and name.removesuffix(suffix) in _BY_NAME:
            return _BY_NAME[name.removesuffix(suffix)]
    raise KeyError(f"{name} is not in the metric registry (harness/registry.py)")


def names(**flags: Any) -> tuple[str, ...]:
    """The names whose entries have every given field value, in registry order: names(compared=True)."""
    return tuple(m.name for m in METRICS if all(getattr(m, k) == v for k, v in flags.items()))


def unit(name: str) -> str:
    return get(name).unit


def better(name: str) -> str | None:
    """HIGHER, LOWER or None."""
    return get(name).better


def ratios() -> dict[str, str]:
    """Each ratio and the metric it is side / baseline of, in registry order (compare's)."""
    return {m.name: m.of for m in METRICS if m.of}


def _ratio(value: float, _unit: str) -> str:
    return format(value, ".2f" if abs(value) >= 0.1 else ".3g")


def _percent(share: float, _unit: str) -> str:
    """A share with more digits as it shrinks: 25%, 2.4%, 0.50%."""
    return format(share, ".2%" if share < 0.01 else ".1%" if share < 0.1 else ".0%")


def _times(value: float, _unit: str) -> str:
    """A multiple: 18.0x, 1.52x, 0.0123x."""
    return f"{value:.1f}x" if value >= 10 else f"{value:.2f}x" if value >= 0.1 else f"{value:.3g}x"


def _si(value: float, unit: str) -> str:
    """An SI prefix on the unit: 9.87e12, 'FLOP/s' -> '9.87 TFLOP/s'."""
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


# the formats beyond Python's format specs (docs/metrics.md, "The tables")
SPECIAL_FORMATS = {"ratio": _ratio, "percent": _percent, "times": _times, "si": _si}


def format_value(value: Any, spec: str | None, unit: str = "") -> str:
    """'-' for a missing value; else `spec` (a format spec or one of SPECIAL_FORMATS); text as it is."""
    if value is None:
        return "-"
    if not spec or not isinstance(value, (int, float)):
        return str(value)
    if spec in SPECIAL_FORMATS:
        return SPECIAL_FORMATS[spec](value, unit)
    return format(value, ".0f" if spec == "d" and isinstance(value, float) else spec)


def fmt(name: str, value: Any) -> str:
    """A table cell of `name`: format_value with the registry's format and unit."""
    metric = get(name)
    return format_value(value, metric.fmt, metric.unit)


def series_names(source: str, metric: str) -> tuple[str, str, float] | None:
    """(TensorBoard tag, MLflow name, MLflow scale) of one telemetry series; None if it is not exported."""
    if any(s.skipped and s.metric == metric for s in SERIES):  # bookkeeping, from whichever sampler
        return None
    for s in sorted((s for s in SERIES if s.metric == metric and s.source in (source, None)),
                    key=lambda s: s.source is None):  # the sampler's own entry first
        if s.tensorboard and s.mlflow:
            return s.tensorboard, s.mlflow, s.scale
    return f"telemetry/{source}/{metric}", f"system/{source}_{metric}", 1.0


def _table(header: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"
    return "\n".join([line(header), line(["---"] * len(header)), *(line(r) for r in rows)])


def _metric_rows(kind: str) -> list[list[str]]:
    return [[f"`{m.name}`", m.unit, m.better or "-", f"`{m.fmt}`" if m.fmt else "-", m.source, m.meaning]
            for m in METRICS if m.kind == kind]


def _exported(s: Series) -> list[str]:
    """The TensorBoard and MLflow cells of a series' row."""
    if s.skipped:
        return ["not exported", "not exported"]
    source = s.source or "<source>"
    tag = s.tensorboard or f"telemetry/{source}/{s.metric}"
    mlflow = s.mlflow or f"system/{source}_{s.metric}"
    return [f"`{tag}`", f"`{mlflow}`" + (f" x {s.scale:.6f}" if s.scale != 1.0 else "")]


def markdown_tables() -> str:
    """docs/metrics.md's tables, generated from this registry."""
    header = ["metric", "unit", "better", "format", "source", "meaning"]
    series = [[f"`{s.metric}`", s.source or "any", s.unit, s.meaning, *_exported(s)] for s in SERIES]
    return "\n\n".join([
        "### result.json metrics", _table(header, _metric_rows("result")),
        "### Comparison rows (summary.json, summary.csv)",
        "Besides the compared result.json metrics above (the median over ok repeats; `samples_per_sec`, "
        "`step_seconds_median`, `step_seconds_p95` and `steady_steps` recomputed from the pooled steps):",
        _table(header, _metric_rows("compare")),
        "Every ratio also has `<ratio>_ci_low`, `<ratio>_ci_high` (its 95% interval, same unit) and "
        "`<name>_significant` (`throughput_significant`, `total_time_significant`, ...).",
        "### Telemetry series (telemetry.csv) and their exported names",
        _table(["metric", "source", "unit", "meaning", "TensorBoard tag", "MLflow name (x scale)"], series),
    ])


def _replace_tables(text: str) -> str:
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n\n{markdown_tables()}\n\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.registry", description=__doc__.splitlines()[0])
    parser.add_argument("--write-docs", action="store_true", help=f"regenerate the tables in {DOCS.name}")
    args = parser.parse_args(argv)
    if not args.write_docs:
        print(markdown_tables())
        return 0
    text = DOCS.read_text()
    if BEGIN not in text or END not in text:
        print(f"error: {DOCS} lacks the registry marker comments", file=sys.stderr)
        return 2
    DOCS.write_text(_replace_tables(text))
    print(f"wrote {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
