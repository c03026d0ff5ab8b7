"""report.md for a Comparison (several runs, or one run via `harness report`)."""

from __future__ import annotations

from typing import Any

from ..compare import Comparison
from .tables import cell, compare_columns, display_rows, formatted

NOTES = (
    "samples/s: steady-state throughput (warm-up excluded: the first epoch, or the first 5 steps of a single "
    "one), pooled over ok repeats, with a 95% block-bootstrap CI. A ratio is side / baseline; `~` marks a "
    "throughput ratio whose two CIs overlap (not significant). Step times: median and p95 after warm-up; "
    "outliers: steady steps with modified z-score |0.6745 (x - median) / MAD| > 3.5. "
    "`withheld`: no speed ratio, because a side was emulated or used another dataset (see below; `--force`)."
)


def markdown_table(header: list[str], body: list[list[str]]) -> str:
    def line(cells):
        return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
    return "\n".join([line(header), line(["---"] * len(header)), *(line(row) for row in body)])


def _x(value: float | None) -> str:
    return "-" if value is None else f"{cell(value, 'ratio')}x"


def headline(comparison: Comparison) -> list[str]:
    """One sentence per job and side against the baseline: the seed's conclusion, with its CI."""
    if len(comparison.sides) < 2:
        return []
    base_rows = {row["key"]: row for row in comparison.rows if row["side"] == comparison.sides[0]}
    lines = []
    for row in comparison.rows:
        base = base_rows[row["key"]]
        if row is base:
            continue
        if row.get("ratio_withheld"):
            lines.append(f"{row['label']}: {row['side']} vs {base['side']}: speed ratios withheld "
                         f"({row['ratio_withheld']})")
            continue
        text = f"{row['label']}: {row['side']} trained at {_x(row.get('throughput_ratio'))} the steady throughput of {base['side']}"
        if row.get("throughput_ratio_ci_low") is not None:
            verdict = "significant" if row.get("throughput_significant") else "not significant: the CIs overlap"
            text += f" (95% CI {_x(row['throughput_ratio_ci_low'])}-{_x(row['throughput_ratio_ci_high'])}, {verdict})"
        text += (f"; total training time {_x(row.get('total_time_ratio'))}, steady epoch "
                 f"{_x(row.get('steady_epoch_ratio'))}; val accuracy {cell(row.get('final_val_accuracy'), '.4f')} "
                 f"vs {cell(base.get('final_val_accuracy'), '.4f')}")
        if row.get("perf_per_dollar_ratio") is not None:
            text += f"; samples/s per dollar {_x(row['perf_per_dollar_ratio'])}"
        if row.get("samples_per_joule_ratio") is not None:
            text += f"; samples per joule {_x(row['samples_per_joule_ratio'])}"
        lines.append(text)
    return lines


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
    body = [[label, fact, *(str(v) for v in values)]
            for label, facts in comparison.differences.items() for fact, values in facts.items()]
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
    parts += [markdown_table(header, body), "", NOTES, ""]
    parts += _differences_section(comparison) + [""]
    parts += _withheld_section(comparison)
    only = [f"- only in {side}: {', '.join(labels)}" for side, labels in comparison.only_in.items() if labels]
    if only:
        parts += ["", "## Jobs not on every side", "", *only]
    if errors:
        parts += ["", "## Jobs that did not finish ok", "",
                  *(f"- **{label}**: {error or 'no message'}" for label, error in errors.items())]
    return "\n".join(parts).rstrip() + "\n"
