"""One row of a comparison: one aligned job on one side, typed (compare builds it, the renderers read it).

A summary.json row is flat (about 60 keys); `ComparisonRow` groups it into what each part is: the
job's identity and status as fields, then mappings keyed by registry names (harness/registry.py):
what the side measured over its repeats, the environment it ran in (harness.envdiff), the
explanation (harness.explain), the ratios against the baseline and each ratio's interval.
`to_json` gives the flat row, key for key and in order, as summary.json and summary.csv have always
had it; `from_json` reads one back. As a read-only Mapping it is that flat row too (`row["side"]`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from . import envdiff, explain, registry

IDENTITY = ("key", "label", "side", "target", "run_id", "status", "repeats", "repeats_ok")
INTERVAL_LOW, INTERVAL_HIGH = registry.INTERVAL_SUFFIXES


def significance_name(ratio: str) -> str:
    """throughput_ratio -> throughput_significant (the name summary.json has always used)."""
    return ratio.removesuffix("_ratio") + "_significant"


@dataclasses.dataclass(frozen=True)
class RatioInterval:
    """A ratio's 95% interval and whether it excludes 1 by more than the noise band (None: no interval)."""

    low: float | None = None
    high: float | None = None
    significant: bool | None = None

    def to_json(self, ratio: str) -> dict[str, Any]:
        return {ratio + INTERVAL_LOW: self.low, ratio + INTERVAL_HIGH: self.high,
                significance_name(ratio): self.significant}


@dataclasses.dataclass(kw_only=True)
class ComparisonRow(Mapping[str, Any]):
    """One job on one side of a comparison (a summary.json row)."""

    key: str
    label: str
    side: str
    target: str
    run_id: str
    status: str
    repeats: int
    repeats_ok: int
    measured: dict[str, Any]      # registry name -> the side's value over its ok repeats (and the interval's scope)
    environment: dict[str, Any]   # envdiff.ENVIRONMENT name -> what the job ran with
    explanation: dict[str, Any]   # explain.FIELDS name -> share of peak, verdict, ...
    differs: str = ""             # the environment names that differ between the sides, comma-separated
    ratio_withheld: str | None = None  # why the speed ratios were refused
    ratios: dict[str, float | None] = dataclasses.field(default_factory=dict)  # registry.ratios() name -> side / base
    intervals: dict[str, RatioInterval] = dataclasses.field(default_factory=dict)  # ratio -> its interval

    @property
    def single_repeat(self) -> bool:
        return bool(self.measured.get("single_repeat"))

    def value(self, name: str) -> Any:
        """A registry-named value of the row (a measured value, a ratio or its interval's end, an
        explanation or environment field); None where the row has none."""
        for suffix, end in ((INTERVAL_LOW, "low"), (INTERVAL_HIGH, "high")):
            if name.endswith(suffix) and name.removesuffix(suffix) in self.intervals:
                return getattr(self.intervals[name.removesuffix(suffix)], end)
        for part in (self.measured, self.ratios, self.explanation, self.environment):
            if name in part:
                return part[name]
        return None

    def interval(self, ratio: str) -> RatioInterval:
        return self.intervals.get(ratio, RatioInterval())

    def significant(self, ratio: str) -> bool | None:
        return self.interval(ratio).significant

    def to_json(self) -> dict[str, Any]:
        """The flat summary.json row (mappings are shared with this row, not copied)."""
        row = {name: getattr(self, name) for name in IDENTITY}
        row.update({**self.measured, **self.environment, **self.explanation,
                    "differs": self.differs, "ratio_withheld": self.ratio_withheld, **self.ratios})
        for ratio, interval in self.intervals.items():
            row.update(interval.to_json(ratio))
        return row

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ComparisonRow:
        """A row from its flat summary.json form (the inverse of to_json)."""
        ratios = {name: data[name] for name in registry.ratios() if name in data}
        intervals = {ratio: RatioInterval(data[ratio + INTERVAL_LOW], data[ratio + INTERVAL_HIGH],
                                          data[significance_name(ratio)])
                     for ratio in _interval_order(data, ratios)}
        interval_keys = {key for ratio in intervals for key in RatioInterval().to_json(ratio)}
        taken = {*IDENTITY, "differs", "ratio_withheld", *ratios, *interval_keys, *envdiff.ENVIRONMENT, *explain.FIELDS}
        return cls(**{name: data[name] for name in IDENTITY},
                   environment=_part(data, envdiff.ENVIRONMENT), explanation=_part(data, explain.FIELDS),
                   measured={key: value for key, value in data.items() if key not in taken},
                   differs=data.get("differs", ""), ratio_withheld=data.get("ratio_withheld"),
                   ratios=ratios, intervals=intervals)

    def __getitem__(self, name: str) -> Any:
        return self.to_json()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_json())

    def __len__(self) -> int:
        return len(self.to_json())


def _part(data: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: data[name] for name in names if name in data}


def _interval_order(data: Mapping[str, Any], ratios: Mapping[str, Any]) -> list[str]:
    """The ratios with an interval in `data`, in the order the row lists them."""
    return [key.removesuffix(INTERVAL_LOW) for key in data
            if key.endswith(INTERVAL_LOW) and key.removesuffix(INTERVAL_LOW) in ratios]
