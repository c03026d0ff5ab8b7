"""report.html in a real headless browser (Debian's chromium; scripts/setup-browser.sh installs
it): the page loads with no console errors, every plot decodes (naturalWidth > 0) and the
explanation table is in the page.

The page's own inline script writes `data-images="<decoded>/<total>"` on <body> at load; the
DOM chromium dumps after loading shows it. Two control pages prove the check can fail."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.cli import main
from harness.report.html import SCRIPT

DATA = Path(__file__).resolve().parents[1] / "data"
CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (bash scripts/setup-browser.sh)")


def load(page: Path, tmp_path: Path) -> tuple[str, list[str]]:
    """The DOM after load, and the console messages chromium logged."""
    done = subprocess.run(
        [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--enable-logging=stderr", "--v=0",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    return done.stdout, console


def images_attribute(dom: str) -> str | None:
    found = re.search(r'<body[^>]*\sdata-images="([^"]*)"', dom)
    return found.group(1) if found else None


def test_compare_report_loads_without_errors_and_shows_its_plots(tmp_path):
    reports = tmp_path / "reports"
    shutil.copytree(DATA / "reports", reports)
    assert main(["compare", "desk", "edge", "--results-dir", str(reports), "--out", str(tmp_path / "out")]) == 0
    dom, console = load(tmp_path / "out" / "report.html", tmp_path)
    assert console == []
    decoded, total = images_attribute(dom).split("/")
    assert int(total) >= 5 and decoded == total  # ratios (log axis), throughput, step times, telemetry, accuracy
    assert "&lt;script&gt;alert" in dom  # the target's note is text, not a script
    assert 'alt="Ratios against the baseline"' in dom and "Between-process spread" in dom
    assert "ONE REPEAT on desk and edge" in dom and "One repeat is not enough" in dom
    explanation = re.search(r'<h2 id="explanation">Explanation</h2>\s*<table class="explanation">(.*?)</table>', dom, re.S)
    assert explanation, "the loaded page has no explanation table"
    assert "<th>device</th>" in explanation.group(1) and "<th>warm-up</th>" in explanation.group(1)
    assert explanation.group(1).count("<tr>") == 3  # header, desk, edge
    assert "Share of peak unknown" in dom and "no flops_per_step in result.json" in dom


def test_the_check_fails_on_a_broken_image_and_a_console_error(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text(f"<!DOCTYPE html><html><head><script>{SCRIPT}</script></head><body>"
                    '<img src="data:image/png;base64,AAAA"><script>console.error("boom")</script></body></html>')
    dom, console = load(page, tmp_path)
    assert images_attribute(dom) == "0/1"
    assert any("boom" in line for line in console)
