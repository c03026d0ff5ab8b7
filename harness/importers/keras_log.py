"""Keras console logs (what notebooks and terminals show) -> epochs, so legacy results compare.

Handles Keras 2 progress bars (`115/115 [====] - 281s 2s/step - loss: 0.69 - acc: 0.81`), Keras 2
and 3 `verbose=2` lines (`400/400 - 1s - loss: ... - 790ms/epoch - 2ms/step`, `44/44 - 1s -
14ms/step - accuracy: ...`) and Keras 3 bars (`━━━`, ANSI colours, `5ms/step` before the
metrics). A captured terminal's carriage returns and backspaces are replayed like a terminal
would, so only the last state of each progress line remains. Lines it cannot read are counted,
never fatal.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from .. import stats

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# counts of at most 15 digits: longer ones are not Keras output (and int() refuses > 4,300 digits)
EPOCH = re.compile(r"^Epoch (\d{1,15})/(\d{1,15})$")
PROGRESS = re.compile(r"^(\d{1,15})/(\d{1,15})(?=\s|$)")
DURATION = r"(\d+(?:\.\d+)?)(us|ms|s)"
PER_STEP = re.compile(DURATION + r"/step\b")
PER_EPOCH = re.compile(DURATION + r"/epoch\b")
# the elapsed time right after the bar (`] - 281s`, `━ 1s`) or the counter (`44/44 - 1s -`)
ELAPSED = re.compile(r"^\d+/\d+(?:\s+\S*[\]━─]\S*)*\s+(?:-\s+)?" + DURATION + r"(?=[\s]|$)")
METRIC = re.compile(r"(?:^|\s)-\s+([A-Za-z_][\w]*):\s+(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|nan|inf)")
UNIT = {"us": 1e-6, "ms": 1e-3, "s": 1.0}
PRECISE_ELAPSED_S = 10.0  # below this, Keras' whole-second elapsed time is too coarse


@dataclasses.dataclass
class Epoch:
    number: int
    steps: int
    seconds: float | None
    seconds_from: str              # "per-epoch" | "elapsed" | "steps x step time"
    step_seconds: float | None
    metrics: dict[str, float]


@dataclasses.dataclass
class ParsedLog:
    epochs: list[Epoch]
    flavour: str                   # "keras2" | "keras3"
    lines: int                     # rendered non-blank lines
    unreadable: int                # lines that were neither an epoch header nor a progress line
    unreadable_examples: list[str]


def render(text: str) -> list[str]:
    """Replay \\r and \\b like a terminal: each line's final visible text, ANSI codes removed."""
    lines = []
    for raw in ANSI.sub("", text).split("\n"):
        if "\r" not in raw and "\b" not in raw:
            lines.append(raw)
            continue
        screen: list[str] = []
        cursor = 0
        for char in raw:
            if char == "\r":
                cursor = 0
            elif char == "\b":
                cursor = max(0, cursor - 1)
            else:
                if cursor < len(screen):
                    screen[cursor] = char
                else:
                    screen.append(char)
                cursor += 1
        lines.append("".join(screen))
    return lines


def _seconds(match: re.Match | None) -> float | None:
    return float(match.group(1)) * UNIT[match.group(2)] if match else None


def _epoch(number: int, line: str, steps: int) -> Epoch:
    per_step = _seconds(PER_STEP.search(line))
    per_epoch = _seconds(PER_EPOCH.search(line))
    elapsed = _seconds(ELAPSED.search(line))
    metrics = {name: float(value) for name, value in METRIC.findall(line)}
    if per_epoch is not None:
        seconds, source = per_epoch, "per-epoch"
    elif elapsed is not None and (elapsed >= PRECISE_ELAPSED_S or per_step is None):
        seconds, source = elapsed, "elapsed"
    elif per_step is not None:
        seconds, source = per_step * steps, "steps x step time"
    else:
        seconds, source = None, "none"
    return Epoch(number, steps, seconds, source, per_step, metrics)


def parse(text: str) -> ParsedLog:
    """Epochs from a log. A progress line counts for its epoch only when it is complete (N/N);
    the last complete line of an epoch wins (verbose=1 rewrites it after validation)."""
    epochs: dict[int, Epoch] = {}
    current = 1
    lines = unreadable = 0
    examples: list[str] = []
    for line in (line.strip() for line in render(text)):
        if not line:
            continue
        lines += 1
        header = EPOCH.match(line)
        progress = PROGRESS.match(line)
        if header:
            current = int(header.group(1))
        elif progress:
            step, total = int(progress.group(1)), int(progress.group(2))
            if step == total and total > 0:
                epochs[current] = _epoch(current, line, total)
        else:
            unreadable += 1
            if len(examples) < 3:
                examples.append(line[:120])
    keras3 = "━" in text or re.search(r"\d+/\d+ - \d+\w?s - " + DURATION + r"/step", text) is not None
    return ParsedLog([epochs[n] for n in sorted(epochs)], "keras3" if keras3 else "keras2", lines, unreadable,
                     examples)


def _metric(metrics: dict[str, float], *names: str) -> float | None:
    return next((metrics[n] for n in names if n in metrics), None)


def metrics_of(log: ParsedLog, batch_size: int | None) -> dict[str, Any]:
    """result.json metrics, named as a harness run's. Throughput is epoch-based (the log has no
    per-step times): samples of the steady epochs (all but the first) over their seconds."""
    seconds = [e.seconds for e in log.epochs if e.seconds is not None]
    steady = log.epochs[1:] if len(log.epochs) > 1 else log.epochs
    steady_seconds = sum(e.seconds or 0 for e in steady)
    steady_samples = sum(e.steps for e in steady) * batch_size if batch_size else None
    last = log.epochs[-1].metrics if log.epochs else {}
    step_times = [e.step_seconds for e in steady if e.step_seconds is not None]
    return {
        "epoch_seconds": seconds,
        "first_epoch_seconds": log.epochs[0].seconds if log.epochs else None,
        "steady_epoch_seconds": stats.median([e.seconds for e in log.epochs[1:] if e.seconds is not None]),
        "train_seconds": sum(seconds) if seconds else None,
        "steps": sum(e.steps for e in log.epochs),
        "steady_steps": sum(e.steps for e in steady),
        "step_seconds_median": stats.median(step_times),
        "step_seconds_p95": None,
        "samples_per_sec": steady_samples / steady_seconds if steady_samples and steady_seconds > 0 else None,
        "time_to_first_step_seconds": None,
        "final_accuracy": _metric(last, "accuracy", "acc", "sparse_categorical_accuracy"),
        "final_loss": _metric(last, "loss"),
        "final_val_accuracy": _metric(last, "val_accuracy", "val_acc", "val_sparse_categorical_accuracy"),
        "final_val_loss": _metric(last, "val_loss"),
    }
