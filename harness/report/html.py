"""report.html: one self-contained file (plots embedded as PNG data URIs, no external assets).

Every string that comes from results (target names, labels, errors, versions) is escaped with
html.escape; the only script is a fixed inline one that marks the page once every image has
decoded (the browser test reads `data-images` back from the DOM)."""

from __future__ import annotations

import base64
import html
from typing import Any

from ..compare import Comparison
from . import words
from .markdown import EXPLAIN_LEGEND, statistics_rows
from .tables import (NUMERIC_TEXT, compare_columns, display_rows, explanation_columns, explanation_rows, formatted,
                     missing_reasons, verdicts)

STYLE = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;font-size:13px;margin:1em 0}th,td{border:1px solid #ccc;padding:3px 6px}
td.num{text-align:right}th{background:#f3f3f3}figure{margin:1.5em 0}img{max-width:100%}
figcaption{font-size:13px;color:#555}.note{font-size:13px;color:#444;max-width:60em}
.headline li{font-size:16px;margin:.3em 0}.warn{color:#a40;font-weight:500}"""
# runs after load: counts images that decoded (naturalWidth > 0) and records it on <body>
SCRIPT = """window.addEventListener('load', function () {
  var images = Array.prototype.slice.call(document.images);
  var ok = images.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-images', ok + '/' + images.length);
});"""


def _e(value: Any) -> str:
    return html.escape("-" if value is None else str(value), quote=True)


def _table(header: list[str], body: list[list[str]], numeric: frozenset[int] | set[int] = frozenset()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    rows = "".join("<tr>" + "".join(f'<td class="num">{_e(c)}</td>' if i in numeric else f"<td>{_e(c)}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in body)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _sections(comparison: Comparison, errors: dict[str, Any]) -> list[str]:
    runs = [[r["side"], r["run_id"], r["target"], r["status"], r["created"], "yes" if r["emulated"] else "no",
             "yes" if r.get("imported") else "no", r.get("price_usd"), r.get("notes")] for r in comparison.runs]
    parts = [_table(["side", "run", "target", "status", "created", "emulated", "imported", "price USD", "notes"], runs)]
    lines = words.headline(comparison)
    if lines:
        parts.append('<ul class="headline">' + "".join(f"<li>{_e(line)}</li>" for line in lines) + "</ul>")
    once = words.single_repeat_sides(comparison)
    if once:
        parts.append('<p class="warn"><b>One repeat is not enough</b>: these intervals cover the noise within one '
                     "process only, not what a rerun would give.</p>"
                     "<ul>" + "".join(f"<li>{_e(line)}</li>" for line in once) + "</ul>")
    columns = compare_columns(comparison)
    header, body = formatted(display_rows(comparison), columns)
    parts += [_table(header, body, {i for i, c in enumerate(columns) if c[2] or c[0] in NUMERIC_TEXT}),
              f'<p class="note">{_e(words.legend(comparison))}</p>']
    stat_header, stat_body = statistics_rows(comparison)
    parts += ["<h2>Between-process spread</h2>", _table(stat_header, stat_body, {2, 4, 5, 6})]
    columns = explanation_columns(comparison)
    header, body = formatted(explanation_rows(comparison), columns)
    parts += ['<h2 id="explanation">Explanation</h2>',
              _table(header, body, {i for i, c in enumerate(columns) if c[0] not in ("job", "side", "device")})
              .replace("<table>", '<table class="explanation">', 1)]
    parts += ["<ul>" + "".join(f"<li>{_e(line)}</li>" for line in verdicts(comparison)) + "</ul>"]
    reasons = missing_reasons(comparison)
    if reasons:
        parts += ['<p class="note">Empty cells, and why:</p><ul class="note">'
                  + "".join(f"<li>{_e(line)}</li>" for line in reasons) + "</ul>"]
    parts += [f'<p class="note">{_e(EXPLAIN_LEGEND)}</p>']
    if comparison.differences:
        diff = [[label, fact, *values] for label, facts in comparison.differences.items() for fact, values in facts.items()]
        parts += ["<h2>Environment differences</h2>", _table(["job", "fact", *comparison.sides], diff)]
    if comparison.withheld and not comparison.forced:
        items = "".join(f"<li>{_e(w['label'])} on {_e(w['side'])}: {_e('; '.join(w['reasons']))}</li>"
                        for w in comparison.withheld)
        parts += ["<h2>Speed ratios withheld</h2>", f"<ul>{items}</ul>",
                  "<p>Run <code>harness compare ... --force</code> to compute them anyway.</p>"]
    only = [f"<li>only in {_e(side)}: {_e(', '.join(labels))}</li>" for side, labels in comparison.only_in.items() if labels]
    if only:
        parts += ["<h2>Jobs not on every side</h2>", f"<ul>{''.join(only)}</ul>"]
    if errors:
        items = "".join(f"<li><b>{_e(label)}</b>: {_e(error)}</li>" for label, error in errors.items())
        parts += ["<h2>Jobs that did not finish ok</h2>", f"<ul>{items}</ul>"]
    return parts


def comparison_html(comparison: Comparison, figures: list[tuple[str, bytes, str]],
                    errors: dict[str, Any] | None = None) -> str:
    single = len(comparison.sides) == 1
    title = (f"Run {comparison.runs[0]['run_id']}" if single
             else f"{' vs '.join(comparison.sides)} (baseline {comparison.sides[0]})")
    plots = [f'<figure><h3>{_e(name)}</h3><img alt="{_e(name)}" src="data:image/png;base64,'
             f'{base64.b64encode(png).decode("ascii")}"><figcaption>{_e(caption)}</figcaption></figure>'
             for name, png, caption in figures]
    body = "\n".join([f"<h1>{_e(title)}</h1>", *_sections(comparison, errors or {}), "<h2>Plots</h2>", *plots])
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
            "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
            f"<title>{_e(title)}</title><style>{STYLE}</style><script>{SCRIPT}</script></head>\n"
            f"<body>\n{body}\n</body></html>\n")
