"""Issue 11 item 7: `gpus` must not demand an `nvidia` runtime entry. Docker's --gpus
(device_requests) works through the NVIDIA container toolkit's hook, which `docker info` does not
list; a runtime named in the target must still be registered."""

from __future__ import annotations

import docker
import pytest

from harness.errors import UsageError
from harness.runners.docker import gpu_runtime_check

# `docker info` Runtimes of engine 20.10 as installed here (runc only), and with the toolkit's
# runtime registered (nvidia-container-runtime's /etc/docker/daemon.json entry)
RUNC_ONLY = {"io.containerd.runc.v2": {"path": "runc"}, "io.containerd.runtime.v1.linux": {"path": "runc"},
             "runc": {"path": "runc"}}
WITH_NVIDIA = {**RUNC_ONLY, "nvidia": {"path": "nvidia-container-runtime"}}


def real_runtimes() -> dict:
    try:
        return docker.from_env(timeout=10).info()["Runtimes"]
    except Exception:  # noqa: BLE001 - no engine here: the recorded shape stands in
        return RUNC_ONLY


@pytest.mark.parametrize("gpus", ["all", 1])
def test_gpus_without_an_nvidia_runtime_entry_is_a_warning_not_a_refusal(gpus):
    warning = gpu_runtime_check("rtx2080", None, gpus, real_runtimes())
    assert warning and "NVIDIA container toolkit" in warning and "engine's own error" in warning


def test_no_warning_where_the_nvidia_runtime_is_registered_or_no_gpu_is_asked():
    assert gpu_runtime_check("rtx2080", None, "all", WITH_NVIDIA) is None
    assert gpu_runtime_check("cpu-box", None, None, real_runtimes()) is None
    assert gpu_runtime_check("tx2", "nvidia", None, WITH_NVIDIA) is None


def test_a_named_runtime_the_engine_lacks_is_refused_in_one_line():
    with pytest.raises(UsageError, match="needs the 'nvidia' container runtime.*it has: .*runc"):
        gpu_runtime_check("tx2", "nvidia", None, real_runtimes())
