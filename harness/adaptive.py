"""`harness run --repeat auto`: add repeats (processes) until the interval is tight enough.

The run starts with `MIN_REPEATS` repeats of every job (interleaved: each round runs every job
still open once). After each round, every job's steady-throughput interval is taken from
`harness.compare` over the stored run, exactly as `harness compare` would show it, and a job is
done when the interval's half-width is within `ci_target_percent` of its throughput. The run
stops at the first of: every job reached the target (`reached`), the next round would overrun
`time_budget_s` (`time_budget`, judged by the last round's duration), every open job has
`max_repeats` repeats (`max_repeats`). A job with no ok repeat after a round stops (`failed`).
The decision and each job's state are recorded in run.json under `adaptive`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from .errors import UsageError

MIN_REPEATS = 2  # one process says nothing about the spread between processes
DEFAULT_CI_TARGET = 2.0  # percent of the throughput: the interval's half-width
DEFAULT_MAX_REPEATS = 10
REASONS = ("reached", "time_budget", "max_repeats", "failed")


@dataclasses.dataclass(frozen=True)
class Adaptive:
    ci_target_percent: float = DEFAULT_CI_TARGET
    max_repeats: int = DEFAULT_MAX_REPEATS
    time_budget_s: float | None = None

    def check(self) -> "Adaptive":
        if not 0 < self.ci_target_percent < 100:
            raise UsageError("--ci-target must be a percentage between 0 and 100")
        if self.max_repeats < MIN_REPEATS:
            raise UsageError(f"--max-repeats must be {MIN_REPEATS} or more (an interval needs two processes)")
        if self.time_budget_s is not None and not self.time_budget_s > 0:
            raise UsageError("--time-budget must be a positive number of seconds")
        return self

    def public(self) -> dict[str, Any]:
        return {"ci_target_percent": self.ci_target_percent, "max_repeats": self.max_repeats,
                "time_budget_s": self.time_budget_s, "min_repeats": MIN_REPEATS}


def job_intervals(run_path: Path) -> dict[str, dict[str, Any]]:
    """Per job key: repeats, repeats ok, throughput and its interval half-width (percent), as
    `harness compare` computes them for this run alone."""
    from .compare import compare
    from .results import load_run

    intervals = {}
    for row in compare([load_run(run_path)]).rows:
        value, low, high = (row.value(name) for name in ("samples_per_sec", "samples_per_sec_ci_low",
                                                         "samples_per_sec_ci_high"))
        half = (high - low) / 2 / value * 100 if value and low is not None and high is not None else None
        intervals[row.key] = {"label": row.label, "repeats": row.repeats, "repeats_ok": row.repeats_ok,
                              "samples_per_sec": value, "half_width_percent": half}
    return intervals


def decide(settings: Adaptive, intervals: dict[str, dict[str, Any]], elapsed_s: float,
           last_round_s: float) -> tuple[list[str], str | None, dict[str, str | None]]:
    """(keys to repeat once more, the run's stop reason or None, each job's state).

    A job's state is `reached`, `failed`, `max_repeats` or None (still open). Pure: tested on
    hand values; the caller runs the next round or stops."""
    states: dict[str, str | None] = {}
    for key, info in intervals.items():
        half = info["half_width_percent"]
        if not info["repeats_ok"]:
            states[key] = "failed"
        elif half is not None and half <= settings.ci_target_percent and info["repeats_ok"] >= MIN_REPEATS:
            states[key] = "reached"
        elif info["repeats"] >= settings.max_repeats:
            states[key] = "max_repeats"
        else:
            states[key] = None
    open_keys = [key for key, state in states.items() if state is None]
    if not open_keys:
        done = set(states.values())
        reason = "reached" if done <= {"reached"} else "max_repeats" if "max_repeats" in done else \
            "reached" if "reached" in done else "failed"
        return [], reason, states
    if settings.time_budget_s is not None and elapsed_s + last_round_s > settings.time_budget_s:
        return [], "time_budget", states
    return open_keys, None, states
