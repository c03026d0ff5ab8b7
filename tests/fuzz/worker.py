"""Runs fuzz inputs for one target in a process of its own and reports each on stdout, so the
caller (guard.py) can hold every input to a deadline and kill a hang:

    python -m tests.fuzz.worker TARGET seeds FIRST COUNT
    python -m tests.fuzz.worker TARGET files PATH...

Lines: `ready`, then per input `start ID`, and `ok ID SECONDS` or `fail ID MESSAGE`.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    from tests.fuzz import targets
    name, mode, *rest = argv
    check = {**targets.CHECKS, **targets.GUARD_DEMOS}[name]
    if mode == "seeds":
        corpus = targets.seeds()
        first, count = int(rest[0]), int(rest[1])
        inputs = ((str(seed), lambda seed=seed: targets.mutation(name, seed, corpus))
                  for seed in range(first, first + count))
    else:
        inputs = ((path, lambda path=path: Path(path).read_bytes()) for path in rest)
    print("ready", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for ident, make in inputs:
            data = make()
            print("start", ident, flush=True)
            began = time.perf_counter()
            try:
                check(data, Path(tmp))
            except Exception as error:  # the finding itself: reported, not raised
                message = f"{type(error).__name__}: {error}".replace("\n", " ")[:300]
                print("fail", ident, message, flush=True)
                continue
            print("ok", ident, f"{time.perf_counter() - began:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
