"""report.md for a Comparison (several runs, or one run via `harness report`)."""

from __future__ import annotations

from typing import Any

from .. import registry
from ..compare import Comparison
from ..comparison_row import ComparisonRow
from . import words
from .tables import (compare_columns, display_rows, explanation_columns, explanation_rows, formatted,
                     missing_reasons, verdicts)
from .words import headline  # noqa: F401  (the CLI prints it under the table)


def markdown_table(header: list[str], body: list[list[str]]) -> str:
    def line(cells):
        return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
    return "\n".join([line(header), line(["---"] * len(header)), *(line(row) for row in body)])


def statistics_rows(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    """The spread between processes per job and side: what the intervals rest on."""
    header = ["job", "side", "repeats ok", "interval", "process cv", "process samples/s min-max", "repeats needed"]
    body = [[row.label, str(row.side), f"{row.repeats_ok}/{row.repeats}", row.value("interval_scope") or "none",
             registry.fmt("process_cv", row.value("process_cv")), _process_range(row),
             registry.fmt("repeats_needed", row.value("repeats_needed"))]
            for row in comparison.rows]
    return header, body


def _process_range(row: ComparisonRow) -> str:
    """'812.3-845.0': the slowest and fastest process's samples/s."""
    low, high = row.value("process_samples_per_sec_min"), row.value("process_samples_per_sec_max")
    if low is None:
        return "-"
    return f"{registry.fmt('process_samples_per_sec_min', low)}-{registry.fmt('process_samples_per_sec_max', high)}"


def _statistics_section(comparison: Comparison) -> list[str]:
    header, body = statistics_rows(comparison)
    return ["## Between-process spread", "", markdown_table(header, body), "",
            f"repeats needed: processes per side for a 95% throughput interval within the {comparison.noise:.0%} "
            "noise band, from the measured process cv (5% assumed where a side ran once)."]


def _explanation_section(comparison: Comparison) -> list[str]:
    header, body = formatted(explanation_rows(comparison), explanation_columns(comparison))
    parts = ["## Explanation", "", markdown_table(header, body), "", *(f"- {line}" for line in verdicts(comparison))]
    reasons = missing_reasons(comparison)
    if reasons:
        parts += ["", "Empty cells, and why:", "", *(f"- {line}" for line in reasons)]
    return parts + ["", EXPLAIN_LEGEND]


EXPLAIN_LEGEND = ("achieved: FLOPs per sample (benchmarks/flops.py) x steady samples/s; of FP32 peak: achieved / "
                  "the device's peak (docs/device-peaks.md); peak-compute x and bandwidth x: the side's peak over "
                  "the baseline's; input/step: the input pipeline alone, per batch, over a steady step; warm-up: "
                  "share of the training time not spent at the steady rate; throttled: share of telemetry samples "
                  "with a throttle reason; docs/explain.md says how the verdict is chosen.")


def _single_repeat_section(comparison: Comparison) -> list[str]:
    lines = words.single_repeat_sides(comparison)
    if not lines:
        return []
    return ["**One repeat is not enough**: these intervals cover the noise within one process only, not what a "
            "rerun would give.", "", *(f"- {line}" for line in lines), ""]


def _runs_section(comparison: Comparison) -> list[str]:
    header = ["side", "run", "target", "status", "created", "emulated", "imported", "price USD", "notes"]
    body = [[str(r["side"]), f"`{r['run_id']}`", str(r["target"]), str(r["status"]), str(r["created"] or "-"),
             "yes" if r["emulated"] else "no", "yes" if r.get("imported") else "no",
             "-" if r.get("price_usd") is None else f"{r['price_usd']:g}", r.get("notes") or "-"]
            for r in comparison.runs]
    return [markdown_table(header, body)]


def _differences_section(comparison: Comparison) -> list[str]:
    if not comparison.differences:
        if len(comparison.sides) == 1:
            return []
        return [("Environment: the same on every side (TF, Keras, CUDA, Python, batch size, image size, "
                 "dataset, device, power mode, emulation).")]
    body = [[label, name, *(str(v) for v in values)]
            for label, environment in comparison.differences.items() for name, values in environment.items()]
    return ["## Environment differences", "", markdown_table(["job", "fact", *comparison.sides], body)]


def _withheld_section(comparison: Comparison) -> list[str]:
    if comparison.forced:
        return ["**Forced** (`--force`): speed ratios are shown even where a side was emulated or used another dataset."]
    if not comparison.withheld:
        return []
    lines = [f"- {w['label']} on {w['side']}: {'; '.join(w['reasons'])}" for w in comparison.withheld]
    return ["## Speed ratios withheld", "", *lines, "", "Run `harness compare ... --force` to compute them anyway."]


def comparison_markdown(comparison: Comparison, errors: dict[str, Any] | None = None) -> str:
    """The whole report; `errors` maps job labels to the error of a job that did not end ok."""
    single = len(comparison.sides) == 1
    title = (f"# Run {comparison.runs[0]['run_id']}" if single
             else f"# {' vs '.join(comparison.sides)} (baseline {comparison.sides[0]})")
    header, body = formatted(display_rows(comparison), compare_columns(comparison))
    parts = [title, "", *_runs_section(comparison), ""]
    if headline(comparison):
        parts += [*(f"- {line}" for line in headline(comparison)), ""]
    parts += _single_repeat_section(comparison)
    parts += [markdown_table(header, body), "", words.legend(comparison), ""]
    parts += _statistics_section(comparison) + [""]
    parts += _explanation_section(comparison) + [""]
    parts += _differences_section(comparison) + [""]
    parts += _withheld_section(comparison)
    only = [f"- only in {side}: {', '.join(labels)}" for side, labels in comparison.only_in.items() if labels]
    if only:
        parts += ["", "## Jobs not on every side", "", *only]
    if errors:
        parts += ["", "## Jobs that did not finish ok", "",
                  *(f"- **{label}**: {error or 'no message'}" for label, error in errors.items())]
    return "\n".join(parts).rstrip() + "\n"
