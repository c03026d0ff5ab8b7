"""The vectorised events reader (harness.jobdata.parse_bytes) gives exactly what json.loads line by
line gives (the reference: decode, str.splitlines, json.loads, jobdata.from_events), on the captured
runs in tests/data and on generated files mixing the emitter's step lines with steps in other layouts,
NaN/inf, missing or wrong-typed fields, junk and huge lines. Bitwise: -0.0 and 0.0 differ here."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness_jobs.events import _STEP_FORMAT
from harness import jobdata

DATA = Path(__file__).resolve().parents[1] / "data"


def reference(raw: bytes) -> jobdata.JobData:
    events = [json.loads(line) for line in raw.decode(errors="replace").splitlines() if _valid(line)]
    return jobdata.from_events([e for e in events if isinstance(e, dict)])


def _valid(line: str) -> bool:
    try:
        json.loads(line)
    except (ValueError, RecursionError):
        return False
    return True


def assert_same(raw: bytes) -> jobdata.JobData:
    fast, slow = jobdata.parse_bytes(raw), reference(raw)
    for name in jobdata.STEP_FIELDS:
        assert fast.steps[name].dtype == np.float64, name
        assert np.array_equal(fast.steps[name].view(np.int64), slow.steps[name].view(np.int64)), name
    assert json.dumps(fast.events) == json.dumps(slow.events)
    return fast


@pytest.mark.parametrize("path", sorted(DATA.glob("reports/runs/*/*/events.jsonl")), ids=lambda p: p.parent.name)
def test_captured_runs(path):
    data = assert_same(path.read_bytes())
    assert data.steps["seconds"].size > 0 and data.first("start") is not None


def emitter_line(t, epoch, step, seconds, batch):
    return _STEP_FORMAT % (1, t, epoch, step, seconds, batch)


numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10 ** 20, 10 ** 20),
                    st.floats(-1e7, 1e7), st.just(-0.0), st.just(0.0))
small_ints = st.integers(-3, 10 ** 6)
fast_lines = st.builds(emitter_line, st.floats(-1e9, 1e9), small_ints, small_ints, st.floats(-10, 1e4), small_ints)
odd_emitter_lines = st.builds(emitter_line, numbers, st.integers(-10 ** 20, 10 ** 20), small_ints,
                              st.one_of(numbers, st.sampled_from([-0.0, -1e-7, 2.0 ** 53 / 1e6, 1e13])), small_ints)
fields = st.fixed_dictionaries({"v": st.sampled_from([1, 2]), "event": st.just("step")},
                               optional={"t": numbers, "epoch": numbers, "step": numbers, "seconds": numbers,
                                         "batch_size": st.one_of(numbers, st.booleans(), st.text(max_size=3)),
                                         "extra": st.text(max_size=5)})


@st.composite
def other_layouts(draw):
    """A step in another key order, with spaces, missing or extra fields, NaN, or non-numbers."""
    event = draw(fields)
    keys = draw(st.permutations(list(event)))
    return json.dumps({k: event[k] for k in keys}, separators=draw(st.sampled_from([(",", ":"), (", ", ": ")])))


other_events = st.builds(lambda kind, seconds: json.dumps({"v": 1, "event": kind, "t": 1.0, "seconds": seconds,
                                                           "metrics": {"accuracy": 0.5}}),
                         st.sampled_from(["start", "epoch", "end", "eval"]), numbers)
junk = st.one_of(st.text(max_size=40), st.sampled_from(["", "[1, 2]", "{", "\r", "\x0b", "\x1c", "\u2028", "\x85",
                                                        '{"v":1,"event":"step","t":01.000000,"epoch":0,"step":0,'
                                                        '"seconds":1.000000,"batch_size":1}']))
any_line = st.one_of(fast_lines, fast_lines, fast_lines, odd_emitter_lines, other_layouts(), other_events, junk)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(any_line, max_size=30), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_generated_files_match_json_loads(lines, newline, final_newline):
    assert_same((newline.join(lines) + (newline if final_newline else "")).encode())


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_match_json_loads(raw):
    assert_same(raw)


def test_huge_lines_and_a_step_in_another_layout_among_fast_ones():
    start = json.dumps({"v": 1, "event": "start", "t": 0.0, "params": {"blob": "x" * 200_000}})
    lines = [start] + [emitter_line(10.0 + i, 0, i, 0.25, 8) for i in range(1000)]
    lines[500] = json.dumps({"event": "step", "v": 1, "t": 1e-05, "epoch": 0, "step": 499, "seconds": math.inf,
                             "batch_size": 8})
    lines.insert(700, "[" * 100_000)
    data = assert_same(("\n".join(lines) + "\n").encode())
    assert data.steps["step"][499] == 499 and data.steps["seconds"][499] == math.inf  # in file order
    assert data.steps["seconds"].size == 1000 and [e["event"] for e in data.events] == ["start"]
