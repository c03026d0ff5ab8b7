"""The one runner lifecycle: the status precedence (every branch), runners built without side
effects, and the telemetry info both sessions store."""

import pytest

from harness import config
from harness.errors import UsageError
from harness.runners import runner_for
from harness.runners.base import INTERRUPTED, JobEnd, job_status
from harness.runners.docker import DockerRunner
from harness.telemetry.base import TelemetryInfo
from harness.telemetry.preflight import Preflight

OK_END = [{"event": "end", "status": "ok"}]
FAILED_END = [{"event": "end", "status": "failed", "error": "boom"}]
LOST = "lost contact with the Docker engine"
TIMEOUT = "job exceeded the 5 s timeout and was killed"


@pytest.mark.parametrize("events, end, interrupted, expected", [
    (OK_END, JobEnd(0, []), False, ("ok", None)),
    (FAILED_END, JobEnd(1, []), False, ("failed", "boom")),
    ([], JobEnd(3, []), False, ("failed", "job exited with code 3 without an end event; last output: tail")),
    ([], JobEnd(-9, []), False, ("failed", "job killed by signal 9 before it finished (SIGKILL often means out "
                                           "of memory); last output: tail")),
    (OK_END, JobEnd(None, [], timeout=TIMEOUT), True, ("timeout", TIMEOUT)),
    ([], JobEnd(None, [], timeout=TIMEOUT, lost=LOST), False, ("timeout", f"{TIMEOUT}; then {LOST}")),
    (OK_END, JobEnd(0, [], lost=LOST, oom_killed=True), True, ("interrupted", INTERRUPTED)),
    (OK_END, JobEnd(None, [], lost=LOST, oom_killed=True), False, ("failed", LOST)),
    (OK_END, JobEnd(137, [], oom_killed=True, memory_limit="1g"), False,
     ("oom", "the container was killed for exceeding its memory limit (1g); raise mem_limit or lower the batch size")),
    ([], JobEnd(137, [], oom_killed=True), False,
     ("oom", "the container was killed for exceeding its memory limit (none set); raise mem_limit or lower the "
             "batch size")),
    ([], JobEnd(137, [], memory_limit="1g"), False,
     ("oom", "the container was killed for exceeding its memory limit (1g); raise mem_limit or lower the batch size")),
    ([], JobEnd(137, []), False, ("failed", "job exited with code 137 without an end event; last output: tail")),
    (OK_END, JobEnd(137, [], memory_limit="1g"), False, ("ok", None)),
], ids=["end-ok", "end-failed", "exit-code", "signal", "timeout-over-interrupt", "timeout-then-lost",
        "interrupt-over-lost-and-oom", "lost-over-oom", "oom-killed", "oom-killed-no-limit", "137-with-limit",
        "137-without-limit", "137-but-end-ok"])
def test_status_precedence(events, end, interrupted, expected):
    assert job_status(events, end, "tail", interrupted) == expected


def docker_target(host: str) -> config.Target:
    return config.Target(name="unreachable", runner="docker", image="harness:none", docker_host=host,
                         engine_timeout_s=2.0)


def test_a_docker_runner_for_an_unreachable_engine_is_built_without_contact_until_prepare():
    runner = runner_for(docker_target("tcp://127.0.0.1:9"))
    assert isinstance(runner, DockerRunner)
    assert runner.setup == {} and runner.warnings == [] and not hasattr(runner, "client")
    with pytest.raises(UsageError, match="target 'unreachable': no Docker engine answers at tcp://127.0.0.1:9"):
        runner.prepare()


def test_a_local_runner_opens_its_telemetry_in_prepare_only():
    runner = runner_for(config.get_target(config.load_targets({}), "local"))
    assert runner.setup == {} and runner.device_properties == {} and runner.warnings == []
    runner.prepare()
    assert runner.setup["device"] is runner.device_properties and "telemetry_sources" in runner.setup
    assert runner.check_lines()[-1].startswith("ok  telemetry: ")


def test_telemetry_info_is_the_stored_dict_of_each_session():
    preflight = Preflight(idle_power_w=3.5, idle_samples=2)
    local = TelemetryInfo(["nvml"], {"gpu": "x"}, preflight, {"jtop": "absent"}, [])
    assert list(local.to_json()) == ["sources", "device", "preflight", "unavailable_sources"]
    assert local.to_json()["preflight"] == preflight.public()
    sidecar = TelemetryInfo([], {}, preflight, {}, ["a gap"], sidecar=True)
    assert sidecar.to_json() == {"sources": [], "device": {}, "preflight": preflight.public(),
                                 "unavailable_sources": {}, "sidecar": True, "notes": ["a gap"]}
    assert list(sidecar.to_json())[-2:] == ["sidecar", "notes"]
