"""The metric registry against what the harness really produces: the metrics job_metrics computes
from the stored example runs' events and telemetry, their result.json, an imported Keras log, a
real comparison of the stored runs and one with every explanation field known, and the samplers'
series; docs/metrics.md's tables are the generated ones; compare, the report tables and the plots
take their metrics, ratios and formats from it."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest

from harness import compare, registry
from harness.export import names
from tests.event_lines import read_events
from harness.importers import keras_log
from harness.metrics import job_metrics
from harness.report import plots, tables
from harness.results import find_run
from tests.unit.test_explain import run_pair

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "tests" / "data" / "reports"
JOBS = sorted((REPORTS / "runs").glob("*/*/result.json"))
SAMPLER_SOURCES = [*(ROOT / "benchmarks" / "telemetry").glob("*.py"), *(ROOT / "harness" / "telemetry").glob("*.py")]


def _telemetry(folder: Path) -> list[dict]:
    """telemetry.csv's tidy rows as the samples job_metrics takes ({t, metric: value})."""
    with open(folder / "telemetry.csv", newline="") as handle:
        return [{"t": float(row["t"]), row["metric"]: float(row["value"])} for row in csv.DictReader(handle)]


def _computed() -> list[dict]:
    return [job_metrics(read_events(path.parent / "events.jsonl"), _telemetry(path.parent)) for path in JOBS]


def _imported() -> dict:
    text = (ROOT / "tests" / "data" / "keras_logs" / "keras2_evaluate_v2.log").read_text(errors="replace")
    return keras_log.metrics_of(keras_log.parse(text), 32)


@pytest.fixture(scope="module")
def comparison_rows(tmp_path_factory):
    copy = tmp_path_factory.mktemp("reports") / "reports"  # compare may cache steps into run folders
    shutil.copytree(REPORTS, copy)
    return compare.compare([find_run(copy, "desk"), find_run(copy, "edge")]).rows


def test_every_metric_a_stored_run_produces_is_registered():
    assert JOBS, "no stored example runs (tests/data/make_examples.py --runs)"
    known = set(registry.names())
    for metrics in _computed():
        assert set(metrics) - known == set()
        assert metrics["samples_per_sec"] is not None  # real steps, really computed
    for path in JOBS:
        assert set(json.loads(path.read_text())["metrics"]) - known == set()
    assert set(_imported()) - known == set()


def _explained_rows() -> list[dict]:
    """A real comparison whose explanation fields are all known: FLOPs, GPU peaks, an input probe,
    clocks, throttling and mixed precision (the FP16 share)."""
    both = {"dtype_policy": "mixed_float16", "input_seconds_per_batch": 0.25, "job_step_seconds_median": 0.2,
            "throttled_share": 0.2, "gpu_freq_min_mhz": 854.0, "gpu_freq_max_mhz": 1300.0}
    comparison, _, _ = run_pair(both, {**both, "gpu_freq_min_mhz": None, "sm_clock_min_mhz": 300.0,
                                       "sm_clock_max_mhz": 1900.0})
    return comparison.rows


def test_every_comparison_value_is_registered(comparison_rows):
    explained = _explained_rows()
    numeric = {k for k in compare.explain.FIELDS
               if isinstance(explained[1][k], (int, float)) and not isinstance(explained[1][k], bool)}
    assert numeric == {"flops_per_sample", "achieved_flops_per_sec", "peak_flops_per_sec", "peak_share",
                       "peak_fp16_share", "peak_bandwidth_gbs", "input_share", "warmup_share", "clock_min_mhz",
                       "clock_max_mhz", "peak_compute_ratio", "bandwidth_ratio"}  # every number it has, all known
    identity = {"key", "label", "side", "target", "run_id", "status", "differs", "ratio_withheld", "single_repeat",
                "interval_scope"}
    for row in [*comparison_rows, *explained]:
        numbers = {k for k, v in row.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        unknown = {k for k in numbers - set(compare.envdiff.ENVIRONMENT) - identity if not k.endswith("_significant")}
        assert [k for k in unknown if not _registered(k)] == []


def _registered(name: str) -> bool:
    try:
        registry.get(name)
    except KeyError:
        return False
    return True


def _job_sources() -> str:
    return "".join(p.read_text() for p in (ROOT / "benchmarks").glob("**/*.py"))


def test_no_dead_entries(comparison_rows):
    """Each result entry comes out of job_metrics, a stored result, the importer or a job's end
    event (named in its source); each comparison entry is in a real comparison row."""
    produced = set().union(*_computed(), _imported())
    produced |= {k for path in JOBS for k in json.loads(path.read_text())["metrics"]}
    jobs = _job_sources()
    dead = [m.name for m in registry.METRICS if m.kind == "result"
            and m.name not in produced and f'"{m.name}"' not in jobs]
    assert dead == []
    in_rows = set().union(*comparison_rows, *_explained_rows())
    assert [m.name for m in registry.METRICS if m.kind == "compare" and m.name not in in_rows] == []


def test_every_series_is_written_by_a_sampler():
    text = "".join(p.read_text() for p in SAMPLER_SOURCES)
    for series in registry.SERIES:
        literal = max(re.split(r"<[a-z]+>", series.metric), key=len)  # rail_<name>_w -> "rail_"
        assert f'"{literal}' in text or f'{literal}"' in text, series.metric
    with open(JOBS[0].parent / "telemetry.csv", newline="") as handle:
        stored = {(row["source"], row["metric"]) for row in csv.DictReader(handle)}
    assert stored and all(any(s.metric == metric and s.source in (source, None) for s in registry.SERIES)
                          for source, metric in stored)


def test_docs_tables_are_the_generated_ones():
    text = registry.DOCS.read_text()
    assert registry._replace_tables(text) == text, "run: python -m harness.registry --write-docs"
    assert "Warm-up is never mixed into steady state" in text


def test_write_docs_rewrites_only_between_the_markers(tmp_path, monkeypatch):
    page = tmp_path / "metrics.md"
    page.write_text(f"intro\n{registry.BEGIN}\nstale\n{registry.END}\noutro\n")
    monkeypatch.setattr(registry, "DOCS", page)
    assert registry.main(["--write-docs"]) == 0
    text = page.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "stale" not in text
    assert "| `samples_per_sec` | samples/s | higher |" in text
    page.write_text("no markers")
    assert registry.main(["--write-docs"]) == 2


def test_compare_and_the_reports_read_it(comparison_rows):
    compared = [k for k in comparison_rows[0] if k in compare.METRICS]
    assert compared == list(registry.names(compared=True))  # summary.csv's columns in the registry's order
    assert compare.RATIOS == registry.ratios() and list(compare.RATIOS) == [
        "throughput_ratio", "first_epoch_ratio", "steady_epoch_ratio", "total_time_ratio", "samples_per_joule_ratio",
        "perf_per_dollar_ratio"]
    # a ratio is better the way its metric is: a time ratio under 1 is faster, a throughput one over 1
    assert [r for r, metric in compare.RATIOS.items() if registry.better(r) != registry.better(metric)] == []
    assert compare.TIME_RATIOS == {"first_epoch_ratio": "first_epoch_seconds",
                                   "steady_epoch_ratio": "steady_epoch_seconds", "total_time_ratio": "train_seconds"}
    columns = tables.RUN_COLUMNS + tables.COMPARE_COLUMNS + tables.EXPLAIN_COLUMNS
    assert [(field, spec) for _, field, spec in columns
            if spec and _registered(field) and registry.get(field).fmt != spec] == []
    assert {name for name, _ in plots.RATIO_PLOT} <= set(registry.ratios())
    assert set(plots.TELEMETRY_PANELS) <= {s.metric for s in registry.SERIES}
    assert set(names.SUMMARY_METRICS) == {
        "final_accuracy", "final_val_accuracy", "final_loss", "final_val_loss", "test_accuracy", "samples_per_sec",
        "step_seconds_median", "step_seconds_p95", "first_epoch_seconds", "steady_epoch_seconds", "train_seconds",
        "peak_rss_mb", "energy_j", "net_energy_j", "energy_per_sample_j", "samples_per_joule", "power_mean_w",
        "gpu_util_mean_percent", "gpu_memory_peak_mb"}


def test_helpers():
    assert registry.better("samples_per_sec") == registry.HIGHER
    assert registry.better("train_seconds") == registry.LOWER
    assert registry.better("gpu_util_mean_percent") is None
    assert registry.unit("peak_rss_mb") == "MiB"
    assert registry.fmt("samples_per_sec", 1234.567) == "1234.6"
    assert registry.fmt("throughput_ratio", 1.234) == "1.23" and registry.fmt("throughput_ratio", 0.01234) == "0.0123"
    assert registry.fmt("throughput_ratio_ci_low", 0.5) == "0.50"  # an interval reads as its ratio
    # the explanation table's formats: a share's digits grow as it shrinks, a multiple ends in x, FLOPs get a prefix
    assert [registry.fmt("throttled_share", v) for v in (0.25, 0.0999, 0.005)] == ["25%", "10.0%", "0.50%"]
    assert [registry.fmt("peak_compute_ratio", v) for v in (15.12, 1.234, 0.05678)] == ["15.1x", "1.23x", "0.0568x"]
    assert registry.fmt("achieved_flops_per_sec", 9.87e12) == "9.87 TFLOP/s" and registry.fmt("flops_per_sample", 12) == "12 FLOP"
    assert registry.fmt("process_cv", 0.0123) == "1.2%" and registry.fmt("repeats_needed", 14) == "14"
    assert registry.fmt("steps", 30) == "30" and registry.fmt("device", "gpu") == "gpu"
    assert registry.fmt("energy_j", None) == "-"
    with pytest.raises(KeyError, match="not in the metric registry"):
        registry.get("no_such_metric")
    assert len({m.name for m in registry.METRICS}) == len(registry.METRICS)
    assert {m.kind for m in registry.METRICS} == {"result", "compare"}
