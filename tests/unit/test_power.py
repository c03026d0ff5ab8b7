"""Power modes (harness/power.py) against the jtop stand-in's nvpmodel / jetson_clocks (tests/fakes/jtop/_power.py,
after jetson-stats 4.3.1): the fake changes what it reports like the real service (late, shared by every client),
apply waits for the read-back, restore puts the first state back, bad modes and a missing jtop are one line.
About 3 s in all (the fake's 0.3 s apply delay, waited for several times)."""

from __future__ import annotations

import importlib
import json
import sys
import time

import pytest

from harness import config, power
from harness.errors import UsageError
from harness.plan import JobSpec, expand

from ..conftest import REPO

FAKES = str(REPO / "tests" / "fakes")


@pytest.fixture
def jtop(monkeypatch, tmp_path):
    """The fake jtop module, its service state in a file (shared like the real service)."""
    for name in [k for k in list(__import__("os").environ) if k.startswith("FAKE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("FAKE_JTOP_STATE", str(tmp_path / "jtop-state.json"))
    monkeypatch.setenv("FAKE_JTOP_BOARD", "xavier")
    monkeypatch.setenv("FAKE_JTOP_NVPMODEL", "MODE_30W_ALL")
    monkeypatch.setenv("FAKE_JTOP_CLOCKS", "OFF")
    monkeypatch.syspath_prepend(FAKES)
    for name in ("jtop", "jtop._power"):
        sys.modules.pop(name, None)
    module = importlib.import_module("jtop")
    yield module
    for name in ("jtop", "jtop._power"):
        sys.modules.pop(name, None)


def test_the_fake_applies_a_mode_late_and_to_every_client(jtop):
    first, second = jtop.jtop(interval=0.2), jtop.jtop(interval=0.2)
    first.start()
    second.start()
    try:
        assert first.nvpmodel.name == "MODE_30W_ALL" and first.nvpmodel == 3 and str(first.nvpmodel) == "MODE_30W_ALL"
        assert first.nvpmodel.models[2] == "MODE_15W" and first.nvpmodel.get_default() == {"name": "MODE_15W", "id": 2}
        first.nvpmodel = "MODE_15W"
        assert first.ok() and first.nvpmodel.name == "MODE_30W_ALL"  # the service runs nvpmodel -m in a thread
        assert first.nvpmodel.is_running()
        deadline = time.monotonic() + 5
        while second.nvpmodel.id != 2 and time.monotonic() < deadline:
            second.ok()
        assert second.nvpmodel.id == 2 and second.stats["nvp model"] == "MODE_15W"  # another client sees it
        first.nvpmodel = 0
        while first.nvpmodel != "MAXN" and time.monotonic() < deadline:
            first.ok()
        assert first.nvpmodel == "MAXN" and first.nvpmodel.status[0] is True
        assert not first.jetson_clocks and first.jetson_clocks == False and repr(first.jetson_clocks) == "False"  # noqa: E712
        first.jetson_clocks = True
        second.ok()
        assert bool(second.jetson_clocks) and second.stats["jetson_clocks"] == "ON"
    finally:
        first.close()
        second.close()


def test_the_fake_refuses_like_jetson_stats(jtop):
    with jtop.jtop() as jetson:
        with pytest.raises(jtop.JtopException, match="NV Power Model MAXQ does not exists"):
            jetson.nvpmodel = "MAXQ"  # a TX2 mode, not a Xavier one
        with pytest.raises(jtop.JtopException, match=r"ID 9 does not exists! Range \[0, 6\]"):
            jetson.nvpmodel = 9
        with pytest.raises(ValueError, match="Use a boolean"):
            jetson.jetson_clocks = "on"
        jetson.nvpmodel = 1.5  # 4.3.1 ignores other types silently
        time.sleep(0.4)
        jetson.ok()
        assert jetson.nvpmodel.id == 3


def test_apply_reads_back_and_restore_puts_the_first_state_back(jtop, tmp_path):
    control = power.PowerControl("xavier", module=jtop).open()
    try:
        before = control.remember()
        assert before == power.PowerState("MODE_30W_ALL", 3, False)
        clock = time.monotonic()
        state = control.apply({"power_mode": "MAXN", "jetson_clocks": True})
        assert state == power.PowerState("MAXN", 0, True) and time.monotonic() - clock >= 0.3  # it waited
        assert control.apply({"power_mode": 2}) == power.PowerState("MODE_15W", 2, True)
        assert control.restore() == before
    finally:
        control.close()
    saved = json.loads((tmp_path / "jtop-state.json").read_text())
    assert saved["nvp"] == 3 and saved["jc"] is False


def test_a_mode_the_service_fails_to_set_is_a_job_error_naming_what_jtop_reports(jtop, monkeypatch):
    monkeypatch.setenv("FAKE_JTOP_NVP_FAIL", "1")  # `nvpmodel -m` prints NVPM ERROR: the client raises nothing
    control = power.PowerControl("xavier", module=jtop, timeout_s=1.0).open()
    try:
        with pytest.raises(power.PowerError, match=r"nvpmodel MAXN \(id 0\) not in effect after 1 s: jtop still "
                                                   r"reports nvpmodel MODE_30W_ALL \(id 3\)"):
            control.apply({"power_mode": "MAXN"})
    finally:
        control.close()


def test_unknown_modes_name_the_boards_modes(jtop):
    control = power.PowerControl("xavier", module=jtop).open()
    try:
        with pytest.raises(UsageError) as error:
            control.check([{"power_mode": "MODE_15W"}, {"power_mode": "MAXQ"}])
        assert str(error.value) == ("target 'xavier': unknown power_mode 'MAXQ' for Jetson-AGX (its modes: 0 MAXN, "
                                    "1 MODE_10W, 2 MODE_15W, 3 MODE_30W_ALL, 4 MODE_30W_6CORE, 5 MODE_30W_4CORE, "
                                    "6 MODE_30W_2CORE)")
        with pytest.raises(UsageError, match="unknown power_mode 7 "):
            control.check([{"power_mode": 7}])
    finally:
        control.close()


def test_no_jtop_or_an_inactive_service_is_one_line(monkeypatch, jtop):
    monkeypatch.setenv("FAKE_JTOP", "inactive")
    with pytest.raises(UsageError, match="jtop does not answer: the jtop service is not running on the device"):
        power.PowerControl("xavier", module=jtop).open()
    monkeypatch.setattr(power, "_load_jtop", lambda: None)
    with pytest.raises(UsageError, match="jetson-stats is not installed here"):
        power.PowerControl("xavier").open()


def test_target_keys_are_checked():
    target = config.make_target("x", {"power_mode": "MAXN", "jetson_clocks": True}, "test")
    assert (target.power_mode, target.jetson_clocks) == ("MAXN", True)
    assert config.make_target("x", {"power_mode": 0}, "test").power_mode == 0
    assert config.make_target("x", {"power_mode": "2"}, "test").power_mode == 2
    for table, message in (({"power_mode": True}, "'power_mode' must be an nvpmodel name"),
                           ({"power_mode": -1}, "'power_mode' must be"), ({"power_mode": ""}, "'power_mode' must be"),
                           ({"jetson_clocks": "yes"}, "'jetson_clocks' must be true or false")):
        with pytest.raises(UsageError, match=message):
            config.make_target("x", table, "test")
    assert power.wanted(target, {"power_mode": "MODE_15W"}) == {"power_mode": "MODE_15W", "jetson_clocks": True}


def test_power_mode_is_a_suite_sweep_axis_with_its_own_keys():
    suite = config.parse_suite("s", {"jobs": [{"job": "mnist_mlp", "params": {"dataset": "digits", "jetson_clocks": True},
                                               "sweep": {"power_mode": ["MAXN", "MODE_15W"]}}]}, "test")
    plan = expand(suite, [])
    assert [s.power for s in plan] == [{"power_mode": "MAXN", "jetson_clocks": True},
                                       {"power_mode": "MODE_15W", "jetson_clocks": True}]
    assert plan[0].params == plan[1].params and "power_mode" not in plan[0].params  # never passed to the job
    assert plan[0].key != plan[1].key and [s.label for s in plan] == ["mnist_mlp power_mode=MAXN",
                                                                      "mnist_mlp power_mode=MODE_15W"]
    plain = JobSpec("mnist_mlp", plan[0].params, {})
    assert plain.key == f"mnist_mlp-{__import__('hashlib').sha1(json.dumps(plan[0].params, sort_keys=True).encode()).hexdigest()[:8]}"
    assert [s.power for s in expand(suite, [(None, "power_mode", 0)])] == [{"power_mode": 0, "jetson_clocks": True}]
    with pytest.raises(UsageError, match="'power_mode' must be"):
        config.parse_suite("s", {"jobs": [{"job": "mnist_mlp", "sweep": {"power_mode": [1.5]}}]}, "test")


def test_run_refuses_before_writing(jtop, cli, tmp_path, monkeypatch):
    """harness run: an unknown mode, no jtop, and a remote engine's docker target: exit 2, one line, no
    results folder."""
    (tmp_path / "harness.toml").write_text('[targets.jet]\npower_mode = "TURBO"\n'
                                           '[targets.dock]\nrunner = "docker"\ndocker_host = "ssh://jetson"\njetson_clocks = true\n')
    result = cli("run", "--target", "jet", "--job", "selftest")
    assert result.code == 2 and len(result.err.splitlines()) == 1
    assert "unknown power_mode 'TURBO' for Jetson-AGX (its modes: 0 MAXN, 1 MODE_10W, 2 MODE_15W" in result.err
    monkeypatch.setattr(power, "_load_jtop", lambda: None)
    result = cli("run", "--target", "jet", "--job", "selftest")
    assert result.code == 2 and "jetson-stats is not installed" in result.err and len(result.err.splitlines()) == 1
    result = cli("run", "--target", "dock", "--job", "selftest")
    assert result.code == 2 and "not on the engine at ssh://jetson" in result.err and len(result.err.splitlines()) == 1
    assert not (tmp_path / "reports").exists()


def test_a_failure_after_jtop_is_opened_closes_its_client(jtop, cli, tmp_path, monkeypatch):
    """harness run with a valid mode but a results folder that cannot be made: exit 2, one line, and
    the jtop client opened for the mode is closed (nothing was applied)."""
    (tmp_path / "harness.toml").write_text('[targets.jet]\npower_mode = "MAXN"\n')
    (tmp_path / "blocked").write_text("a file where the results folder should be")
    closed = []
    real_close = power.PowerControl.close
    monkeypatch.setattr(power.PowerControl, "close", lambda self: (closed.append(self), real_close(self)))
    result = cli("run", "--target", "jet", "--job", "selftest", "--results-dir", "blocked")
    assert result.code == 2 and len(result.err.splitlines()) == 1, result.err
    assert len(closed) == 1
    assert jtop._service.commands == []  # no mode was set


def test_power_keys_apply_where_this_process_reaches_jtop(monkeypatch):
    """Local targets and docker targets of this machine's engine (where jtop is this machine's); a
    remote engine, by docker_host or DOCKER_HOST, is named in the refusal."""
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    here = config.Target(name="here", runner="docker", image="harness-tx2:latest")
    assert power._engine_elsewhere(config.Target(name="local")) is None
    assert power._engine_elsewhere(here) is None
    assert power._engine_elsewhere(config.Target(name="s", runner="docker", image="x",
                                                 docker_host="unix:///var/run/docker.sock")) is None
    assert power._engine_elsewhere(config.Target(name="r", runner="docker", image="x", docker_host="ssh://tx2")) \
        == "the engine at ssh://tx2"
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.5:2375")
    assert power._engine_elsewhere(here) == "the engine at tcp://10.0.0.5:2375"
