"""Reading the job event protocol (written by benchmarks/events.py) from a stream."""

from __future__ import annotations

import json
from typing import Any

from benchmarks.events import PREFIX, VERSION


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
    if not isinstance(event.get("t"), (int, float)):
        raise BadEvent("event without a time")
    return event
