"""Explain a ratio: how close each side comes to its device's peak, and what sets the pace (docs/explain.md).

`side_fields` adds to a comparison row what one side recorded: its device (harness.peaks), FLOPs
per sample, achieved FLOP/s (FLOPs per sample x steady samples/s) and its share of the peak, the
input probe's share of a step, the warm-up share and the clock range. `against` adds the
peak-compute and bandwidth ratios against the baseline and a verdict in plain words. A field
that cannot be known is None, and `explain_missing` says why; nothing is guessed.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

from . import jobdata, peaks, registry, stats

if TYPE_CHECKING:
    from .comparison_row import ComparisonRow

LOW_SHARE = 0.05    # under this share of peak on every side, the GPU's arithmetic does not set the pace
CLOSE = 1.25        # a measured ratio within this factor of a peak ratio is "close" to it
THROTTLED = 0.05    # a throttled share above this is worth a sentence
WARMUP_GAP = 0.05   # warm-up shares this far apart explain why the total ratio differs from the steady one
CLOSE_TOTAL = 1.1   # ... when they predict the total ratio within this factor (the sides trained the same samples)
# the explanation's fields, in the order the reports list them
FIELDS = ("device_model", "device_source", "precision", "flops_per_sample", "flops_method", "achieved_flops_per_sec",
          "peak_flops_per_sec", "peak_share", "peak_fp16_share", "peak_bandwidth_gbs", "input_share", "input_bound",
          "warmup_share", "clock_min_mhz", "clock_max_mhz", "clock_source", "peak_compute_ratio", "bandwidth_ratio",
          "verdict", "explain_missing")


def _numbers(ok: list[dict[str, Any]], name: str) -> list[float]:
    return [r["metrics"][name] for r in ok if isinstance(r["metrics"].get(name), (int, float))
            and not isinstance(r["metrics"].get(name), bool)]


def _mixed(ok: list[dict[str, Any]]) -> bool:
    """A job that trained with a float16 policy records it as `dtype_policy` (none of the built-in ones do)."""
    return any("float16" in str(r["metrics"].get("dtype_policy") or "") for r in ok)


def _flops_per_sample(ok: list[dict[str, Any]], datas: list[jobdata.JobData]) -> tuple[float | None, str | None, str]:
    """FLOPs of one training sample: the job's FLOPs per step over the batch they were counted for
    (the `model` event's flops_batch_size, else the batch the job used)."""
    per_step = _numbers(ok, "flops_per_step")
    if not per_step:
        return None, None, ("no flops_per_step in result.json (mnist_mlp, transfer and retrain record it; "
                            "runs made before they did, and imported logs, have none)")
    model = next((d.first("model") for d in datas if d.first("model")), None) or {}
    first = ok[0]
    batch = (model.get("flops_batch_size") or first["metrics"].get("batch_size_used")
             or (first.get("params") or {}).get("batch_size"))
    if not batch:
        return None, None, "FLOPs per step recorded, but not the batch size they were counted for"
    method = next((r["metrics"].get("flops_method") for r in ok if r["metrics"].get("flops_method")), None)
    step = stats.median(per_step)
    if step is None:
        return None, None, "no FLOPs per step recorded"
    return float(step) / float(batch), method, ""


def _warmup_share(ok: list[dict[str, Any]], datas: list[jobdata.JobData], rate: float | None) -> tuple[float | None, str]:
    """Share of the training time not spent at the steady rate: 1 - samples / (steady samples/s x
    train seconds), per repeat, median. It holds the warm-up (tracing, cache fill) and whatever
    else a fit does between steps (validation), so that
    total speed-up = steady ratio x (1 - w_side) / (1 - w_base)."""
    if not rate:
        return None, "no steady throughput"
    shares = []
    for result, data in zip(ok, datas):
        seconds = result["metrics"].get("train_seconds")
        samples = float(data.steps["batch_size"].sum()) if data.steps["batch_size"].size else None
        if samples is None:
            samples = sum(e.get("samples") or 0 for e in data.epochs) or None
        if isinstance(seconds, (int, float)) and seconds > 0 and samples:
            shares.append(max(0.0, 1.0 - samples / rate / seconds))
    if not shares:
        return None, "needs the job's train_seconds and its steps or epochs"
    return stats.median(shares), ""


def _input_share(ok: list[dict[str, Any]]) -> tuple[float | None, bool | None, str]:
    """The transfer job's input probe: seconds per batch of the input pipeline alone over the
    median steady step (>= 1: the pipeline alone is slower than a training step)."""
    shares = [r["metrics"]["input_seconds_per_batch"] / r["metrics"]["job_step_seconds_median"] for r in ok
              if isinstance(r["metrics"].get("input_seconds_per_batch"), (int, float))
              and r["metrics"].get("job_step_seconds_median")]
    if not shares:
        return None, None, "no input probe recorded (the transfer job has one: input_probe_batches)"
    share = stats.median(shares)
    if share is None:
        return None, None, "no input probe recorded (the transfer job has one: input_probe_batches)"
    return share, share >= 1.0, ""


def _clocks(ok: list[dict[str, Any]]) -> tuple[float | None, float | None, str | None]:
    for low, high, source in (("sm_clock_min_mhz", "sm_clock_max_mhz", "NVML SM clock"),
                              ("gpu_freq_min_mhz", "gpu_freq_max_mhz", "Jetson GR3D_FREQ")):
        lows, highs = _numbers(ok, low), _numbers(ok, high)
        if lows and highs:
            return min(lows), max(highs), source
    return None, None, None


def side_fields(manifest: dict[str, Any], results: list[dict[str, Any]], datas: list[jobdata.JobData],
                values: dict[str, Any]) -> dict[str, Any]:
    """The explanation's fields of one side, from its results, the steps of its ok repeats
    (`datas`, in order) and the row's values so far (steady samples/s, device, throttled share)."""
    ok = [r for r in results if r["status"] == "ok"]
    missing: dict[str, str] = {}
    fields: dict[str, Any] = dict.fromkeys(FIELDS)
    if not ok:
        return {**fields, "explain_missing": {"explanation": f"no ok repeat (status {values.get('status')})"}}
    peak, source = peaks.device_for(manifest, ok[0])
    fields["device_source"] = source
    if peak is None:
        missing["device_model"] = source
    else:
        fields["device_model"] = peak.name
    mixed = _mixed(ok)
    fields["precision"] = "mixed fp16" if mixed else "fp32"
    per_sample, method, why = _flops_per_sample(ok, datas)
    fields.update(flops_per_sample=per_sample, flops_method=method)
    if why:
        missing["flops_per_sample"] = why
    rate = values.get("samples_per_sec")
    if per_sample is not None and rate:
        fields["achieved_flops_per_sec"] = per_sample * rate
    elif per_sample is not None:
        missing["achieved_flops_per_sec"] = "no steady throughput"
    if values.get("device") == "cpu":
        missing["peak_share"] = "the job ran on the CPU; the peaks table has GPUs only"
    elif peak is not None:
        fields.update(peak_bandwidth_gbs=peak.bandwidth_gbs,
                      peak_flops_per_sec=peak.fp32_tflops * 1e12 if peak.fp32_tflops else None)
        achieved = fields["achieved_flops_per_sec"]
        if achieved is not None and fields["peak_flops_per_sec"]:
            fields["peak_share"] = achieved / fields["peak_flops_per_sec"]
        if mixed and peak.fp16_tflops and achieved is not None:
            fields["peak_fp16_share"] = achieved / (peak.fp16_tflops * 1e12)
        elif mixed:
            missing["peak_fp16_share"] = f"{peak.title}: {peak.sources.get('fp16', 'no FP16 peak')}"
        if peak.bandwidth_gbs is None:
            missing["peak_bandwidth_gbs"] = f"{peak.title}: no bandwidth figure"
    fields["input_share"], fields["input_bound"], why = _input_share(ok)
    if why:
        missing["input_share"] = why
    fields["warmup_share"], why = _warmup_share(ok, datas, rate)
    if why:
        missing["warmup_share"] = why
    fields["clock_min_mhz"], fields["clock_max_mhz"], fields["clock_source"] = _clocks(ok)
    if fields["clock_source"] is None:
        missing["clock_range"] = "no clock samples (NVML SM clock or Jetson GR3D_FREQ telemetry)"
    if values.get("throttled_share") is None:
        missing["throttled_share"] = ((ok[0].get("unavailable") or {}).get("throttled_share")
                                      or "not recorded by this target's telemetry")
    fields["explain_missing"] = missing
    return fields


def _peak_of(row: ComparisonRow, name: str) -> float | None:
    """The row's peak compute (of the precision it trained in) or bandwidth; None where its peaks
    do not apply (unknown device, a job on the CPU)."""
    model = row.explanation.get("device_model")
    peak = peaks.get(model) if model else None
    if peak is None or row.explanation.get("peak_flops_per_sec") is None:
        return None
    if name == "compute":
        mixed = row.explanation.get("precision") == "mixed fp16"
        return peak.fp16_tflops if mixed and peak.fp16_tflops else peak.fp32_tflops
    return peak.bandwidth_gbs


def against(row: ComparisonRow, base: ComparisonRow | None) -> dict[str, Any]:
    """The peak ratios of `row` over the baseline's, and the verdict (the baseline row of a
    comparison with other sides has none: each other side's verdict speaks for both)."""
    found: dict[str, Any] = {"peak_compute_ratio": None, "bandwidth_ratio": None, "verdict": None}
    missing = dict(row.explanation.get("explain_missing") or {})
    if base is not None and base is not row:
        for field, which in (("peak_compute_ratio", "compute"), ("bandwidth_ratio", "bandwidth")):
            mine, theirs = _peak_of(row, which), _peak_of(base, which)
            if mine and theirs:
                found[field] = mine / theirs
            else:
                missing[field] = "no GPU peak for " + " or ".join(
                    s.side for s, peak in ((base, theirs), (row, mine)) if not peak)
    if base is not row:
        found["verdict"] = verdict(dataclasses.replace(row, explanation={**row.explanation, **found}), base)
    found["explain_missing"] = missing
    return found


def _pct(share: float) -> str:
    return f"{share:.1%}" if share < 0.1 else f"{share:.0%}"


def _x(value: float) -> str:
    return registry.format_value(value, "times")


def _close(a: float, b: float) -> bool:
    return abs(math.log(a / b)) <= math.log(CLOSE)


def _pace(row: ComparisonRow, base: ComparisonRow | None) -> str:
    """What sets the pace, from the shares of peak and the ratios."""
    sides = [s for s in (base, row) if s is not None]
    shares = [s.value("peak_share") for s in sides]
    input_bound = [s.side for s in sides if s.value("input_bound")]
    measured = row.ratios.get("throughput_ratio") if base is not None else None
    compute, bandwidth = row.value("peak_compute_ratio"), row.value("bandwidth_ratio")
    sentences = []
    known = [share for share in shares if share is not None]
    if len(known) == len(shares):
        reach = ", ".join(f"{_pct(s.value('peak_share'))} on {s.side}" for s in sides)
        if max(known) < LOW_SHARE:
            ceiling = math.ceil(max(known) * 100)
            who = "Both sides reach" if len(sides) == 2 else f"{sides[0].side} reaches"
            sentences.append(f"{who} under {ceiling}% of FP32 peak ({reach})")
            if input_bound:
                sentences.append(f"the input pipeline, not the GPU, sets the pace on {' and '.join(input_bound)}")
            else:
                sentences.append("overheads (input, kernel launches, small batches, the host), not the GPU's "
                                 "arithmetic, set the pace")
            if measured and compute:
                sentences.append(f"so the peak-compute ratio {_x(compute)} does not predict the measured "
                                 f"{_x(measured)}")
            return "; ".join(sentences)
        sentences.append(f"Share of FP32 peak: {reach}")
    elif any(share is not None for share in shares):
        known_sides = [s for s in sides if s.value("peak_share") is not None]
        sentences.append("Share of FP32 peak: " + ", ".join(f"{_pct(s.value('peak_share'))} on {s.side}"
                                                          for s in known_sides)
                         + "; unknown elsewhere")
    else:
        reasons = []
        for s in sides:
            missing = s.explanation.get("explain_missing") or {}
            for field in ("flops_per_sample", "device_model", "peak_share"):
                if missing.get(field) and missing[field] not in reasons:
                    reasons.append(missing[field])
        sentences.append("Share of peak unknown (" + "; ".join(reasons or ["no FLOPs or no peak"]) + ")")
    if input_bound:
        sentences.append(f"the input pipeline alone is slower than a training step on {' and '.join(input_bound)}: "
                         "input bound")
    if measured and compute and _close(measured, compute):
        sentences.append(f"the measured ratio {_x(measured)} is close to the peak-compute ratio {_x(compute)}: "
                         "compute bound")
    elif measured and bandwidth and _close(measured, bandwidth):
        sentences.append(f"the measured ratio {_x(measured)} is close to the bandwidth ratio {_x(bandwidth)}: "
                         "memory-bandwidth bound")
    elif measured and (compute or bandwidth):
        peaks_text = " and ".join(t for t in (compute and f"the peak-compute ratio {_x(compute)}",
                                              bandwidth and f"the bandwidth ratio {_x(bandwidth)}") if t)
        sentences.append(f"the measured ratio {_x(measured)} is far from {peaks_text}: neither the GPUs' arithmetic "
                         "nor their memory alone sets it")
    return "; ".join(sentences)


def _warmup(row: ComparisonRow, base: ComparisonRow | None) -> str | None:
    """Why the total speed-up differs from the steady one, when the warm-up shares say so: only
    where the identity total = steady x (1 - w) / (1 - w_base) holds (within CLOSE_TOTAL), which
    it does when both sides trained the same samples."""
    total_ratio, steady = row.ratios.get("total_time_ratio"), row.ratios.get("throughput_ratio")
    if base is None or not total_ratio or not steady:
        return None
    mine, theirs = row.value("warmup_share"), base.value("warmup_share")
    if mine is None or theirs is None or abs(mine - theirs) < WARMUP_GAP or theirs >= 1:
        return None
    total = 1 / total_ratio
    if abs(math.log(steady * (1 - mine) / (1 - theirs) / total)) > math.log(CLOSE_TOTAL):
        return None
    return (f"Time outside the steady rate (warm-up, validation) is {_pct(theirs)} of {base.side}'s training "
            f"and {_pct(mine)} of {row.side}'s, which is why the total speed-up ({_x(total)}) differs from the "
            f"steady one ({_x(steady)})")


def _throttling(row: ComparisonRow, base: ComparisonRow | None) -> str | None:
    hot = [s for s in (base, row) if s is not None and (s.value("throttled_share") or 0) > THROTTLED]
    if not hot:
        return None
    parts = []
    for s in hot:
        low, high = s.value("clock_min_mhz"), s.value("clock_max_mhz")
        clocks = f", clocks {low:.0f}-{high:.0f} MHz" if low is not None else ""
        parts.append(f"{s.side} in {_pct(s.value('throttled_share'))} of its samples{clocks}")
    return "Throttled: " + "; ".join(parts)


def verdict(row: ComparisonRow, base: ComparisonRow | None) -> str:
    """One paragraph: what sets the pace, then warm-up and throttling where they matter."""
    sentences = [_pace(row, base), _warmup(row, base), _throttling(row, base)]
    text = ". ".join(s for s in sentences if s)
    return text + "." if text else ""

