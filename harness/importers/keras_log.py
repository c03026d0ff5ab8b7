"""Keras console logs (what notebooks and terminals show) -> epochs, so legacy results compare.

Reads every format people publish (docs/import-formats.md has one example line each): Keras 2 bars
(`115/115 [====] - 281s 2s/step - loss: 0.69`), the sample-counting bars of Keras 2.0-2.3 and TF
2.0/2.1 (`60000/60000 [====] - 5s 83us/sample`), `verbose=2` lines with a counter (`400/400 - 1s -
loss: ... - 790ms/epoch`) or without one (Keras 2.0-2.2: ` - 18s - loss: ...`), Keras 3 bars (`━━━`),
an epoch header and its bar flattened onto one line, and `evaluate()`/`predict()` bars after
`fit()`, which are kept apart from the training epochs. A captured terminal's carriage returns and
backspaces are replayed like a terminal would, so only the last state of each progress line stays.

Parsing is a single pass over whitespace-separated tokens; the only regular expressions are
anchored, bounded and matched against one token each, so time is linear in the input (a hang
guard in tests/unit/test_parsers_bounded.py feeds it megabyte pathological inputs). Lines it
cannot read are counted, never fatal.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

from .. import stats

ANSI = re.compile(r"\x1b\[[0-9;?]{0,32}[A-Za-z]")
COUNTER = re.compile(r"(\d{1,15})/(\d{1,15})")
# a metric value and a counter glued together when a capture lost its \r (Keras prints 4 decimals)
GLUED_COUNTER = re.compile(r"(-?\d{1,15}\.\d{4})(\d{1,15}/\d{1,15})")
DURATION = re.compile(r"(\d{1,15}(?:\.\d{1,15})?)(us|ms|s)")
PER_UNIT = re.compile(r"(\d{1,15}(?:\.\d{1,15})?)(us|ms|s)/(step|epoch|sample)")
METRIC_NAME = re.compile(r"([A-Za-z_]\w{0,199}):")
NUMBER = re.compile(r"-?(?:\d{1,30}(?:\.\d{1,30})?(?:[eE][-+]?\d{1,4})?|nan|inf)")
ETA_TIME = re.compile(r"(?:\d{1,6}:){0,2}\d{1,6}(?:\.\d{1,6})?(?:us|ms|s)?")
TRAIN_ON = re.compile(r"Train on (\d{1,15}) samples")
BAR_CHARS = frozenset("[]=>.━─╸╺-")
UNIT = {"us": 1e-6, "ms": 1e-3, "s": 1.0}
PRECISE_ELAPSED_S = 10.0  # below this, Keras' whole-second elapsed time is too coarse
COUNTS = ("auto", "steps", "samples")
PROGRESS_EVERY = 4096      # lines between progress callbacks


@dataclasses.dataclass
class Bar:
    """One progress line (or its last state): what it printed, nothing inferred yet."""

    step: int | None               # the counter's position; None for Keras 2.0-2.2 verbose=2 lines
    total: int | None
    elapsed: float | None          # the time right after the bar or counter
    per_step: float | None         # `2ms/step` (per sample on Keras 2.2-2.3 when counting samples)
    per_epoch: float | None
    per_sample: float | None
    metrics: dict[str, float]
    residue: bool = False          # a longer earlier line's tail followed it (ignored)
    glyphs: bool = False           # a drawn bar (`[===]`, `━━━`), not a verbose=2 line
    unit_first: bool = False       # a `/step` time came before the metrics

    @property
    def complete(self) -> bool:
        return self.step is None or (self.total is not None and self.total > 0 and self.step >= self.total)


@dataclasses.dataclass
class Epoch:
    number: int
    steps: int | None              # None when the log counts samples and no batch size is known
    samples: int | None
    seconds: float | None
    seconds_from: str              # "per-epoch" | "elapsed" | "steps x step time" | "samples x sample time" | "none"
    step_seconds: float | None
    metrics: dict[str, float]
    complete: bool = True          # False: the log ends (or the next epoch starts) mid-epoch
    numbered_from: str = "header"  # "header" | "next header" (the log starts mid-epoch) | "assumed"


@dataclasses.dataclass
class Evaluation:
    """An evaluate() (metrics) or predict() (none) bar after training: never an epoch."""

    kind: str
    after_epoch: int | None
    steps: int | None
    seconds: float | None
    metrics: dict[str, float]


@dataclasses.dataclass
class ParsedLog:
    epochs: list[Epoch]
    flavour: str                   # "keras2" | "keras3"
    lines: int                     # rendered non-blank lines
    unreadable: int                # lines that were neither an epoch header nor a progress line
    unreadable_examples: list[str]
    evaluations: list[Evaluation] = dataclasses.field(default_factory=list)
    counts: str = "steps"          # what the progress counter counts: "steps" | "samples" | "unknown"
    counts_from: str = "default"   # why: the unit, a `Train on N samples` line, the counters' stride, --counts
    notes: list[str] = dataclasses.field(default_factory=list)


def render(text: str) -> list[str]:
    """Replay \\r and \\b like a terminal: each line's final visible text, ANSI codes removed.

    Linear: a line with only \\r is overlaid from its last segment back; \\b uses a cursor."""
    return [_render_line(raw) for raw in ANSI.sub("", text).split("\n")]


def _render_line(raw: str) -> str:
    if "\b" in raw:
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
        return "".join(screen)
    if "\r" not in raw:
        return raw
    parts: list[str] = []
    width = 0
    for segment in reversed(raw.split("\r")):
        if len(segment) > width:
            parts.append(segment[width:])
            width = len(segment)
    return "".join(parts)


def _tokens(line: str) -> list[str]:
    out: list[str] = []
    for token in line.split():
        glued = GLUED_COUNTER.fullmatch(token) if "/" in token else None
        out.extend(glued.groups() if glued else (token,))
    return out


def _seconds(match: re.Match[str] | None) -> float | None:
    return float(match.group(1)) * UNIT[match.group(2)] if match else None


def _is_bar(token: str) -> bool:
    return all(char in BAR_CHARS for char in token)


def _bar(tokens: list[str]) -> Bar:
    """A progress segment: counter (or none), bar glyphs, times and metrics. The final line's own
    fields end where a longer earlier line's tail begins: a value glued to more characters
    (`0.5711.594`), an `ETA:` after the elapsed time, or a metric name seen twice."""
    counter = COUNTER.fullmatch(tokens[0]) if tokens else None
    step, total = (int(counter.group(1)), int(counter.group(2))) if counter else (None, None)
    bar = Bar(step, total, None, None, None, None, {})
    index = 1 if counter else 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if _is_bar(token):
            bar.glyphs = bar.glyphs or token != "-"
            continue
        if token == "ETA:":
            if bar.elapsed is not None or bar.metrics and bar.complete:
                bar.residue = True
                break
            if index < len(tokens) and ETA_TIME.fullmatch(tokens[index]):
                index += 1
            continue
        per_unit = PER_UNIT.fullmatch(token)
        if per_unit:
            field = "per_" + per_unit.group(3)
            if getattr(bar, field) is not None:
                bar.residue = True
                break
            setattr(bar, field, _seconds(per_unit))
            bar.unit_first = bar.unit_first or not bar.metrics
            continue
        duration = DURATION.fullmatch(token)
        if duration:
            if bar.elapsed is None and not bar.metrics:
                bar.elapsed = _seconds(duration)
            continue
        name = METRIC_NAME.fullmatch(token)
        if name:
            if name.group(1) in bar.metrics:
                bar.residue = True
                break
            value = NUMBER.match(tokens[index]) if index < len(tokens) else None
            if value is None:
                continue
            bar.metrics[name.group(1)] = float(value.group(0))
            index += 1
            if value.end() < len(tokens[index - 1]):
                bar.residue = True
                break
    return bar


def _segments(tokens: list[str]) -> Iterator[tuple[str, Any]]:
    """("header", (n, total)), ("bar", Bar) and ("other", None) items of one line, in order; a
    line may hold several (a Markdown paste flattens `Epoch 1/5 703/703 [===] ...`)."""
    start = index = 0
    while index < len(tokens):
        token = tokens[index]
        header = token == "Epoch" and index + 1 < len(tokens) and COUNTER.fullmatch(tokens[index + 1])
        new_bar = index > start and COUNTER.fullmatch(token) and (
            index + 1 == len(tokens) or _is_bar(tokens[index + 1]))
        if header or new_bar:
            if index > start:
                yield _segment(tokens[start:index])
            if header:
                yield "header", (int(header.group(1)), int(header.group(2)))
                index += 2
                start = index
                continue
            start = index
        index += 1
    if start < len(tokens):
        yield _segment(tokens[start:])


def _segment(tokens: list[str]) -> tuple[str, Any]:
    if COUNTER.fullmatch(tokens[0]):
        return "bar", _bar(tokens)
    if tokens[0] == "-" and len(tokens) > 1 and DURATION.fullmatch(tokens[1]):  # Keras 2.0-2.2 verbose=2
        return "bar", _bar(tokens)
    return "other", None


@dataclasses.dataclass
class _Draft:
    """An epoch being read: its number, the last state of its bar and whether it finished."""

    number: int
    numbered_from: str
    bar: Bar | None = None
    finished: bool = False


def _same_epoch_again(old: Bar, new: Bar) -> bool:
    """verbose=1 prints an epoch's final line twice (again once validation has run): same counter,
    the same training metrics, validation metrics added."""
    if new.total != old.total or not new.complete:
        return False
    return all(new.metrics.get(name) == value for name, value in old.metrics.items()) and (
        bool(new.metrics) or not old.metrics)


class _Reader:
    """The state machine over a log's items: epochs, evaluations, and what the counters count."""

    def __init__(self) -> None:
        self.drafts: list[_Draft] = []
        self.evaluations: list[tuple[Bar, int | None]] = []
        self.headers = 0
        self.fits = 1
        self.train_samples: int | None = None
        self.strides: list[int] = []   # counters of unfinished bars, to tell a sample counter
        self.notes: list[str] = []

    def header(self, number: int) -> None:
        last = self.drafts[-1] if self.drafts else None
        if last is not None and number <= last.number and last.numbered_from == "header":
            self.fits += 1
            self.notes.append(f"the log holds {self.fits} fit() runs (epoch {number} follows epoch {last.number}); "
                              "the last one is imported")
            self.drafts.clear()
            self.evaluations.clear()
        if not self.headers and last is not None and last.numbered_from == "assumed":
            last.number, last.numbered_from = number - 1, "next header"   # the log starts mid-epoch
            if last.number < 1:
                self.drafts.pop()
        self.headers += 1
        self.drafts.append(_Draft(number, "header"))

    def bar(self, bar: Bar) -> None:
        draft = self.drafts[-1] if self.drafts else None
        if draft is None:
            draft = _Draft(1, "assumed")
            self.drafts.append(draft)
        if draft.finished:
            if draft.bar is not None and _same_epoch_again(draft.bar, bar) and not self.evaluations:
                draft.bar = bar
            elif bar.complete:
                self.evaluations.append((bar, draft.number))
            return
        if not bar.complete and bar.step is not None:
            self.strides.append(bar.step)
        draft.bar = bar
        draft.finished = bar.complete


def _counts(reader: _Reader, bars: list[Bar], forced: str) -> tuple[str, str]:
    if forced != "auto":
        return forced, "--counts " + forced
    if any(bar.per_sample is not None for bar in bars):
        return "samples", "the us/sample unit"
    if reader.train_samples and any(bar.total in (reader.train_samples, None) for bar in bars):
        return "samples", f"a 'Train on {reader.train_samples} samples' line"
    if len(reader.strides) >= 2:
        stride = math.gcd(*reader.strides)
        if stride > 1:
            return "samples", f"progress counters advance by {stride}"
    if any(bar.glyphs and bar.elapsed is not None and bar.per_step is None and bar.per_epoch is None
           for bar in bars):
        # Keras <= 2.1 prints no per-step time and counted samples for arrays but steps for generators
        return "unknown", "a Keras <= 2.1 bar, which may count samples or steps"
    return "steps", "default"


def _epoch(draft: _Draft, counts: str, batch_size: int | None, train_samples: int | None) -> Epoch:
    bar = draft.bar
    assert bar is not None
    count = bar.total if bar.complete else bar.step   # None on a counter-less verbose=2 line
    if count is None and counts == "samples":
        count = train_samples          # verbose=2 without a counter: the `Train on N samples` figure
    if counts == "unknown":
        steps = samples = step_seconds = from_units = None
        units_source = "none"
    elif counts == "samples":
        samples = count
        steps = math.ceil(samples / batch_size) if samples is not None and batch_size else None
        per_sample = bar.per_sample if bar.per_sample is not None else bar.per_step
        step_seconds = per_sample * batch_size if per_sample is not None and batch_size else None
        from_units = per_sample * samples if per_sample is not None and samples else None
        units_source = "samples x sample time"
    else:
        steps = count
        samples = steps * batch_size if steps is not None and batch_size else None
        step_seconds = bar.per_step
        from_units = bar.per_step * steps if bar.per_step is not None and steps else None
        units_source = "steps x step time"
    if not bar.complete:
        seconds, source = None, "none"   # an interrupted epoch printed an ETA, not its time
    elif bar.per_epoch is not None:
        seconds, source = bar.per_epoch, "per-epoch"
    elif bar.elapsed is not None and (bar.elapsed >= PRECISE_ELAPSED_S or from_units is None):
        seconds, source = bar.elapsed, "elapsed"
    elif from_units is not None:
        seconds, source = from_units, units_source
    else:
        seconds, source = None, "none"
    return Epoch(draft.number, steps, samples, seconds, source, step_seconds, dict(bar.metrics),
                 complete=bar.complete, numbered_from=draft.numbered_from)


def parse(text: str, batch_size: int | None = None, counts: str = "auto",
          progress: Callable[[int, int], None] | None = None) -> ParsedLog:
    """Epochs from a log. A progress line counts for its epoch when it is complete (N/N); an
    epoch's last line before the next header wins; `progress(lines_done, lines_total)` is called
    every few thousand lines."""
    reader = _Reader()
    bars: list[Bar] = []
    lines = unreadable = 0
    examples: list[str] = []
    rendered = render(text)
    for number, raw in enumerate(rendered):
        if progress is not None and number % PROGRESS_EVERY == 0:
            progress(number, len(rendered))
        line = raw.strip()
        if not line:
            continue
        lines += 1
        train_on = TRAIN_ON.match(line)
        if train_on:
            reader.train_samples = int(train_on.group(1))
            continue
        readable = False
        for kind, item in _segments(_tokens(line)):
            if kind == "header":
                reader.header(item[0])
                readable = True
            elif kind == "bar":
                bars.append(item)
                reader.bar(item)
                readable = True
        if not readable:
            unreadable += 1
            if len(examples) < 3:
                examples.append(line[:120])
    if progress is not None:
        progress(len(rendered), len(rendered))
    counted, counted_from = _counts(reader, bars, counts)
    epochs = [_epoch(d, counted, batch_size, reader.train_samples) for d in reader.drafts if d.bar is not None]
    notes = list(reader.notes)
    notes += [f"epoch {e.number} is incomplete (the log ends or the next epoch starts mid-epoch); "
              "it is kept but not timed" for e in epochs if not e.complete]
    notes += [f"epoch {e.number} has no Epoch header (the log starts mid-run)"
              for e in epochs if e.numbered_from != "header"]
    if counted == "unknown":
        notes.append("the log does not say whether its counters count samples or steps: pass --counts samples "
                     "(model.fit on arrays) or --counts steps (fit_generator or a dataset); steps and samples/s "
                     "are left unknown")
    if counted == "samples" and not batch_size:
        notes.append("the log counts samples; without --batch-size its steps are unknown (samples/s is exact)")
    evaluations = [_evaluation(bar, after, counted, batch_size) for bar, after in reader.evaluations]
    # Keras 3 draws `━`; its verbose=2 line puts `2ms/step` before the metrics, Keras 2's after them
    keras3 = "━" in text or any(not bar.glyphs and bar.step is not None and bar.unit_first and bar.metrics
                                for bar in bars)
    return ParsedLog(epochs, "keras3" if keras3 else "keras2", lines, unreadable, examples,
                     evaluations, counted, counted_from, notes)


def _evaluation(bar: Bar, after: int | None, counts: str, batch_size: int | None) -> Evaluation:
    steps = bar.total if counts == "steps" else (math.ceil(bar.total / batch_size)
                                                  if counts == "samples" and bar.total and batch_size else None)
    seconds = bar.per_epoch if bar.per_epoch is not None else bar.elapsed
    return Evaluation("evaluate" if bar.metrics else "predict", after, steps, seconds, dict(bar.metrics))


def _metric(metrics: dict[str, float], *names: str) -> float | None:
    return next((metrics[n] for n in names if n in metrics), None)


def metrics_of(log: ParsedLog, batch_size: int | None) -> dict[str, Any]:
    """result.json metrics, named as a harness run's. Throughput is epoch-based (the log has no
    per-step times): samples of the steady epochs over their seconds. The first epoch is warm-up
    only when the log starts at epoch 1; incomplete epochs are kept but never timed."""
    complete = [e for e in log.epochs if e.complete]
    warmup = complete[0] if complete and complete[0].number == 1 and complete[0].numbered_from == "header" else None
    steady = [e for e in complete if e is not warmup] or complete
    seconds = [e.seconds for e in complete if e.seconds is not None]
    def samples(epoch: Epoch) -> int | None:
        if epoch.samples is not None:
            return epoch.samples
        return epoch.steps * batch_size if epoch.steps is not None and batch_size else None

    timed = [e for e in steady if e.seconds is not None and samples(e) is not None]
    steady_seconds = sum(e.seconds or 0.0 for e in timed)
    steady_samples = sum(samples(e) or 0 for e in timed)
    last = complete[-1].metrics if complete else {}
    evaluated = next((ev.metrics for ev in reversed(log.evaluations) if ev.metrics), {})
    step_times = [e.step_seconds for e in steady if e.step_seconds is not None]
    steps = [e.steps for e in log.epochs]
    return {
        "epoch_seconds": seconds,
        "first_epoch_seconds": warmup.seconds if warmup else None,
        "steady_epoch_seconds": stats.median([e.seconds for e in steady if e.seconds is not None and e is not warmup]
                                             if warmup else [e.seconds for e in steady if e.seconds is not None]),
        "train_seconds": sum(seconds) if seconds else None,
        "steps": sum(s for s in steps if s is not None) if all(s is not None for s in steps) and steps else None,
        "steady_steps": sum(e.steps or 0 for e in steady) if all(e.steps is not None for e in steady) else None,
        "samples": sum(samples(e) or 0 for e in complete) or None,
        "step_seconds_median": stats.median(step_times),
        "step_seconds_p95": None,
        "samples_per_sec": steady_samples / steady_seconds if steady_samples and steady_seconds > 0 else None,
        "time_to_first_step_seconds": None,
        "final_accuracy": _metric(last, "accuracy", "acc", "sparse_categorical_accuracy"),
        "final_loss": _metric(last, "loss"),
        "final_val_accuracy": _metric(last, "val_accuracy", "val_acc", "val_sparse_categorical_accuracy"),
        "final_val_loss": _metric(last, "val_loss"),
        "test_accuracy": _metric(evaluated, "accuracy", "acc", "sparse_categorical_accuracy"),
        "test_loss": _metric(evaluated, "loss"),
    }
