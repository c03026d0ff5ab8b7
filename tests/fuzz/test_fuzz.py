"""A bounded mutation fuzzer over every parser of outside input, seeded with the real inputs in the
repository (captured Keras logs, tegrastats lines, the suites and targets TOML, stored events).

Each target gets a share of FUZZ_SECONDS (about one minute in all) and must never raise anything
but its own documented error. A failure names the mutation seed and writes the input that broke
it under the test's tmp folder, so it can be replayed: `fuzz_one(TARGET, SEED)`.
Property-based tests of the same parsers: tests/unit/test_bad_input.py.
"""

from __future__ import annotations

import io
import json
import random
import time
from pathlib import Path

import pytest

from benchmarks.events import PREFIX
from benchmarks.telemetry.tegrastats import parse_line as tegrastats_line
from harness import config
from harness.cli import main
from harness.errors import UsageError
from harness.events import BadEvent, parse_line
from harness.importers import keras_log
from harness.plan import expand, parse_overrides

from tests.unit.test_tegrastats import LINES as TEGRASTATS_LINES

REPO = Path(__file__).resolve().parents[2]
FUZZ_SECONDS = 60.0
INTERESTING = [b"\r", b"\b", b"\n", b"\x1b[2K", b"\x00", b"\xff", b"/", b"=", b"[", b"]", b"{", b"}", b'"', b"'''",
               b"-", b".", b"@", b"%", b"nan", b"inf", b"-1", b"0", b"9" * 5000, b"[" * 3000, b"1e999", b"\xe2\x94\x81",
               b"../", b"2020-02-30", b"Epoch 3/2\n", b" - ", b"ms/step", b"mW/", b"\n[[jobs]]\n", b"\n[targets.x]\n"]


def _seeds() -> dict[str, list[bytes]]:
    logs = [p.read_bytes() for p in sorted((REPO / "tests" / "data" / "keras_logs").glob("*.log"))]
    tomls = [p.read_bytes() for p in sorted((REPO / "benchmarks" / "suites").glob("*.toml"))]
    events = [line.encode() for p in sorted((REPO / "tests" / "data" / "reports").rglob("events.jsonl"))
              for line in p.read_text().splitlines()[:40]]
    return {
        "keras_log": logs,
        "tegrastats": [line.encode() for line in TEGRASTATS_LINES],
        "suite_toml": tomls,
        "targets_toml": [(REPO / "harness" / "targets.toml").read_bytes(),
                         b'[targets.box]\nrunner = "docker"\nimage = "x"\ntimeout_s = 60\nprice_usd = 1.5\n'],
        "overrides": [b"epochs=3", b"mnist_mlp.l2=1e-4", b"dropout=0.5", b'dataset="digits"', b"batch_size=64"],
        "events": [PREFIX.encode() + line for line in events],
    }


def mutate(rng: random.Random, data: bytes, corpus: list[bytes]) -> bytes:
    for _ in range(rng.randint(1, 6)):
        where = rng.randint(0, len(data))
        choice = rng.randrange(7)
        if choice == 0 and data:      # flip a byte
            where = min(where, len(data) - 1)
            data = data[:where] + bytes([rng.randrange(256)]) + data[where + 1:]
        elif choice == 1:             # insert something awkward
            data = data[:where] + rng.choice(INTERESTING) + data[where:]
        elif choice == 2:             # delete a span
            data = data[:where] + data[where + rng.randint(1, 64):]
        elif choice == 3:             # duplicate a span
            span = data[where:where + rng.randint(1, 200)]
            data = data[:where] + span * rng.randint(2, 20) + data[where:]
        elif choice == 4:             # splice another seed
            other = rng.choice(corpus)
            cut = rng.randint(0, len(other))
            data = data[:where] + other[cut:cut + rng.randint(1, 400)]
        elif choice == 5:             # truncate
            data = data[:where]
        else:                         # replace a digit run with another number
            data = data[:where] + str(rng.choice([0, -1, 2 ** 63, 10 ** 30, 7])).encode() + data[where + 1:]
    return data[:200_000]


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def check_keras_log(data: bytes, tmp: Path) -> None:
    log = keras_log.parse(_text(data))
    json.dumps(keras_log.metrics_of(log, 32))


def check_tegrastats(data: bytes, tmp: Path) -> None:
    assert isinstance(tegrastats_line(_text(data)), dict)


def check_events(data: bytes, tmp: Path) -> None:
    for line in _text(data).splitlines() or [""]:
        try:
            parse_line(line)
        except BadEvent:
            pass


def check_overrides(data: bytes, tmp: Path) -> None:
    try:
        expand(config.load_suite("quickstart", {}), parse_overrides(_text(data).split("\x00")))
    except UsageError:
        pass


def check_suite_toml(data: bytes, tmp: Path) -> None:
    path = tmp / "suite.toml"
    path.write_bytes(data)
    try:
        expand(config.load_suite(str(path), {}), [])
    except UsageError:
        pass


def check_targets_toml(data: bytes, tmp: Path) -> None:
    """At the CLI: exit 0, or 2 with exactly one line on stderr (never a traceback)."""
    path = tmp / "harness.toml"
    path.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    code = main(["--config", str(path), "list", "targets"], stdout=out, stderr=err)
    lines = err.getvalue().strip().splitlines()
    assert code == 0 or (code == 2 and len(lines) == 1 and lines[0].startswith("harness: error: ")), (code, lines)


TARGETS = {"keras_log": (check_keras_log, 0.22), "tegrastats": (check_tegrastats, 0.12),
           "events": (check_events, 0.12), "overrides": (check_overrides, 0.12),
           "suite_toml": (check_suite_toml, 0.2), "targets_toml": (check_targets_toml, 0.22)}


def fuzz_one(name: str, seed: int, tmp: Path, seeds: dict[str, list[bytes]] | None = None) -> bytes:
    """The input of mutation `seed` for target `name`, checked."""
    corpus = (seeds or _seeds())[name]
    rng = random.Random(f"{name}-{seed}")
    data = mutate(rng, rng.choice(corpus), corpus)
    TARGETS[name][0](data, tmp)
    return data


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_fuzz(name, tmp_path):
    seeds = _seeds()
    deadline = time.monotonic() + FUZZ_SECONDS * TARGETS[name][1]
    base = random.SystemRandom().randrange(10 ** 9)
    count = 0
    while time.monotonic() < deadline:
        seed = base + count
        try:
            fuzz_one(name, seed, tmp_path, seeds)
        except Exception as error:
            rng = random.Random(f"{name}-{seed}")
            data = mutate(rng, rng.choice(seeds[name]), seeds[name])
            (tmp_path / "crash.bin").write_bytes(data)
            raise AssertionError(f"{name}: mutation seed {seed} raised {type(error).__name__}: {error}; "
                                 f"input in {tmp_path / 'crash.bin'}; replay: fuzz_one({name!r}, {seed}, tmp)") from error
        count += 1
    assert count > 0
    print(f"{name}: {count} inputs")
