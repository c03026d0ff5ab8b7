"""compare and report on the stored example runs (tests/data/reports, made by
tests/data/make_examples.py): golden summary.json files, every output file, CLI errors."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from harness.cli import main

DATA = Path(__file__).resolve().parents[1] / "data"
REGENERATE = "if the change is intended: .venv/bin/python tests/data/make_examples.py --golden"


@pytest.fixture
def reports(tmp_path) -> Path:
    """A copy of the example runs (compare writes a steps.npz cache beside each job's events)."""
    shutil.copytree(DATA / "reports", tmp_path / "reports")
    return tmp_path / "reports"


def same(actual, expected, path="$"):
    """JSON equality, floats to 1e-9 relative (numpy's last bits may differ between versions)."""
    if isinstance(expected, float) and isinstance(actual, (int, float)):
        assert math.isclose(actual, expected, rel_tol=1e-9), f"{path}: {actual} != {expected}; {REGENERATE}"
    elif isinstance(expected, dict):
        assert isinstance(actual, dict) and sorted(actual) == sorted(expected), f"{path}: keys differ; {REGENERATE}"
        for key in expected:
            same(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{path}: lengths differ; {REGENERATE}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            same(a, e, f"{path}[{i}]")
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}; {REGENERATE}"


def test_compare_matches_the_golden_summary(reports, capsys):
    out = reports / "out"
    assert main(["compare", "desk", "edge", "--results-dir", str(reports), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "only in desk: mnist_mlp dropout=0.5" in printed and "wrote" in printed
    same(json.loads((out / "summary.json").read_text()),
         json.loads((DATA / "golden" / "desk_vs_edge.summary.json").read_text()))
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.side) == ["desk", "edge"] and summary.throughput_ratio[0] == 1.0
    assert {"samples_per_sec_ci_low", "throughput_ratio_ci_high", "throughput_significant", "step_outliers",
            "steady_epoch_ratio", "total_time_ratio", "samples_per_sec_per_usd", "perf_per_dollar_ratio",
            "samples_per_joule_ratio", "time_to_first_step_seconds"} <= set(summary)
    markdown = (out / "report.md").read_text()
    assert markdown.startswith("# desk vs edge (baseline desk)") and "| mnist_mlp dropout=0.2 | edge | ok |" in markdown


def test_report_matches_the_golden_summary_and_writes_every_file(reports):
    out = reports / "one"
    assert main(["report", "desk", "--results-dir", str(reports), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["report.csv", "report.html", "report.md", "summary.csv",
                                                     "summary.json"]
    same(json.loads((out / "summary.json").read_text()),
         json.loads((DATA / "golden" / "desk_report.summary.json").read_text()))


def test_html_is_self_contained_and_escapes_user_strings(reports):
    out = reports / "out"
    assert main(["compare", "desk", "edge", "--results-dir", str(reports), "--out", str(out)]) == 0
    page = (out / "report.html").read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;co&quot;" in page
    assert page.count("<img ") >= 4 and page.count('src="data:image/png;base64,') == page.count("<img ")
    assert "http://" not in page and "https://" not in page


def test_baseline_and_runs_options(reports):
    runs = sorted(p.name for p in (reports / "runs").iterdir())
    edge_id = next(r for r in runs if "-edge-" in r)
    out = reports / "out"
    assert main(["compare", "--runs", *runs, "--baseline", edge_id, "--results-dir", str(reports),
                 "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sides"] == ["edge", "desk"] and summary["rows"][0]["throughput_ratio"] == 1.0


@pytest.mark.parametrize("argv, message", [
    (["compare", "desk"], "at least two"),
    (["compare", "desk", "desk"], "compared once"),
    (["compare", "desk", "edge", "--baseline", "nope"], "'nope' is neither"),
    (["compare", "desk", "../../etc/passwd"], "neither a run id nor a target"),
    (["report", "../runs"], "neither a run id nor a target"),
    (["compare", "desk", "edge", "--noise", "-1"], "--noise -1 must be a percentage, 0 or more"),
    (["compare", "desk", "edge", "--noise", "many"], "--noise: invalid float value"),
])
def test_bad_compare_input_is_one_line(reports, capsys, argv, message):
    assert main([*argv, "--results-dir", str(reports)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_default_output_folder_stays_inside_the_results_dir(reports):
    assert main(["compare", "desk", "edge", "--results-dir", str(reports)]) == 0
    assert (reports / "compare" / "desk_vs_edge" / "report.html").exists()


def test_an_emulated_side_withholds_speed_ratios_unless_forced(reports, capsys):
    manifest_path = next((reports / "runs").glob("*-edge-*/run.json"))
    manifest = json.loads(manifest_path.read_text())
    manifest["emulated"] = True  # as `harness run --emulate` records it
    manifest_path.write_text(json.dumps(manifest))
    out = reports / "out"
    assert main(["compare", "desk", "edge", "--results-dir", str(reports), "--out", str(out)]) == 0
    assert "speed ratio withheld for mnist_mlp dropout=0.2 on edge: emulated (--force" in capsys.readouterr().out
    edge = json.loads((out / "summary.json").read_text())["rows"][1]
    assert edge["throughput_ratio"] is None and edge["ratio_withheld"] == "emulated" and edge["differs"] == "emulated"
    assert "## Speed ratios withheld" in (out / "report.md").read_text()
    assert main(["compare", "desk", "edge", "--force", "--results-dir", str(reports), "--out", str(out)]) == 0
    forced = json.loads((out / "summary.json").read_text())
    assert forced["forced"] and forced["rows"][1]["throughput_ratio"] > 0
    assert "**Forced**" in (out / "report.md").read_text()


def test_an_unwritable_out_folder_is_one_line(reports, capsys):
    blocker = reports / "a-file"
    blocker.write_text("not a folder")
    assert main(["compare", "desk", "edge", "--results-dir", str(reports), "--out", str(blocker / "sub")]) == 2
    assert main(["report", "desk", "--results-dir", str(reports), "--out", str(blocker)]) == 2
    err = capsys.readouterr().err
    assert err.count("harness: error: cannot write to") == 2 and "Traceback" not in err


def test_a_single_repeat_comparison_is_marked_everywhere(reports, capsys):
    """The example runs ran each job once: every renderer says so and names the repeats needed."""
    out = reports / "out"
    assert main(["compare", "desk", "edge", "--results-dir", str(reports), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    edge = summary["rows"][1]
    assert edge["single_repeat"] and edge["interval_scope"] == "within one process" and edge["repeats_needed"] >= 3
    assert summary["noise"] == 0.03
    needed = f"--repeat {edge['repeats_needed']}"
    for text in (printed, (out / "report.md").read_text(), (out / "report.html").read_text()):
        flat = " ".join(text.split())
        assert "ONE REPEAT on desk and edge" in flat and needed in flat and "within one process" in flat
        assert "1 only" in flat
    # the headline leads with the total-time speed-up, computed from the stored times
    speedup = 1 / edge["total_time_ratio"]
    assert f"edge trained `mnist_mlp dropout=0.2` {speedup:.2f}x faster than desk in total" in " ".join(printed.split())


def test_noise_band_decides_significance(reports):
    """The same interval is significant or not by --noise alone (not by CI overlap)."""
    found = {}
    for noise in ("0", "200"):
        out = reports / f"out{noise}"
        assert main(["compare", "desk", "edge", "--noise", noise, "--results-dir", str(reports), "--out", str(out)]) == 0
        found[noise] = json.loads((out / "summary.json").read_text())["rows"][1]
    low = found["0"]["perf_per_dollar_ratio_ci_low"]  # edge: 3x the samples/s per dollar (a third of the price)
    assert low == found["200"]["perf_per_dollar_ratio_ci_low"] and 1.0 < low < 3.0  # excludes 1, not by 200%
    assert found["0"]["perf_per_dollar_significant"] is True and found["200"]["perf_per_dollar_significant"] is False
    assert "~3.26x" in (reports / "out200" / "report.md").read_text()


def test_the_explanation_is_in_every_file_and_honours_the_targets_device_model(reports, capsys):
    """desk's manifest names its device as a target's `device_model` records it; its jobs ran on the
    CPU, so the device is known but its GPU peak gives no share, and every renderer says why."""
    manifest_path = next((reports / "runs").glob("*-desk-*/run.json"))
    manifest = json.loads(manifest_path.read_text())
    manifest["target"]["device_model"] = "jetson-tx2"
    manifest_path.write_text(json.dumps(manifest))
    out = reports / "out"
    assert main(["compare", "desk", "edge", "--results-dir", str(reports), "--out", str(out)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    desk, edge = json.loads((out / "summary.json").read_text())["rows"]
    assert desk["device_model"] == "jetson-tx2" and desk["device_source"] == "target device_model"
    assert desk["peak_share"] is None and desk["explain_missing"]["peak_share"].startswith("the job ran on the CPU")
    assert edge["device_model"] is None and edge["peak_compute_ratio"] is None
    assert edge["explain_missing"]["peak_compute_ratio"] == "no GPU peak for desk or edge"
    assert 0 < desk["warmup_share"] < 1 and desk["verdict"] is None and edge["verdict"]
    summary = pd.read_csv(out / "summary.csv")
    assert summary.device_model[0] == "jetson-tx2" and "peak_share: the job ran on the CPU" in summary.explain_missing[0]
    markdown = (out / "report.md").read_text()
    assert "## Explanation" in markdown and "| mnist_mlp dropout=0.2 | desk | jetson-tx2 |" in markdown
    assert f"- edge, mnist_mlp dropout=0.2: {edge['verdict']}" in markdown
    assert "Explanation" in printed and " ".join(edge["verdict"].split())[:60] in printed
