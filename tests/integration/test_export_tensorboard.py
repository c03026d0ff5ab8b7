"""`harness export tensorboard` on a real run (an L2 sweep and a tiny retrain, about 40-70 s on the
2-core machine), read back with TensorBoard's own EventAccumulator and served by a real
`tensorboard` process on a loopback port (about 15-30 s to start: it imports TensorFlow)."""

from __future__ import annotations

import bisect
import io
import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed (pip install -e '.[tensorboard]')")

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.plugins.hparams import metadata as hparams_metadata  # noqa: E402
from tensorboard.util import tensor_util  # noqa: E402

from harness.export.jobs import read_telemetry  # noqa: E402
from tests.event_lines import read_events  # noqa: E402
from harness.cli import main  # noqa: E402
from tests.conftest import CliResult  # noqa: E402

from .export_runs import make_run, results_by_dir  # noqa: E402


def export(*argv: str) -> CliResult:
    """`harness export tensorboard ARGV` in this process (TensorBoard's import is paid once)."""
    out, err = io.StringIO(), io.StringIO()
    code = main(["export", "tensorboard", *argv], stdout=out, stderr=err)
    return CliResult(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tb")
    run_dir = make_run(folder, retrain=True)
    done = export(run_dir.name, "--results-dir", str(folder / "res"))
    assert done.code == 0, done.err[-2000:]
    return folder, run_dir, results_by_dir(run_dir), done


def scalars(accumulator: EventAccumulator, tag: str) -> list[tuple[int, float, float]]:
    return [(e.step, e.wall_time, float(tensor_util.make_ndarray(e.tensor_proto))) for e in accumulator.Tensors(tag)]


def load(folder: Path) -> EventAccumulator:
    accumulator = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    accumulator.Reload()
    return accumulator


def test_every_job_reads_back_with_its_metrics_steps_telemetry_and_hparams(exported):
    folder, run_dir, results, done = exported
    assert f"run {run_dir.name}: 3 job(s)" in done.out
    for job_dir, result in results.items():
        board = run_dir / "tensorboard" / job_dir
        assert len(list(board.glob("events.out.tfevents.*"))) == 1
        accumulator = load(board)
        events = read_events(run_dir / job_dir / "events.jsonl")
        steps = [e for e in events if e["event"] == "step"]
        # step time per global step, every step
        assert [(s, v) for s, _, v in scalars(accumulator, "step/seconds")] == \
            [(i, pytest.approx(e["seconds"], rel=1e-6)) for i, e in enumerate(steps)]
        # the epoch metrics, step = epoch index
        epochs = [e for e in events if e["event"] == "epoch"]
        assert [(s, v) for s, _, v in scalars(accumulator, "epoch/accuracy")] == \
            [(e["epoch"], pytest.approx(e["metrics"]["accuracy"], rel=1e-6)) for e in epochs]
        # telemetry on the step axis: each sample sits at the step that was running when it was taken
        ends = [e["t"] for e in steps]
        rows = {round(r["wall_time"], 3): r for r in read_telemetry(run_dir / job_dir / "telemetry.csv")
                if r["metric"] == "rss_mb"}
        points = scalars(accumulator, "telemetry/job_rss_mb")
        assert points, job_dir
        for step, wall_time, value in points:
            row = rows[round(wall_time, 3)]
            assert value == pytest.approx(row["value"], rel=1e-6)
            assert step == min(bisect.bisect_left(ends, row["t"]), len(ends) - 1)
            assert ends[0] - steps[0]["seconds"] <= row["t"] <= ends[-1]
        # the HParams session: the job's parameters, and the result metrics as scalars
        content = accumulator.SummaryMetadata(hparams_metadata.SESSION_START_INFO_TAG).plugin_data.content
        info = hparams_metadata.parse_session_start_info_plugin_data(content)
        assert info.group_name == f"{run_dir.name}/{job_dir}"
        for name, value in result["params"].items():
            held = info.hparams[name]
            stored = held.string_value if isinstance(value, str) else \
                held.bool_value if isinstance(value, bool) else held.number_value
            assert stored == value, name
        assert scalars(accumulator, "final/samples_per_sec")[0][2] == \
            pytest.approx(result["metrics"]["samples_per_sec"], rel=1e-6)
        graph = accumulator.Graph() if result["job"] == "retrain" else None
        if graph is not None:
            assert {"Placeholder", "final_result"} <= {node.name for node in graph.node}
        else:
            assert not accumulator.Tags()["graph"]


def test_a_second_export_replaces_the_files_instead_of_adding_to_them(exported):
    folder, run_dir, results, _ = exported
    job_dir = next(d for d, r in results.items() if r["job"] == "mnist_mlp")
    before = len(scalars(load(run_dir / "tensorboard" / job_dir), "step/seconds"))
    again = export(run_dir.name, "--results-dir", str(folder / "res"))
    assert again.code == 0, again.err[-2000:]
    assert len(list((run_dir / "tensorboard" / job_dir).glob("events.out.tfevents.*"))) == 1
    assert len(scalars(load(run_dir / "tensorboard" / job_dir), "step/seconds")) == before


def test_logdir_elsewhere_leaves_the_run_folder_alone(exported, tmp_path):
    folder, run_dir, results, _ = exported
    listing = sorted(p.name for p in run_dir.iterdir())
    done = export("lab", "--results-dir", str(folder / "res"), "--logdir", str(tmp_path / "tb"))
    assert done.code == 0, done.err[-2000:]
    assert sorted(p.name for p in run_dir.iterdir()) == listing
    assert sorted(p.name for p in (tmp_path / "tb" / run_dir.name).iterdir()) == sorted(results)


def _get(base: str, path: str, body: dict | None = None):
    request = urllib.request.Request(base + path, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        data = response.read().decode()
    return data if path.startswith("/data/plugin/graphs/") else json.loads(data)


def test_a_real_tensorboard_server_shows_the_scalars_hparams_and_graph(exported):
    folder, run_dir, results, _ = exported
    server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", str(folder / "res" / "runs"),
                               "--host", "127.0.0.1", "--port", "0", "--load_fast=false", "--reload_interval", "0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        base = None
        deadline = time.monotonic() + 180
        while base is None and time.monotonic() < deadline:
            line = server.stderr.readline()
            if not line and server.poll() is not None:
                pytest.fail(f"tensorboard exited with {server.returncode}")
            found = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
            base = found.group(1) if found else None
        assert base, "tensorboard printed no address"
        prefix = f"{run_dir.name}/tensorboard/"
        assert sorted(_get(base, "/data/runs")) == sorted(prefix + d for d in results)
        mlp = next(d for d, r in results.items() if r["job"] == "mnist_mlp" and r["params"]["l2"] > 0)
        served = _get(base, f"/data/plugin/scalars/scalars?run={prefix}{mlp}&tag=epoch/val_accuracy")
        events = read_events(run_dir / mlp / "events.jsonl")
        assert [(step, pytest.approx(value, rel=1e-6)) for _, step, value in served] == \
            [(e["epoch"], e["metrics"]["val_accuracy"]) for e in events if e["event"] == "epoch"]
        experiment = _get(base, "/data/plugin/hparams/experiment", {"experimentName": ""})
        infos = {info["name"]: info for info in experiment["hparamInfos"]}
        assert infos["l2"]["differs"] and infos["l2"]["domainInterval"] == {"minValue": 0.0, "maxValue": 0.0001}
        groups = _get(base, "/data/plugin/hparams/session_groups",
                      {"experimentName": "", "startIndex": 0, "sliceSize": 100, "colParams": [],
                       "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]})
        by_name = {group["name"]: group for group in groups["sessionGroups"]}
        assert set(by_name) == {f"{run_dir.name}/{d}" for d in results}
        chosen = by_name[f"{run_dir.name}/{mlp}"]
        assert chosen["hparams"]["l2"] == pytest.approx(1e-4)
        values = {m["name"]["tag"]: m["value"] for m in chosen["metricValues"]}
        for name in ("final_val_accuracy", "samples_per_sec"):
            assert values[f"final/{name}"] == pytest.approx(results[mlp]["metrics"][name], rel=1e-6)
        retrain = next(d for d, r in results.items() if r["job"] == "retrain")
        graph = _get(base, f"/data/plugin/graphs/graph?run={prefix}{retrain}&conceptual=false")
        assert 'name: "Placeholder"' in graph and 'name: "final_result"' in graph
    finally:
        server.kill()  # only the server this test started, by its handle
        server.wait(timeout=30)


def test_bad_input_is_one_line_and_exit_2(cli, tmp_path):
    missing = cli("export", "tensorboard", "no-such-run", "--results-dir", str(tmp_path))
    assert missing.code == 2 and missing.err.count("\n") == 1 and "no-such-run" in missing.err
    none = cli("export", "tensorboard")
    assert none.code == 2 and none.err.startswith("harness: error:")
