"""ComparisonRow: the typed comparison row is summary.json's row, key for key and in order, both
ways, on real comparisons of the stored example runs (tests/data/reports)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness import compare, envdiff, explain, registry
from harness.comparison_row import ComparisonRow, RatioInterval
from harness.report.files import summary_json
from harness.results import find_run

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    copy = tmp_path_factory.mktemp("reports") / "reports"
    shutil.copytree(DATA / "reports", copy)
    return find_run(copy, "desk"), find_run(copy, "edge")


@pytest.fixture(scope="module", params=["desk_vs_edge", "desk_report"])
def case(request, runs):
    """(a real comparison, the golden summary.json it must give)."""
    comparison = compare.compare(list(runs) if request.param == "desk_vs_edge" else [runs[0]])
    return comparison, json.loads((DATA / "golden" / f"{request.param}.summary.json").read_text())


def test_rows_are_typed_and_to_json_is_the_golden_row(case):
    comparison, golden = case
    assert comparison.rows and all(isinstance(row, ComparisonRow) for row in comparison.rows)
    stored = json.loads(summary_json(comparison))["rows"]
    assert stored == golden["rows"]
    for row, expected in zip(comparison.rows, golden["rows"]):
        assert sorted(row.to_json()) == sorted(expected)


def test_from_json_of_to_json_is_the_same_row_in_the_same_order(case):
    comparison, _ = case
    for row in comparison.rows:
        flat = row.to_json()
        again = ComparisonRow.from_json(json.loads(json.dumps(flat)))
        assert again == row
        assert list(again.to_json()) == list(flat) and again.to_json() == flat


def test_the_parts_hold_what_their_names_say(runs):
    base, side = compare.compare(list(runs)).rows
    assert (side.side, side.target, side.status, side.repeats_ok) == ("edge", "edge", "ok", side.repeats)
    assert set(side.environment) == set(envdiff.ENVIRONMENT) and set(side.explanation) == set(explain.FIELDS)
    assert set(side.ratios) == set(registry.ratios()) and set(side.intervals) == set(compare.SPREAD_OF)
    assert not (set(side.measured) & {*side.environment, *side.explanation, *side.ratios})
    assert side.value("throughput_ratio") == side["throughput_ratio"] == side.ratios["throughput_ratio"]
    interval = side.interval("throughput_ratio")
    assert side.value("throughput_ratio_ci_low") == interval.low == side["throughput_ratio_ci_low"]
    assert side.significant("throughput_ratio") is side["throughput_significant"]
    assert side.value("samples_per_sec") == side.measured["samples_per_sec"] > 0
    assert base.interval("throughput_ratio") == RatioInterval(None, None, None)  # the baseline's own row
    assert side.value("not_a_metric") is None


def test_from_json_reads_a_hand_made_row_and_keeps_keys_it_does_not_know():
    flat = {"key": "k", "label": "k", "side": "a", "target": "a", "run_id": "r", "status": "failed", "repeats": 1,
            "repeats_ok": 0, "samples_per_sec": None, "a_new_value": 3, "python": "3.10", "verdict": None,
            "differs": "python", "ratio_withheld": None, "throughput_ratio": 2.0, "throughput_ratio_ci_low": 1.5,
            "throughput_ratio_ci_high": 2.5, "throughput_significant": True}
    row = ComparisonRow.from_json(flat)
    assert row.measured == {"samples_per_sec": None, "a_new_value": 3}
    assert row.environment == {"python": "3.10"} and row.explanation == {"verdict": None}
    assert row.intervals == {"throughput_ratio": RatioInterval(1.5, 2.5, True)}
    assert row.to_json() == flat and dict(row) == flat
