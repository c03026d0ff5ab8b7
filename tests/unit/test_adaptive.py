"""--repeat auto's stopping rule (harness.adaptive.decide) on hand values, and its CLI checks."""

from __future__ import annotations

import pytest

from harness.adaptive import MIN_REPEATS, Adaptive, decide
from harness.cli import main
from harness.errors import UsageError


def job(repeats, half, ok=None):
    return {"label": "j", "repeats": repeats, "repeats_ok": repeats if ok is None else ok,
            "samples_per_sec": 100.0, "half_width_percent": half}


def test_reached_when_every_half_width_is_within_the_target():
    keys, reason, states = decide(Adaptive(2.0), {"a": job(2, 1.9), "b": job(3, 2.0)}, 10, 5)
    assert (keys, reason, states) == ([], "reached", {"a": "reached", "b": "reached"})


def test_open_jobs_repeat_and_reached_ones_stop():
    keys, reason, states = decide(Adaptive(2.0), {"a": job(2, 1.0), "b": job(2, 2.5)}, 10, 5)
    assert keys == ["b"] and reason is None and states == {"a": "reached", "b": None}


def test_a_single_repeat_never_counts_as_reached():
    keys, reason, _ = decide(Adaptive(50.0), {"a": job(2, 0.1, ok=1)}, 10, 5)
    assert keys == ["a"] and reason is None


def test_max_repeats_stops_a_job_and_the_run_says_so():
    keys, reason, states = decide(Adaptive(1.0, max_repeats=3), {"a": job(3, 4.0), "b": job(3, 0.5)}, 10, 5)
    assert keys == [] and reason == "max_repeats" and states == {"a": "max_repeats", "b": "reached"}


def test_the_time_budget_stops_before_a_round_that_would_overrun_it():
    settings = Adaptive(1.0, time_budget_s=20)
    assert decide(settings, {"a": job(2, 4.0)}, 14, 5)[:2] == (["a"], None)      # 14 + 5 <= 20
    assert decide(settings, {"a": job(2, 4.0)}, 16, 5)[:2] == ([], "time_budget")  # 16 + 5 > 20


def test_a_job_without_an_ok_repeat_stops_as_failed():
    keys, reason, states = decide(Adaptive(), {"a": job(2, None, ok=0)}, 1, 1)
    assert (keys, reason, states) == ([], "failed", {"a": "failed"})


@pytest.mark.parametrize("settings, fragment", [
    (Adaptive(0.0), "--ci-target"), (Adaptive(float("nan")), "--ci-target"),
    (Adaptive(2.0, max_repeats=MIN_REPEATS - 1), "--max-repeats"),
    (Adaptive(2.0, time_budget_s=-1), "--time-budget"), (Adaptive(2.0, time_budget_s=float("nan")), "--time-budget"),
])
def test_bad_settings_are_refused(settings, fragment):
    with pytest.raises(UsageError, match=fragment):
        settings.check()


@pytest.mark.parametrize("argv, fragment", [
    (["run", "--repeat", "sometimes"], "invalid int value: 'sometimes' (a count, or auto)"),
    (["run", "--ci-target", "5"], "--ci-target only apply with --repeat auto"),
    (["run", "--repeat", "auto", "--max-repeats", "1"], "--max-repeats must be 2 or more"),
    (["run", "--repeat", "auto", "--ci-target", "nan"], "--ci-target must be a percentage"),
])
def test_bad_adaptive_options_at_the_cli(tmp_path, capsys, argv, fragment):
    import io
    err = io.StringIO()
    code = main(argv + ["--results-dir", str(tmp_path / "r")], stdout=io.StringIO(), stderr=err)
    assert code == 2 and fragment in err.getvalue() and err.getvalue().count("\n") == 1, err.getvalue()
    assert not (tmp_path / "r").exists()
