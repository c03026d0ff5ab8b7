"""Rows for people: shared by the terminal tables and the Markdown/CSV files."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.markup import escape
from rich.table import Table

from .. import registry
from ..compare import Comparison
from ..comparison_row import ComparisonRow
from ..results import StoredRun
from . import words


def _metric(header: str, field: str) -> tuple[str, str, str | None]:
    """A column of a registered value, in the registry's format."""
    return header, field, registry.get(field).fmt


# (header, field, format): None shows the text as it is
RUN_COLUMNS = (("job", "label", None), ("status", "status", None),
               _metric("samples/s", "samples_per_sec"), _metric("first epoch s", "first_epoch_seconds"),
               _metric("steady epoch s", "steady_epoch_seconds"), _metric("accuracy", "final_accuracy"),
               _metric("val accuracy", "final_val_accuracy"), _metric("peak RSS MB", "peak_rss_mb"),
               _metric("container MB", "peak_container_memory_mb"))
COMPARE_COLUMNS = (("job", "label", None), ("side", "side", None), ("status", "status", None),
                   ("repeats", "repeats_text", None),
                   _metric("samples/s", "samples_per_sec"), ("95% CI", "samples_per_sec_ci", None),
                   _metric("process cv", "process_cv"),
                   ("throughput x", "throughput_x", None), _metric("steady epoch s", "steady_epoch_seconds"),
                   ("total speed-up", "total_speedup", None), ("first epoch speed-up", "first_epoch_speedup", None),
                   ("steady epoch speed-up", "steady_epoch_speedup", None),
                   # step times in ms: derived here, not registered
                   ("step p50 ms", "step_ms_median", ".2f"), ("step p95 ms", "step_ms_p95", ".2f"),
                   ("outliers", "step_outliers", None), _metric("val accuracy", "final_val_accuracy"),
                   _metric("samples/J", "samples_per_joule"), ("samples/J x", "samples_per_joule_x", None),
                   _metric("samples/s/$", "samples_per_sec_per_usd"), ("samples/s/$ x", "perf_per_dollar_x", None),
                   ("differs", "differs", None))
# text cells that hold numbers (right-aligned in HTML)
NUMERIC_TEXT = ("repeats", "95% CI", "throughput x", "total speed-up", "first epoch speed-up",
                "steady epoch speed-up", "samples/J x", "samples/s/$ x")
SINGLE_RUN_DROPS = ("side", "throughput x", "total speed-up", "first epoch speed-up", "steady epoch speed-up",
                    "samples/J x", "samples/s/$ x")
TERMINAL_DROPS = ("steady epoch s", "step p50 ms", "samples/s/$", "steady epoch speed-up", "process cv", "samples/J")

# the explanation (harness/explain.py): one row per job and side
EXPLAIN_COLUMNS = (("job", "label", None), ("side", "side", None), ("device", "device_model", None),
                   _metric("FLOPs/sample", "flops_per_sample"), _metric("achieved", "achieved_flops_per_sec"),
                   _metric("of FP32 peak", "peak_share"), _metric("of FP16 peak", "peak_fp16_share"),
                   ("steady x", "steady_x", None), _metric("peak-compute x", "peak_compute_ratio"),
                   _metric("bandwidth x", "bandwidth_ratio"), _metric("input/step", "input_share"),
                   _metric("warm-up", "warmup_share"), _metric("throttled", "throttled_share"),
                   ("clocks MHz", "clocks_text", None))
EXPLAIN_ALWAYS = ("job", "side", "device")
EXPLAIN_TERMINAL_DROPS = ("FLOPs/sample",)
# what explain_missing's keys are called in the reports
MISSING_NAMES = {"device_model": "device", "flops_per_sample": "FLOPs/sample", "achieved_flops_per_sec": "achieved",
                 "peak_share": "of FP32 peak", "peak_fp16_share": "of FP16 peak", "peak_bandwidth_gbs": "bandwidth",
                 "peak_compute_ratio": "peak-compute x", "bandwidth_ratio": "bandwidth x",
                 "input_share": "input/step", "warmup_share": "warm-up", "throttled_share": "throttled",
                 "clock_range": "clocks", "explanation": "explanation"}


def ratio_text(row: ComparisonRow, name: str = "throughput_ratio") -> str | None:
    """A ratio as `18.0x [16.2-19.9x]`, `~1.02x [...]` when not significant, `withheld` when refused;
    None if absent."""
    if row.ratios.get(name) is None:
        return "withheld" if row.ratio_withheld else None
    return words.ratio_with_interval(row, name)


def speedup_text(row: ComparisonRow, name: str) -> str | None:
    """A time ratio as the speed-up it means (baseline time / side time), with its interval."""
    if row.ratios.get(name) is None:
        return "withheld" if row.ratio_withheld else None
    return words.speedup_with_interval(row, name)


def _milliseconds(seconds: float | None) -> float | None:
    return seconds * 1000 if seconds is not None else None


def display_rows(comparison: Comparison) -> list[dict[str, Any]]:
    """Comparison rows, flat (to_json), with the derived text fields the tables show."""
    rows = []
    for row in comparison.rows:
        low, high = row.value("samples_per_sec_ci_low"), row.value("samples_per_sec_ci_high")
        ms = {f"step_ms_{q}": _milliseconds(row.value(f"step_seconds_{q}")) for q in ("median", "p95")}
        repeats = "1 only" if row.single_repeat else f"{row.repeats_ok}/{row.repeats}"
        rows.append({**row.to_json(), **ms, "throughput_x": ratio_text(row), "repeats_text": repeats,
                     "total_speedup": speedup_text(row, "total_time_ratio"),
                     "first_epoch_speedup": speedup_text(row, "first_epoch_ratio"),
                     "steady_epoch_speedup": speedup_text(row, "steady_epoch_ratio"),
                     "samples_per_joule_x": ratio_text(row, "samples_per_joule_ratio"),
                     "perf_per_dollar_x": ratio_text(row, "perf_per_dollar_ratio"),
                     "samples_per_sec_ci": (f"{registry.fmt('samples_per_sec_ci_low', low)}-"
                                            f"{registry.fmt('samples_per_sec_ci_high', high)}"
                                            if low is not None else None),
                     "differs": row.differs or None})
    return rows


def explanation_rows(comparison: Comparison) -> list[dict[str, Any]]:
    """Comparison rows, flat (to_json), with the explanation's text cells."""
    rows = []
    for row in comparison.rows:
        low, high = row.value("clock_min_mhz"), row.value("clock_max_mhz")
        steady = row.ratios.get("throughput_ratio")
        rows.append({**row.to_json(), "steady_x": None if row.side == comparison.sides[0] or steady is None
                     else words.mark(row, "throughput_ratio") + words.times(steady),
                     "clocks_text": (f"{registry.fmt('clock_min_mhz', low)}-{registry.fmt('clock_max_mhz', high)}"
                                     if low is not None else None)})
    return rows


def explanation_columns(comparison: Comparison):
    rows = explanation_rows(comparison)
    return tuple(c for c in EXPLAIN_COLUMNS
                 if c[0] in EXPLAIN_ALWAYS or any(r.get(c[1]) is not None for r in rows))


def verdicts(comparison: Comparison) -> list[str]:
    """'edge, mnist_mlp dropout=0.2: <verdict>' for each row that has one."""
    return [f"{row.side}, {row.label}: {row.explanation['verdict']}" for row in comparison.rows
            if row.explanation.get("verdict")]


def missing_reasons(comparison: Comparison) -> list[str]:
    """Why explanation cells are empty: one line per field and reason, naming the rows."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for row in comparison.rows:
        for field, reason in (row.explanation.get("explain_missing") or {}).items():
            grouped.setdefault((field, reason), []).append(f"{row.side} {row.label}")
    return [f"{MISSING_NAMES.get(field, field)} ({', '.join(where)}): {reason}"
            for (field, reason), where in grouped.items()]


def compare_columns(comparison: Comparison):
    """The comparison columns that have a value somewhere; a single run has no sides and no ratios."""
    rows = display_rows(comparison)
    columns = [c for c in COMPARE_COLUMNS if c[0] in ("job", "status") or any(r.get(c[1]) is not None for r in rows)]
    if len(comparison.sides) == 1:
        columns = [c for c in columns if c[0] not in SINGLE_RUN_DROPS]
    return tuple(columns)


def run_rows(run: StoredRun) -> list[dict[str, Any]]:
    """One flat row per job result: identity, status, error and scalar metrics."""
    rows = []
    for result in run.results:
        scalars = {k: v for k, v in result["metrics"].items() if not isinstance(v, (list, dict))}
        rows.append({"run_id": run.run_id, "target": run.target, "key": result["key"], "dir": result["dir"],
                     "label": result["label"], "repeat": result["repeat"], "status": result["status"],
                     "error": result.get("error"), **scalars})
    return rows


def cell(value: Any, field: str, spec: str | None) -> str:
    """A cell in its column's format (an `si` one prefixes the field's registered unit)."""
    return registry.format_value(value, spec, registry.unit(field) if spec == "si" else "")


def formatted(rows: list[dict[str, Any]], columns) -> tuple[list[str], list[list[str]]]:
    return [c[0] for c in columns], [[cell(row.get(field), field, spec) for _, field, spec in columns] for row in rows]


def rich_table(title: str, rows: list[dict[str, Any]], columns) -> Table:
    header, body = formatted(rows, columns)
    table = Table(title=escape(title))
    for name in header:
        table.add_column(name, justify="left" if name in ("job", "side", "status") else "right",
                         min_width=min(24, max(len(line[0]) for line in body)) if name == "job" and body else None)
    for line in body:
        table.add_row(*(escape(text) for text in line))
    return table


def run_table(run: StoredRun) -> Table:
    return rich_table(f"run {run.run_id} on {run.target} ({run.status})", run_rows(run), RUN_COLUMNS)


def explanation_table(comparison: Comparison) -> Group:
    """The explanation table and its verdicts, for the terminal (report.md lists why cells are empty)."""
    columns = tuple(c for c in explanation_columns(comparison) if c[0] not in EXPLAIN_TERMINAL_DROPS)
    table = rich_table("Explanation (docs/explain.md; why cells are empty: report.md)", explanation_rows(comparison),
                       columns)
    return Group(table, *(escape(line) for line in verdicts(comparison)))


def comparison_table(comparison: Comparison) -> Group:
    if len(comparison.sides) == 1:
        title = f"run {comparison.runs[0]['run_id']} on {comparison.runs[0]['target']} ({comparison.runs[0]['status']})"
    else:
        title = (f"{' vs '.join(comparison.sides)} (ratios: side / {comparison.sides[0]}; times as speed-ups; "
                 f"~ not significant: the 95% interval does not exclude 1 by more than {comparison.noise:.0%})")
    # the terminal is narrower than a report: the files keep the columns dropped here
    drops = TERMINAL_DROPS if len(comparison.sides) > 1 else ()
    columns = tuple(c for c in compare_columns(comparison) if c[0] not in drops)
    return Group(rich_table(title, display_rows(comparison), columns), explanation_table(comparison))
