"""The one reader of telemetry.csv (written by harness.telemetry.base.TelemetryWriter): the
exporters, the report's plots and the pandas API all read a job's samples through it.

A row whose t, wall_time or value is not a finite number, or that lacks its source or metric
(the torn last line of a killed job, a hand-edited file), is skipped: every sample read is whole.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import pandas as pd

from .base import COLUMNS


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def read_telemetry(path: Path) -> list[dict[str, Any]]:
    """The samples of one telemetry.csv, in file order: t, wall_time, source, metric, value
    (t, wall_time and value as floats); empty when there is no file."""
    if not path.exists():
        return []
    rows = []
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            t, wall, value = _number(row.get("t")), _number(row.get("wall_time")), _number(row.get("value"))
            if None not in (t, wall, value) and row.get("source") and row.get("metric"):
                rows.append({"t": t, "wall_time": wall, "source": row["source"], "metric": row["metric"],
                             "value": value})
    return rows


def read_telemetry_frame(path: Path) -> pd.DataFrame:
    """read_telemetry as a tidy DataFrame (its columns even when there are no samples)."""
    return pd.DataFrame(read_telemetry(path), columns=list(COLUMNS))
