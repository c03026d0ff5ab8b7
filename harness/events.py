"""Reading the job event protocol (written by benchmarks/events.py) from a stream."""

from __future__ import annotations

import json
from typing import Any

from harness_jobs.events import PREFIX, VERSION


class BadEvent(ValueError):
    """A prefixed line that is not a usable event (bad JSON, unknown version, no kind)."""


def parse_line(line: str) -> dict[str, Any] | None:
    """The event on a stdout line, or None for ordinary output. Unknown fields are kept."""
    if not line.startswith(PREFIX):
        return None
    try:
        event = json.loads(line[len(PREFIX):])
    except ValueError as error:
        raise BadEvent(f"invalid JSON: {error}") from None
    except RecursionError:  # e.g. a line of 100,000 '['
        raise BadEvent("invalid JSON: nested too deeply") from None
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        raise BadEvent("not an event object")
    if event.get("v") != VERSION:
        raise BadEvent(f"event version {event.get('v')!r} is not {VERSION}; the job package and harness differ")
    if not _is_number(event.get("t")):
        raise BadEvent("event without a time")
    for field, check, wanted in _FIELDS.get(event["event"], ()):
        if not check(event.get(field)):
            raise BadEvent(f"{event['event']} event: '{field}' must be {wanted}, got {event.get(field)!r:.80}")
    return event


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _optional(check):
    return lambda value: value is None or check(value)


def _is_dict(value: Any) -> bool:
    return isinstance(value, dict)


# The fields the harness computes with (metrics, progress display): a wrong type there is a bad
# event, ignored and counted like invalid JSON, never a crash later. Other fields are free.
_FIELDS = {
    "step": [("epoch", _is_int, "an integer"), ("step", _is_int, "an integer"),
             ("seconds", _is_number, "a number"), ("batch_size", _is_number, "a number")],
    "epoch": [("epoch", _is_int, "an integer"), ("seconds", _is_number, "a number"),
              ("metrics", _optional(_is_dict), "an object")],
    "start": [("environment", _optional(_is_dict), "an object"), ("params", _optional(_is_dict), "an object")],
    "end": [("status", _optional(lambda v: isinstance(v, str)), "a string"),
            ("metrics", _optional(_is_dict), "an object")],
    "eval": [("metrics", _optional(_is_dict), "an object")],
    "progress": [("phase", _optional(lambda v: isinstance(v, str)), "a string"),
                 ("done", _optional(_is_number), "a number"), ("total", _optional(_is_number), "a number")],
}
