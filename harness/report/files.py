"""Report files: summary.csv, summary.json, report.md and report.html for a comparison, and the
same for one run (a comparison with one side) plus report.csv (one row per job result)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from ..compare import Comparison, compare
from ..comparison_row import ComparisonRow
from ..errors import EnvironmentFailure, UsageError
from ..results import DISK_ERRNOS, StoredRun
from . import plots
from .html import comparison_html
from .markdown import comparison_markdown
from .tables import run_rows


def _finite(value: Any) -> Any:
    """NaN and infinities (a diverged loss) become null: strict JSON has no spelling for them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _flat(row: ComparisonRow) -> dict[str, Any]:
    """A row for summary.csv: explain_missing ({field: reason}) as 'field: reason; ...'."""
    missing = row.explanation.get("explain_missing") or {}
    return {**row.to_json(), "explain_missing": "; ".join(f"{k}: {v}" for k, v in missing.items()) or None}


def summary_json(comparison: Comparison) -> str:
    return json.dumps(_finite(comparison.to_json()), indent=2, sort_keys=True, allow_nan=False) + "\n"


def _errors(runs: list[StoredRun]) -> dict[str, str]:
    return {f"{r['label']} ({run.run_id}, {r['status']})": r.get("error") or "no message"
            for run in runs for r in run.results if r["status"] != "ok"}


def write_comparison(comparison: Comparison, out_dir: Path, runs: list[StoredRun]) -> list[Path]:
    """summary.csv, summary.json, report.md, report.html in out_dir."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as error:  # a full or read-only disk is the machine's failure (exit 3), a bad --out the input's
        failure = EnvironmentFailure if error.errno in DISK_ERRNOS else UsageError
        raise failure(f"cannot write to {out_dir}: {error.strerror or error}") from None
    paths = {name: out_dir / name for name in ("summary.csv", "summary.json", "report.md", "report.html")}
    pd.DataFrame([_flat(row) for row in comparison.rows]).to_csv(paths["summary.csv"], index=False)
    paths["summary.json"].write_text(summary_json(comparison))
    errors = _errors(runs)
    paths["report.md"].write_text(comparison_markdown(comparison, errors))
    paths["report.html"].write_text(comparison_html(comparison, plots.figures(comparison, runs), errors))
    return list(paths.values())


def write_run_report(run: StoredRun, out_dir: Path) -> tuple[Comparison, list[Path]]:
    """The comparison renderers over one run, and report.csv with every job result."""
    comparison = compare([run])
    paths = write_comparison(comparison, out_dir, [run])
    table = out_dir / "report.csv"
    pd.DataFrame(run_rows(run)).to_csv(table, index=False)
    return comparison, [*paths, table]
