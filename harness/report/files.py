"""Report files: Markdown and CSV for one run; summary.csv and summary.json for a comparison."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd

from ..compare import Comparison
from ..results import StoredRun
from .tables import RUN_COLUMNS, formatted, run_rows


def markdown_table(header: list[str], body: list[list[str]]) -> str:
    def line(cells):
        return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
    return "\n".join([line(header), line(["---"] * len(header)), *(line(row) for row in body)])


def run_markdown(run: StoredRun) -> str:
    manifest = run.manifest
    header, body = formatted(run_rows(run), RUN_COLUMNS)
    failures = [f"- **{r['label']}** ({r['status']}): {r.get('error') or 'no message'}"
                for r in run.results if r["status"] != "ok"]
    host = manifest.get("host", {})
    parts = [
        f"# Run {run.run_id}",
        "",
        f"- target: `{run.target}` ({manifest['target'].get('notes') or 'no notes'})",
        f"- suite: `{manifest['suite']['name']}`; status: **{run.status}**",
        f"- started {manifest.get('created')}, finished {manifest.get('finished') or '-'}",
        f"- host: {host.get('cpu')} x{host.get('cpu_cores')}, {host.get('memory_gb')} GB, Python {host.get('python')}",
        "",
        markdown_table(header, body),
        "",
        "Samples/s is steady-state throughput (warm-up excluded); epoch times in seconds.",
    ]
    if failures:
        parts += ["", "## Jobs that did not finish ok", "", *failures]
    return "\n".join(parts) + "\n"


def write_run_report(run: StoredRun, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    markdown, table = out_dir / "report.md", out_dir / "report.csv"
    markdown.write_text(run_markdown(run))
    pd.DataFrame(run_rows(run)).to_csv(table, index=False)
    return [markdown, table]


def write_comparison(comparison: Comparison, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    summary_csv, summary_json = out_dir / "summary.csv", out_dir / "summary.json"
    pd.DataFrame(comparison.rows).to_csv(summary_csv, index=False)
    summary_json.write_text(json.dumps(dataclasses.asdict(comparison), indent=2, sort_keys=True) + "\n")
    return [summary_csv, summary_json]
