"""docs/extending.md's three worked examples, executed from the page's own code blocks: the job
through the real job entrypoint, the runner on a real job with its CPU pinning read back from the
job's process, the telemetry source against a stand-in powercap folder and this machine's real one.
A change to an interface the page documents fails here until the page is updated."""

import dataclasses
import importlib.util
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from harness import config
from harness.errors import UsageError
from harness.plan import JobSpec

PAGE = Path(__file__).resolve().parents[2] / "docs" / "extending.md"


def code_block_after(marker: str) -> str:
    """The first ```python block after the line holding `marker`."""
    text = PAGE.read_text()
    start = text.index("```python\n", text.index(marker)) + len("```python\n")
    return text[start:text.index("```", start)]


def load_module(name: str, code: str):
    """`code` as the module `name` (relative imports resolve against its package)."""
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader=None))
    module.__package__ = name.rpartition(".")[0]
    exec(compile(code, str(PAGE), "exec"), module.__dict__)
    return module


@dataclasses.dataclass(frozen=True)
class PinnedTarget(config.Target):
    cpu_list: str = ""  # the key the page says to declare in config.py


def test_the_pinned_runner_runs_a_job_on_the_listed_core_only(tmp_path):
    pinned = load_module("harness.runners.pinned", code_block_after("(`harness/runners/pinned.py`)"))
    local = config.get_target(config.load_targets({}), "local")
    fields = {field.name: getattr(local, field.name) for field in dataclasses.fields(local)}
    with pytest.raises(UsageError, match="runner 'pinned' needs cpu_list"):
        pinned.PinnedRunner(PinnedTarget(**fields)).prepare()
    runner = pinned.PinnedRunner(PinnedTarget(**{**fields, "cpu_list": "0"}))
    runner.prepare()
    assert runner.check_lines()[-1] == "ok  taskset: cpu_list 0" and runner.setup["cpu_list"] == "0"
    affinities = []

    def on_event(event):
        if event.get("event") == "step" and not affinities:
            affinities.extend(child.cpu_affinity() for child in psutil.Process().children(recursive=True)
                              if "harness_jobs" in child.cmdline())

    spec = JobSpec("misbehave", {"mode": "ok", "seconds": 0.5, "mb": 8, "device": "cpu"}, {})
    outcome = runner.run_job(spec, tmp_path, on_event)
    assert outcome.status == "ok", outcome.error
    assert affinities == [[0]]  # taskset exec'd the job: one process, on core 0 alone


def test_the_rapl_source_reads_a_powercap_folder_and_explains_a_missing_one(tmp_path):
    rapl = load_module("harness_jobs.telemetry.rapl", code_block_after("`benchmarks/telemetry/rapl.py`"))
    (tmp_path / "name").write_text("package-0\n")
    (tmp_path / "energy_uj").write_text("5000000\n")
    reader = rapl.RaplReader(str(tmp_path)).open()
    assert reader.facts() == {"rapl_domain": "package-0"}
    assert reader.sample() == {"cpu_energy_j": 5.0}
    time.sleep(0.05)
    (tmp_path / "energy_uj").write_text("5500000\n")
    second = reader.sample()
    assert second["cpu_energy_j"] == 5.5 and 0 < second["cpu_power_w"] < 0.5 / 0.05
    (tmp_path / "energy_uj").write_text("1000\n")  # the counter wrapped
    assert reader.sample() == {"cpu_energy_j": 0.001}
    from harness_jobs.telemetry import Unavailable
    with pytest.raises(Unavailable, match="no readable RAPL counter at /nowhere"):
        rapl.RaplReader("/nowhere").open()
    try:  # this machine's own counter: read when it has one, else the page's one-line reason
        assert "cpu_energy_j" in rapl.RaplReader().open().sample()
    except Unavailable as error:
        assert str(error).startswith(f"no readable RAPL counter at {rapl.RAPL}")


RUN_REGISTERED_JOB = textwrap.dedent("""
    import importlib.util, sys
    import harness_jobs.jobs as jobs
    name = "harness_jobs.jobs.conv_digits"
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader=None))
    module.__package__ = "harness_jobs.jobs"
    exec(compile(sys.stdin.read(), "docs/extending.md", "exec"), module.__dict__)
    sys.modules[name] = module
    jobs.JOBS["conv_digits"] = name  # the page's one line in JOBS
    from harness_jobs.__main__ import main
    sys.exit(main(sys.argv[1:]))
""")


@pytest.mark.slow
def test_the_conv_digits_job_trains_through_the_job_entrypoint(tmp_path):
    code = code_block_after("A small CNN on the digits")
    done = subprocess.run([sys.executable, "-c", RUN_REGISTERED_JOB, "conv_digits", "--params",
                           json.dumps({"epochs": 2}), "--out", str(tmp_path), "--cache-dir", str(tmp_path / "cache")],
                          input=code, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert events[-1]["event"] == "end" and events[-1]["status"] == "ok"
    assert [e["epoch"] for e in events if e["event"] == "epoch"] == [0, 1]
    assert any(e["event"] == "step" for e in events)
    evaluation = next(e for e in events if e["event"] == "eval")
    assert 0.0 <= evaluation["metrics"]["accuracy"] <= 1.0
