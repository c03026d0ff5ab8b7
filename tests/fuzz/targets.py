"""The fuzz targets: every parser of outside input, each with the seed inputs it is mutated from
(the real inputs in the repository) and a check that it only ever raises its own documented error.

Used by test_fuzz.py (fixed seeds and the corpus, in `make test`), test_parsers_bounded.py (megabyte
pathological inputs) and explore.py (`make fuzz`, open-ended). Each input runs in worker.py's own
process under a deadline, so a hang is a failure with a replay, never a stuck suite.
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

from harness_jobs.events import PREFIX
from harness_jobs.telemetry.tegrastats import parse_line as tegrastats_line
from harness import config, jobdata
from harness.cli import main
from harness.errors import UsageError
from harness.events import BadEvent, parse_line
from harness.importers import keras_log, notebook
from harness.plan import expand, parse_overrides

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"
INTERESTING = [b"\r", b"\b", b"\n", b"\x1b[2K", b"\x00", b"\xff", b"/", b"=", b"[", b"]", b"{", b"}", b'"', b"'''",
               b"-", b".", b"@", b"%", b"nan", b"inf", b"-1", b"0", b"9" * 5000, b"[" * 3000, b"1e999", b"\xe2\x94\x81",
               b"../", b"2020-02-30", b"Epoch 3/2\n", b" - ", b"ms/step", b"mW/", b"\n[[jobs]]\n", b"\n[targets.x]\n",
               b" ]]]]", b" ETA: 0s", b"us/sample", b"Train on 10 samples\n", b"\\r", b'"outputs": [']


def _tegrastats_lines() -> list[bytes]:
    from tests.unit.test_tegrastats import LINES
    return [line.encode() for line in LINES]


def seeds() -> dict[str, list[bytes]]:
    logs = [p.read_bytes() for p in sorted((REPO / "tests" / "data" / "keras_logs").glob("*.log"))]
    tomls = [p.read_bytes() for p in sorted((REPO / "benchmarks" / "suites").glob("*.toml"))]
    events = [line.encode() for p in sorted((REPO / "tests" / "data" / "reports").rglob("events.jsonl"))
              for line in p.read_text().splitlines()[:40]]
    return {
        "keras_log": logs,
        "notebook": [p.read_bytes() for p in sorted((REPO / "tests" / "data" / "keras_logs").glob("*.ipynb"))],
        "tegrastats": _tegrastats_lines(),
        "suite_toml": tomls,
        "targets_toml": [(REPO / "harness" / "targets.toml").read_bytes(),
                         b'[targets.box]\nrunner = "docker"\nimage = "x"\ntimeout_s = 60\nprice_usd = 1.5\n'],
        "overrides": [b"epochs=3", b"mnist_mlp.l2=1e-4", b"dropout=0.5", b'dataset="digits"', b"batch_size=64"],
        "events": [PREFIX.encode() + line for line in events],
        "stored_events": [p.read_bytes()[:20000] for p in sorted((REPO / "tests" / "data" / "reports").rglob("events.jsonl"))],
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


def mutation(name: str, seed: int, corpus: dict[str, list[bytes]]) -> bytes:
    """The input of mutation `seed` for target `name`: the same bytes on every machine."""
    rng = random.Random(f"{name}-{seed}")
    return mutate(rng, rng.choice(corpus[name]), corpus[name])


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def check_keras_log(data: bytes, tmp: Path) -> None:
    log = keras_log.parse(_text(data))
    json.dumps(keras_log.metrics_of(log, 32))
    assert len(log.epochs) <= max(1, _text(data).count("\n") + 1) * 4


def check_notebook(data: bytes, tmp: Path) -> None:
    try:
        for cell in notebook.stream_texts(_text(data), "fuzz.ipynb"):
            keras_log.parse(cell.text)
    except UsageError:
        pass


def check_tegrastats(data: bytes, tmp: Path) -> None:
    assert isinstance(tegrastats_line(_text(data)), dict)


def check_events(data: bytes, tmp: Path) -> None:
    for line in _text(data).splitlines() or [""]:
        try:
            parse_line(line)
        except BadEvent:
            pass


def check_stored_events(data: bytes, tmp: Path) -> None:
    parsed = jobdata.parse(_text(data))
    assert parsed.steps["seconds"].size <= _text(data).count('"step"')


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


CHECKS = {"keras_log": check_keras_log, "notebook": check_notebook, "tegrastats": check_tegrastats,
          "events": check_events, "stored_events": check_stored_events, "overrides": check_overrides,
          "suite_toml": check_suite_toml, "targets_toml": check_targets_toml}


# The pattern the importer used before issue 12 (nested quantifiers: exponential on `]]]]` tokens);
# kept only so test_fuzz can prove that the guard kills a real hang.
OLD_ELAPSED = r"^\d+/\d+(?:\s+\S*[\]━─]\S*)*\s+(?:-\s+)?(\d+(?:\.\d+)?)(us|ms|s)(?=[\s]|$)"


def check_old_elapsed_pattern(data: bytes, tmp: Path) -> None:
    import re
    pattern = re.compile(OLD_ELAPSED)
    for line in keras_log.render(_text(data)):
        pattern.search(line.strip())


GUARD_DEMOS = {"old_elapsed_pattern": check_old_elapsed_pattern}
