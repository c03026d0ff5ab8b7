"""Rows for people: shared by the terminal tables and the Markdown/CSV files."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from ..compare import Comparison
from ..results import StoredRun

RUN_COLUMNS = (("job", "label", None), ("status", "status", None),
               ("samples/s", "samples_per_sec", ".1f"), ("first epoch s", "first_epoch_seconds", ".2f"),
               ("steady epoch s", "steady_epoch_seconds", ".2f"), ("accuracy", "final_accuracy", ".4f"),
               ("val accuracy", "final_val_accuracy", ".4f"), ("peak RSS MB", "peak_rss_mb", ".0f"),
               ("container MB", "peak_container_memory_mb", ".0f"))
COMPARE_COLUMNS = (("job", "label", None), ("side", "side", None), ("status", "status", None),
                   ("samples/s", "samples_per_sec", ".1f"), ("95% CI", "samples_per_sec_ci", None),
                   ("throughput x", "throughput_x", None), ("steady epoch s", "steady_epoch_seconds", ".2f"),
                   ("steady epoch x", "steady_epoch_ratio", "ratio"), ("total time x", "total_time_ratio", "ratio"),
                   ("step p50 ms", "step_ms_median", ".2f"), ("step p95 ms", "step_ms_p95", ".2f"),
                   ("outliers", "step_outliers", None), ("val accuracy", "final_val_accuracy", ".4f"),
                   ("samples/J", "samples_per_joule", ".1f"), ("samples/s/$", "samples_per_sec_per_usd", ".2f"),
                   ("differs", "differs", None))
SINGLE_RUN_DROPS = ("side", "throughput x", "steady epoch x", "total time x")
TERMINAL_DROPS = ("steady epoch s", "step p50 ms", "samples/s/$")


def ratio_text(row: dict[str, Any], name: str = "throughput_ratio") -> str | None:
    """A ratio as `18.00x`, `~1.02x` when the CIs overlap, `withheld` when refused; None if absent."""
    value = row.get(name)
    if value is None:
        return "withheld" if row.get("ratio_withheld") else None
    mark = "~" if name == "throughput_ratio" and row.get("throughput_significant") is False else ""
    return f"{mark}{cell(value, 'ratio')}x"


def display_rows(comparison: Comparison) -> list[dict[str, Any]]:
    """Comparison rows with the derived text fields the tables show."""
    rows = []
    for row in comparison.rows:
        low, high = row.get("samples_per_sec_ci_low"), row.get("samples_per_sec_ci_high")
        ms = {f"step_ms_{q}": row[f"step_seconds_{q}"] * 1000 if row.get(f"step_seconds_{q}") is not None else None
              for q in ("median", "p95")}
        rows.append({**row, **ms, "throughput_x": ratio_text(row),
                     "samples_per_sec_ci": f"{low:.1f}-{high:.1f}" if low is not None else None,
                     "differs": row.get("differs") or None})
    return rows


def compare_columns(comparison: Comparison):
    """The comparison columns that have a value somewhere; a single run has no sides and no ratios."""
    rows = display_rows(comparison)
    columns = [c for c in COMPARE_COLUMNS if c[0] in ("job", "status") or any(r.get(c[1]) is not None for r in rows)]
    if len(comparison.sides) == 1:
        columns = [c for c in columns if c[0] not in SINGLE_RUN_DROPS]
    return tuple(columns)


def cell(value: Any, spec: str | None) -> str:
    if value is None:
        return "-"
    if spec == "ratio":
        return format(value, ".2f" if abs(value) >= 0.1 else ".3g")
    return format(value, spec) if spec else str(value)


def run_rows(run: StoredRun) -> list[dict[str, Any]]:
    """One flat row per job result: identity, status, error and scalar metrics."""
    rows = []
    for result in run.results:
        scalars = {k: v for k, v in result["metrics"].items() if not isinstance(v, (list, dict))}
        rows.append({"run_id": run.run_id, "target": run.target, "key": result["key"], "dir": result["dir"],
                     "label": result["label"], "repeat": result["repeat"], "status": result["status"],
                     "error": result.get("error"), **scalars})
    return rows


def formatted(rows: list[dict[str, Any]], columns) -> tuple[list[str], list[list[str]]]:
    return [c[0] for c in columns], [[cell(row.get(field), spec) for _, field, spec in columns] for row in rows]


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


def comparison_table(comparison: Comparison) -> Table:
    if len(comparison.sides) == 1:
        title = f"run {comparison.runs[0]['run_id']} on {comparison.runs[0]['target']} ({comparison.runs[0]['status']})"
    else:
        title = f"{' vs '.join(comparison.sides)} (ratios: side / {comparison.sides[0]}; ~ CIs overlap)"
    # the terminal is narrower than a report: the files keep the columns dropped here
    drops = TERMINAL_DROPS if len(comparison.sides) > 1 else ()
    columns = tuple(c for c in compare_columns(comparison) if c[0] not in drops)
    return rich_table(title, display_rows(comparison), columns)
