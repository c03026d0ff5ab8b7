"""Peak FP32/FP16 FLOP/s and memory bandwidth of the devices the harness knows (docs/device-peaks.md).

Every figure carries its source. `derived` figures are CUDA cores x 2 (a fused multiply-add)
x the GPU's top clock, from the cited core count and clock; the others are quoted. A target
names its device with `device_model = "jetson-tx2"`, or `device_for` infers it from the facts a
job recorded (NVML's GPU name, the Jetson's /proc/device-tree/model).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

TX2_HF = "https://huggingface.co/hardware/jetson-tx2"
TX2_BW = "https://hmc-tech.com/gpus/nvidia-tegra-x2-vs-nvidia-tegra-switch-2"
TX2_CLOCK = "https://gist.github.com/TerryTsao/fa30ba54e660c51d5c91aafb55715d89"
NANO = "https://cpu-gpu.alldbin.com/graphics-card-comparison/Jetson-TX2-GPU-and-Jetson-Nano-comparison.html"
XNX_HF = "https://huggingface.co/hardware/jetson-xavier-nx"
XNX_TPU = "https://sysrqmts.com/tr/gpus/compare/nvidia-jetson-tx2-gpu-vs-nvidia-jetson-xavier-nx-gpu"
AGX_XAVIER = "https://gist.github.com/discort/2213fcd6a2d408e930d3b53334332f9d"
ORIN_NANO = "https://www.brojogopalsapui.com/ai-foundations/sub_contents/AI_hardware/jetson_orin_nano_light.html"
ORIN_FP16 = "https://llmperf.net/categories/gpu/Nvidia-Jetson"
RTX2080 = "https://cputronic.com/en/gpu/nvidia-geforce-rtx-2080"
RTX2080_BW = "https://en.gamegpu.com/geforce-rtx-2xx-series/geforce-rtx-2080"
TURING_FP16 = "https://fpsbench.com/compare/gpu/s3-graphics-chrome-540-gtx-vs-nvidia-geforce-rtx-2080-max-q"
RTX4090 = "https://waredb.com/processor/nvidia-geforce-rtx-4090"
A100 = "https://glennklockwood.com/garden/processors/A100"
H100 = "https://glennklockwood.com/garden/processors/h100"
H100_BW = "https://archive-lib.hpctech.co.jp/gpuproduct/nvidia-h100.html"
UNVERIFIED = "unverified: NVIDIA's published figure, no source found in this project's reference corpus"


@dataclasses.dataclass(frozen=True)
class Peak:
    name: str                  # the device_model key
    title: str
    fp32_tflops: float | None
    fp16_tflops: float | None  # CUDA-core (vector) FP16, not tensor cores
    bandwidth_gbs: float | None
    sources: dict[str, str]    # figure -> where it comes from
    patterns: tuple[str, ...]  # regexes over recorded GPU / board names

    def public(self) -> dict[str, Any]:
        return {"device_model": self.name, "title": self.title, "fp32_tflops": self.fp32_tflops,
                "fp16_tflops": self.fp16_tflops, "bandwidth_gbs": self.bandwidth_gbs, "sources": dict(self.sources)}


def _derived(cores: int, mhz: float, source: str) -> str:
    return f"derived: {cores} CUDA cores x 2 x {mhz:g} MHz ({source})"


PEAKS = {p.name: p for p in (
    Peak("jetson-tx2", "Jetson TX2 (Pascal GP10B, 256 cores)", 0.666, 1.33, 59.7,
         {"fp32": _derived(256, 1300, f"top GR3D_FREQ 1300 MHz in tegrastats, {TX2_CLOCK}"),
          "fp16": TX2_HF, "bandwidth": TX2_BW},
         (r"jetson[- ]?tx2", r"tegra x2", r"quill", r"storm", r"lightning")),
    Peak("jetson-nano", "Jetson Nano (Maxwell GM20B, 128 cores)", 0.236, 0.472, 25.6,
         {"fp32": _derived(128, 921, NANO), "fp16": "2 x fp32 (Maxwell GM20B: FP16 at 2:1)", "bandwidth": NANO},
         (r"jetson[- ]nano(?! orin)(?!.*orin)", r"tegra x1")),
    Peak("jetson-xavier-nx", "Jetson Xavier NX (Volta, 384 cores)", 0.845, 1.69, 51.2,
         {"fp32": _derived(384, 1100, f"1.69 TFLOPS FP16 at 2:1, {XNX_HF}; TechPowerUp-derived 1377 MHz boost "
                                      f"gives 1.058, {XNX_TPU}"),
          "fp16": XNX_HF, "bandwidth": UNVERIFIED},
         (r"xavier nx", r"xavier-nx")),
    Peak("jetson-agx-xavier", "Jetson AGX Xavier (Volta, 512 cores)", 1.41, 2.82, 137.0,
         {"fp32": _derived(512, 1377, "NVIDIA's top GPU clock; " + UNVERIFIED), "fp16": "2 x fp32 (Volta FP16 2:1)",
          "bandwidth": AGX_XAVIER},
         (r"agx xavier", r"jetson-agx$", r"jetson-agx\b(?!.*orin)", r"galen")),
    Peak("jetson-agx-orin", "Jetson AGX Orin 64GB (Ampere, 2048 cores)", 5.32, 10.65, 204.8,
         {"fp32": _derived(2048, 1300, UNVERIFIED), "fp16": f"2 x fp32, {ORIN_FP16}", "bandwidth": UNVERIFIED},
         (r"agx orin", r"jetson-agx-orin")),
    Peak("jetson-orin-nx", "Jetson Orin NX 16GB (Ampere, 1024 cores)", 1.88, 3.76, 102.4,
         {"fp32": _derived(1024, 918, UNVERIFIED), "fp16": f"2 x fp32, {ORIN_FP16}", "bandwidth": UNVERIFIED},
         (r"orin nx", r"orin-nx")),
    Peak("jetson-orin-nano", "Jetson Orin Nano 8GB (Ampere, 1024 cores; before the Super clocks)", 1.28, 2.56, 68.0,
         {"fp32": _derived(1024, 625, ORIN_NANO), "fp16": f"2 x fp32, {ORIN_FP16}", "bandwidth": ORIN_NANO},
         (r"orin nano", r"orin-nano")),
    Peak("rtx-2080", "GeForce RTX 2080 (Turing TU104, 2944 cores)", 10.07, 20.14, 448.0,
         {"fp32": RTX2080, "fp16": f"2 x fp32 (Turing FP16 2:1, {TURING_FP16})", "bandwidth": RTX2080_BW},
         (r"rtx 2080(?! ?(super|ti))",)),
    Peak("rtx-2080-super", "GeForce RTX 2080 Super (Turing TU104, 3072 cores)", 11.15, 22.30, 496.0,
         {"fp32": _derived(3072, 1815, UNVERIFIED), "fp16": "2 x fp32 (Turing FP16 2:1)", "bandwidth": UNVERIFIED},
         (r"rtx 2080 ?super",)),
    Peak("rtx-4090", "GeForce RTX 4090 (Ada AD102, 16384 cores)", 82.58, 82.58, 1008.0,
         {"fp32": RTX4090, "fp16": RTX4090, "bandwidth": RTX4090}, (r"rtx 4090",)),
    Peak("a100-40gb", "A100 40GB (SXM4)", 19.5, None, 1555.0,
         {"fp32": A100, "fp16": "vector FP16 not quoted by the source (tensor FP16: 312)", "bandwidth": A100},
         (r"a100.*40gb", r"a100-(sxm4|pcie)-40")),
    Peak("a100-80gb", "A100 80GB (SXM4)", 19.5, None, 2039.0,
         {"fp32": A100, "fp16": "vector FP16 not quoted by the source (tensor FP16: 312)", "bandwidth": A100},
         (r"a100.*80gb", r"a100-(sxm4|pcie)-80")),
    Peak("h100-sxm", "H100 SXM5 80GB", 66.9, 133.8, 3350.0,
         {"fp32": H100, "fp16": H100, "bandwidth": H100_BW}, (r"h100 80gb hbm3", r"h100 sxm", r"h100-sxm")),
    Peak("h100-pcie", "H100 PCIe 80GB", 51.0, None, 2000.0,
         {"fp32": H100_BW, "fp16": "not quoted by the source", "bandwidth": H100_BW}, (r"h100 pcie", r"h100-pcie")),
)}


def get(name: str) -> Peak | None:
    return PEAKS.get(name)


def infer(names: list[str]) -> Peak | None:
    """The first device whose patterns match one of the recorded names (GPU names, board model)."""
    for text in names:
        lowered = str(text).lower().replace("_", " ").strip("\x00 ")
        for peak in PEAKS.values():
            if any(re.search(pattern, lowered) for pattern in peak.patterns):
                return peak
    return None


def recorded_names(result: dict[str, Any]) -> list[str]:
    """GPU and board names anywhere in a result's telemetry facts (gpu_model, gpus[].name, board)."""
    found: list[str] = []

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for inner_key, inner in value.items():
                walk(inner, inner_key)
        elif isinstance(value, list):
            for inner in value:
                walk(inner, key)
        elif isinstance(value, str) and key in ("gpu_model", "board", "name", "model") and value:
            found.append(value)

    walk(result.get("telemetry") or {})
    return found


def device_for(manifest: dict[str, Any], result: dict[str, Any]) -> tuple[Peak | None, str]:
    """The run's device and how it was found: `device_model` of the target, else inferred."""
    named = (manifest.get("target") or {}).get("device_model")
    if named:
        peak = get(named)
        return (peak, "target device_model") if peak else (None, f"unknown device_model {named!r}")
    peak = infer(recorded_names(result))
    return (peak, "inferred from recorded GPU/board names") if peak else (None, "no device recorded or known")


def _figure(value: float | None, source: str) -> str:
    return f"{'-' if value is None else f'{value:g}'} ({source})"


def markdown_table() -> str:
    """The table docs/device-peaks.md shows (a test checks the page holds exactly this)."""
    lines = ["| device_model | device | FP32 TFLOP/s (source) | FP16 TFLOP/s (source) | bandwidth GB/s (source) |",
             "| --- | --- | --- | --- | --- |"]
    for peak in PEAKS.values():
        cells = [f"`{peak.name}`", peak.title, _figure(peak.fp32_tflops, peak.sources["fp32"]),
                 _figure(peak.fp16_tflops, peak.sources["fp16"]), _figure(peak.bandwidth_gbs, peak.sources["bandwidth"])]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
