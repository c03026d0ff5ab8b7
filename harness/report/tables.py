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
                   ("samples/s", "samples_per_sec", ".1f"), ("throughput x", "throughput_ratio", ".2f"),
                   ("first epoch s", "first_epoch_seconds", ".2f"), ("steady epoch s", "steady_epoch_seconds", ".2f"),
                   ("steady epoch x", "steady_epoch_ratio", ".2f"), ("total time x", "total_time_ratio", ".2f"),
                   ("val accuracy", "final_val_accuracy", ".4f"))


def cell(value: Any, spec: str | None) -> str:
    if value is None:
        return "-"
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
        table.add_column(name, justify="left" if name in ("job", "side", "status") else "right")
    for line in body:
        table.add_row(*(escape(text) for text in line))
    return table


def run_table(run: StoredRun) -> Table:
    return rich_table(f"run {run.run_id} on {run.target} ({run.status})", run_rows(run), RUN_COLUMNS)


def comparison_table(comparison: Comparison) -> Table:
    title = f"{' vs '.join(comparison.sides)} (ratios: side / {comparison.sides[0]})"
    return rich_table(title, comparison.rows, COMPARE_COLUMNS)
