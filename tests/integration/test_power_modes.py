"""A power-mode sweep (power_mode = ["MAXN", "MODE_15W"]) run by a real `harness run` process against the jtop
stand-in on an AGX Xavier board, its state in a file as the real service keeps it: each job runs in its mode
(read back into result.json and the telemetry facts), the board's state before the run comes back at the end,
after Ctrl-C and SIGTERM too, and after a SIGKILL the manifest's note lets --resume restore it. Real MLP jobs on digits,
1 or 8 epochs: measured 8 to 90 s per test on the shared 2-core machine (longer while another harness run holds the
local engine lock, which the waits allow for)."""

from __future__ import annotations

import json
import os
import signal

import pytest

from ..conftest import REPO, harness_process, only_run, read_results, run_harness, wait_for

FAKES = REPO / "tests" / "fakes"
SUITE = """
[[jobs]]
job = "mnist_mlp"
params = { dataset = "digits", epochs = 1 }
sweep = { power_mode = ["MAXN", "MODE_15W"] }
"""


def setup(tmp_path, monkeypatch, epochs=1):
    for name in [k for k in os.environ if k.startswith("FAKE_")]:
        monkeypatch.delenv(name)
    for name, value in {"PYTHONPATH": os.pathsep.join([str(FAKES), str(REPO)]), "FAKE_JTOP_BOARD": "xavier",
                        "FAKE_JTOP_STATE": str(tmp_path / "board.json"), "FAKE_JTOP_NVPMODEL": "MODE_30W_ALL",
                        "FAKE_JTOP_CLOCKS": "OFF"}.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "sweep.toml").write_text(SUITE.replace("epochs = 1", f"epochs = {epochs}"))
    (tmp_path / "harness.toml").write_text('[targets.xavier]\ntelemetry = "jtop"\nidle_baseline_s = 0\n'
                                           'jetson_clocks = true\n')


def board(tmp_path):
    state = json.loads((tmp_path / "board.json").read_text())
    return state["nvp"], state["jc"]


def test_a_power_mode_sweep_runs_each_job_in_its_mode_and_restores_the_board(tmp_path, monkeypatch):
    setup(tmp_path, monkeypatch)
    done = run_harness("run", "--target", "xavier", "--suite", "sweep.toml", cwd=tmp_path)
    assert done.code == 0, done.out + done.err
    run = only_run(tmp_path / "reports")
    results = read_results(run)
    assert [r["power"]["applied"] for r in results] == [
        {"power_mode": "MAXN", "power_mode_id": 0, "jetson_clocks": True},
        {"power_mode": "MODE_15W", "power_mode_id": 2, "jetson_clocks": True}]
    assert [r["power"]["requested"] for r in results] == [{"jetson_clocks": True, "power_mode": "MAXN"},
                                                          {"jetson_clocks": True, "power_mode": "MODE_15W"}]
    assert [r["telemetry"]["device"]["nvpmodel"] for r in results] == ["MAXN", "MODE_15W"]
    assert [r["label"] for r in results] == ["mnist_mlp power_mode=MAXN", "mnist_mlp power_mode=MODE_15W"]
    assert not any("not MAXN" in note for note in results[0]["notes"])  # the warning follows the mode set
    assert any("not MAXN" in note for note in results[1]["notes"])
    manifest = json.loads((run / "run.json").read_text())
    assert manifest["power"]["previous"] == {"power_mode": "MODE_30W_ALL", "power_mode_id": 3, "jetson_clocks": False}
    assert manifest["power"]["restored"] is True and manifest["power"]["after"] == manifest["power"]["previous"]
    assert board(tmp_path) == (3, False)


@pytest.mark.parametrize("stop, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_restores_the_board(tmp_path, monkeypatch, stop, code):
    setup(tmp_path, monkeypatch, epochs=8)
    process = harness_process("run", "--target", "xavier", "--suite", "sweep.toml", cwd=tmp_path)
    wait_for(lambda: (tmp_path / "board.json").exists() and board(tmp_path) == (0, True), 240, "MAXN set")
    wait_for(lambda: list((tmp_path / "reports").glob("runs/*/*/events.jsonl")), 240, "the first job started")
    process.send_signal(stop)
    out, err = process.communicate(timeout=120)
    assert process.returncode == code, out + err
    manifest = json.loads((only_run(tmp_path / "reports") / "run.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["power"]["restored"] is True
    assert board(tmp_path) == (3, False)


def test_after_a_kill_resume_restores_the_state_before_the_first_attempt(tmp_path, monkeypatch):
    setup(tmp_path, monkeypatch, epochs=8)
    process = harness_process("run", "--target", "xavier", "--suite", "sweep.toml", cwd=tmp_path)
    wait_for(lambda: list((tmp_path / "reports").glob("runs/*/*/events.jsonl")), 240, "the first job started")
    process.kill()
    process.communicate(timeout=60)
    run = only_run(tmp_path / "reports")
    manifest = json.loads((run / "run.json").read_text())
    assert manifest["power"] == {"previous": {"power_mode": "MODE_30W_ALL", "power_mode_id": 3, "jetson_clocks": False},
                                 "restored": False}
    assert board(tmp_path) == (0, True)  # the killed run left MAXN and jetson_clocks on
    (tmp_path / "sweep.toml").write_text(SUITE)  # the stored plan is what --resume runs; the suite file is unused
    done = run_harness("run", "--resume", run.name, cwd=tmp_path)
    assert done.code == 0, done.out + done.err
    manifest = json.loads((run / "run.json").read_text())
    assert manifest["power"]["restored"] is True and manifest["power"]["previous"]["power_mode"] == "MODE_30W_ALL"
    assert [r["power"]["applied"]["power_mode"] for r in read_results(run)] == ["MAXN", "MODE_15W"]
    assert board(tmp_path) == (3, False)
