"""A fixed, replayable fuzz set over every parser of outside input (tests/fuzz/targets.py): the same
mutation seeds on every run, plus every input that ever failed, kept in tests/fuzz/corpus/TARGET/.
Each input runs in a worker process under its own deadline, so a hang fails the test naming the
target and the seed (with the command that replays it) instead of stalling the suite.

Open-ended random exploration is `make fuzz` (tests/fuzz/explore.py); what it finds joins the corpus.
Property-based tests of the same parsers: tests/unit/test_bad_input.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz import guard, targets

SEEDS_PER_TARGET = {"keras_log": 300, "notebook": 120, "tegrastats": 600, "events": 600, "stored_events": 300,
                    "overrides": 300, "suite_toml": 300, "targets_toml": 200}
DEADLINE_S = 2.0


def _report(findings: list[guard.Finding]) -> str:
    return "; ".join(f"{f.target} input {f.ident} {f.problem} (replay: {f.replay()})" for f in findings)


@pytest.mark.parametrize("name", sorted(targets.CHECKS))
def test_fixed_seeds(name):
    findings, done, slowest = guard.run(name, ["seeds", "0", str(SEEDS_PER_TARGET[name])], DEADLINE_S)
    assert not findings, _report(findings)
    assert done == SEEDS_PER_TARGET[name]
    print(f"{name}: {done} inputs, slowest {slowest:.3f} s")


def corpus_files() -> list[Path]:
    return sorted(p for p in targets.CORPUS.glob("*/*") if p.is_file())


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus(path):
    assert path.parent.name in targets.CHECKS, f"{path}: folder must be a target name ({', '.join(targets.CHECKS)})"
    findings, done, _ = guard.run(path.parent.name, ["files", str(path)], DEADLINE_S)
    assert not findings and done == 1, _report(findings)


def test_every_target_has_seed_inputs():
    assert all(targets.seeds()[name] for name in targets.CHECKS)
    assert set(SEEDS_PER_TARGET) == set(targets.CHECKS)


def test_the_guard_reports_a_hang_by_target_and_seed(tmp_path):
    """The deadline is real: an input that makes the old ELAPSED pattern backtrack, run through that
    pattern in the worker, is killed and named."""
    findings, done, _ = guard.run("old_elapsed_pattern", ["files", str(targets.CORPUS / "keras_log" /
                                                                        "elapsed-backtracking.log")], 1.0)
    assert done == 0 and findings and "took more than 1 s" in findings[0].problem
    assert "elapsed-backtracking.log" in findings[0].ident and "tests.fuzz.worker old_elapsed_pattern" in findings[0].replay()
