"""A hang guard, not a benchmark: every parser of outside input gets megabyte pathological inputs
(repeated bracket and bar tokens, deep nesting, megabyte lines without a newline) and must finish
each within DEADLINE_S, where linear parsing takes a fraction of that. Each input runs in the fuzz
worker's own process (tests/fuzz/guard.py), so a backtracking pattern fails the test, naming the
target and input, instead of stalling the suite."""

from __future__ import annotations

import pytest

from tests.fuzz import guard, targets

DEADLINE_S = 10.0   # linear parsing of 1 MB takes 0.01-2 s here; an exponential one never ends
MB = 1 << 20
PATHOLOGICAL = {
    "brackets": b"[" * MB,
    "closing-brackets": b"]" * MB,
    "bracket-tokens": b"1/1 " + b"]]]] " * (MB // 5) + b"x",
    "bar-glyphs": "━".encode() * (MB // 3),
    "keras3-counter-and-bars": ("10/10 " + "]]]] ━━━━] " * (MB // 16) + "x").encode(),
    "digits": b"9" * MB,
    "carriage-returns": b"ab\r" * (MB // 3),
    "backspaces": b"ab\b" * (MB // 3),
    "epoch-headers": b"Epoch 1/1 " * (MB // 10),
    "metric-names": b"1/1 - loss: " * (MB // 12),
    "ansi-openers": b"\x1b[" * (MB // 2),
    "nested-json": b"{" * (MB // 2) + b"}" * (MB // 2),
    "nested-arrays": b'{"cells": ' + b"[" * (MB // 2),
    "toml-nesting": b"a = " + b"[" * (MB // 2),
    "toml-inline": b"a = {" + b"b = {" * (MB // 8),
    "equals": b"=" * MB,
    "percent-at": b"GR3D_FREQ " + b"1%@[" * (MB // 4),
    "one-line-log": b"400/400 [====] - 1s 2ms/step - loss: 0.1 " * (MB // 44),
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pathological")
    paths = []
    for name, data in PATHOLOGICAL.items():
        path = folder / f"{name}.bin"
        path.write_bytes(data[:MB])
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("target", sorted(targets.CHECKS))
def test_every_parser_finishes_megabyte_inputs_in_bounded_time(target, inputs):
    findings, done, slowest = guard.run(target, ["files", *inputs], DEADLINE_S)
    assert not findings, "; ".join(f"{f.ident}: {f.problem}" for f in findings)
    assert done == len(inputs)
    print(f"{target}: {done} inputs of 1 MB, slowest {slowest:.2f} s")
