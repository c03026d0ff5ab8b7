"""Facts about the machine the harness runs on, for the run manifest (no environment variables:
they may hold secrets)."""

from __future__ import annotations

import platform
import socket
from typing import Any

import psutil

from harness_jobs.compat import cpu_model


def host_facts() -> dict[str, Any]:
    return {
        "hostname": socket.gethostname(),
        "os": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "cpu_cores": psutil.cpu_count(logical=True),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
    }
