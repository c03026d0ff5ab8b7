"""The raw events of an events.jsonl, in file order (steps included, every key kept): what the
exporter tests check the exports against, read apart from harness.jobdata, the reader under test."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def read_events(path: Path) -> list[dict[str, Any]]:
    """Each JSON object with an `event` name and a finite `t`; other lines (a torn last one) skipped."""
    if not path.exists():
        return []
    events = []
    for line in path.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        t = event.get("t") if isinstance(event, dict) else None
        if isinstance(event, dict) and isinstance(event.get("event"), str) and isinstance(t, (int, float)) \
                and math.isfinite(t):
            events.append(event)
    return events
