"""The project's own tx2 image on the L4T-like arm64 stand-in, under QEMU, with real TensorFlow (issue 11).

harness-standin/l4t-tf2.7:arm64 (scripts/build-standin-bases.sh) has what NVIDIA's
l4t-tensorflow:r32.7.1-tf2.7-py3 has where the image's install step is concerned (docker/README.md,
trait by trait): pip 9.0.1, numpy, h5py, protobuf 3.19.4, TensorFlow (tensorflow-aarch64 2.7.4), no
scikit-learn, Pillow or TF-Hub. So `harness build tx2` runs the same install step as on the real base
(pip 9 upgrades itself, then scikit-learn 0.24.2, Pillow 8.4.0 and tensorflow-hub 0.12.0 as aarch64
wheels), and `harness run --emulate` trains the quickstart MLP on digits with real TensorFlow on arm64.
Emulation proves function only, never speed.

Measured on this project's 2-core machine (shared): the tx2 image build about 2 min cold under
QEMU (the install step; seconds when BuildKit has the layers); the tests after it about 2.5 min, of
which the harness run (two jobs) about 75 s.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.results import load_run

from ..conftest import docker_cli, only_run, require_standin_base, run_harness

STANDIN_L4T = "harness-standin/l4t-tf2.7:arm64"
IMAGE = "harness-tx2:emulated"
HOST_CA = "/etc/ssl/certs/ca-certificates.crt"
TARGET = f"""
[targets.tx2-emulated]
runner = "docker"
platform = "linux/arm64"
image = "{IMAGE}"
notes = "the tx2 image built on the L4T-like arm64 stand-in, run under QEMU"
"""
SUITE = """
[[jobs]]
job = "selftest"

[[jobs]]
job = "mnist_mlp"
params = { dataset = "digits", epochs = 2 }
"""


def qemu_aarch64_enabled() -> bool:
    entry = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")
    return entry.is_file() and entry.read_text().startswith("enabled")


@pytest.fixture(scope="module")
def tx2_image(tmp_path_factory):
    require_standin_base(STANDIN_L4T)
    if not qemu_aarch64_enabled():
        pytest.skip("no arm64 emulation (binfmt_misc qemu-aarch64 not enabled); scripts/setup-docker.sh enables it")
    ca = ["--ca-file", HOST_CA] if Path(HOST_CA).is_file() else []
    built = subprocess.run([sys.executable, "-m", "harness", "build", "tx2", "--var", "TAG=emulated",
                            "--var", f"TX2_BASE={STANDIN_L4T}", *ca],
                           cwd=tmp_path_factory.mktemp("build"), capture_output=True, text=True, timeout=1500)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    yield IMAGE
    docker_cli("image", "rm", "-f", IMAGE)


def test_install_step_ran_on_the_pip9_base_and_kept_its_stack(tx2_image):
    base = docker_cli("run", "--rm", "--platform", "linux/arm64", STANDIN_L4T, "python3", "-m", "pip", "--version")
    assert base.stdout.startswith("pip 9.0.1 "), base.stdout + base.stderr
    done = docker_cli("run", "--rm", "--platform", "linux/arm64", "--entrypoint", "python3", tx2_image,
                  "-m", "pip", "list", "--format=freeze")
    assert done.returncode == 0, done.stderr[-2000:]
    versions = dict(line.lower().split("==") for line in done.stdout.split() if "==" in line)
    assert tuple(int(p) for p in versions["pip"].split(".")[:2]) >= (19, 3)  # pip 9 upgraded itself
    held = {name: versions[name] for name in ("numpy", "protobuf", "h5py", "tensorflow-aarch64")}
    assert held == {"numpy": "1.23.5", "protobuf": "3.19.4", "h5py": "3.6.0", "tensorflow-aarch64": "2.7.4"}
    added = {name: versions[name] for name in ("scikit-learn", "pillow", "tensorflow-hub")}
    assert added == {"scikit-learn": "0.24.2", "pillow": "8.4.0", "tensorflow-hub": "0.12.0"}


def test_digits_after_tensorflow_loads_no_sklearn_on_tf27_arm64(tx2_image):
    """TF 2.7 imports no scikit-learn itself, so here none may be loaded at all (issue 11, item 2)."""
    script = ("import sys, platform, tensorflow as tf; from harness_jobs import data; x = data.load_digits();"
              "print(platform.machine(), tf.__version__, len(x[0]),"
              " sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'))")
    done = docker_cli("run", "--rm", "--platform", "linux/arm64", "-e", "TF_CPP_MIN_LOG_LEVEL=2",
                  "--entrypoint", "python3", tx2_image, "-c", script)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["aarch64", "2.7.4", "1437", "[]"], done.stdout


def test_selftest_and_quickstart_mlp_run_emulated_with_real_tensorflow(tx2_image, tmp_path):
    (tmp_path / "harness.toml").write_text(TARGET)
    (tmp_path / "emulated.toml").write_text(SUITE)
    done = run_harness("run", "--target", "tx2-emulated", "--emulate", "--suite", str(tmp_path / "emulated.toml"),
                       "--results-dir", str(tmp_path / "r"), cwd=tmp_path, timeout=900)
    assert done.code == 0, done.out[-3000:] + done.err[-3000:]
    run = load_run(only_run(tmp_path / "r"))
    assert run.manifest["emulated"] is True and run.status == "complete"
    by_job = {r["job"]: r for r in run.results}
    assert {r["status"] for r in run.results} == {"ok"} and set(by_job) == {"selftest", "mnist_mlp"}
    for result in run.results:
        assert result["emulated"] is True
        start = json.loads((run.path / result["dir"] / "events.jsonl").read_text().splitlines()[0])
        assert start["environment"]["machine"] == "aarch64" and start["environment"]["tf"] == "2.7.4"
    mlp = by_job["mnist_mlp"]["metrics"]
    assert mlp["final_val_accuracy"] > 0.5  # it learned (chance is 0.1); 2 epochs, so no more is claimed
