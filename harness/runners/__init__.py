"""Runners launch one job at a time on a target and report how it ended."""

from __future__ import annotations

from ..config import Target
from ..errors import UsageError
from .base import Runner
from .local import LocalRunner


def runner_for(target: Target) -> Runner:
    if target.runner == "local":
        return LocalRunner(target)
    raise UsageError(f"target '{target.name}' uses the '{target.runner}' runner, which this version does not have yet")
