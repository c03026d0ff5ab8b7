"""One job at a time per device: an exclusive file lock per engine, held for a whole run."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import socket
import threading
from pathlib import Path
from typing import Callable, Iterator

LOCK_DIR = Path.home() / ".cache" / "harness" / "locks"
POLL_S = 0.5


class LockCancelled(Exception):
    """The run was interrupted while it waited for the engine."""


def engine_key(docker_host: str) -> str:
    """Local engines and local subprocess runs share this machine's key; remote engines their URL."""
    return docker_host or f"local:{socket.gethostname()}"


@contextlib.contextmanager
def engine_lock(key: str, on_wait: Callable[[str], None], cancelled: threading.Event) -> Iterator[None]:
    """Hold the engine's lock; while another run holds it, say so once and wait (cancellable)."""
    LOCK_DIR.mkdir(parents=True, exist_ok=True)
    path = LOCK_DIR / (hashlib.sha1(key.encode()).hexdigest()[:16] + ".lock")
    with open(path, "a+") as handle:
        announced = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not announced:
                    handle.seek(0)
                    on_wait(f"waiting for another harness run on {key} (pid {handle.read().strip() or '?'}) to finish")
                    announced = True
                if cancelled.wait(POLL_S):
                    raise LockCancelled(key) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
