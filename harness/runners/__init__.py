"""Runners launch one job at a time on a target and report how it ended."""

from __future__ import annotations

from ..config import Target
from .base import Runner
from .local import LocalRunner


def runner_for(target: Target, emulate: bool = False) -> Runner:
    """The target's runner, not prepared yet: constructing one checks, connects and removes nothing;
    call its prepare() for that (a UsageError names the check that failed)."""
    if target.runner == "docker":
        from .docker import DockerRunner
        return DockerRunner(target, emulate)
    return LocalRunner(target)
