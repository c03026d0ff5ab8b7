"""`make fuzz`: open-ended random exploration, time-boxed (FUZZ_SECONDS, default 120, shared by the
targets). Prints the seeds it used and, for anything it finds, the replay command; each finding's
input is written to tests/fuzz/corpus/TARGET/found-SEED.bin, to commit once fixed, so `make test`
replays it from then on."""

from __future__ import annotations

import os
import random
import sys
import time

from tests.fuzz import guard, targets

BATCH = 200
DEADLINE_S = 2.0


def main() -> int:
    budget = float(os.environ.get("FUZZ_SECONDS", "120"))
    base = int(os.environ.get("FUZZ_BASE", random.SystemRandom().randrange(10 ** 6, 10 ** 9)))
    print(f"fuzz: base seed {base}, {budget:g} s over {len(targets.CHECKS)} targets (FUZZ_BASE={base} repeats this)")
    corpus = targets.seeds()
    found = 0
    share = budget / len(targets.CHECKS)
    for name in sorted(targets.CHECKS):
        stop, first, ran = time.monotonic() + share, base, 0
        while time.monotonic() < stop:
            findings, done, _ = guard.run(name, ["seeds", str(first), str(BATCH)], DEADLINE_S)
            ran += done
            for finding in findings:
                found += 1
                seed = int(finding.ident) if finding.ident.isdigit() else first
                path = targets.CORPUS / name / f"found-{seed}.bin"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(targets.mutation(name, seed, corpus))
                print(f"FOUND {name} seed {seed}: {finding.problem}\n  input: {path}\n  replay: {finding.replay()}")
            first += BATCH if not findings else max(done, 1)
        print(f"fuzz: {name}: seeds {base}..{first - 1}, {ran} inputs")
    print(f"fuzz: {found} finding(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
