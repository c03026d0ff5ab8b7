"""The docker runner against a real engine, with images built by our own bake file from the
registry-free stand-in bases (scripts/build-standin-bases.sh). CI always has an engine."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

docker = pytest.importorskip("docker")

from harness.results import load_run  # noqa: E402
from harness.runners.docker import LABEL_OWNER, LABEL_RUN  # noqa: E402

from ..conftest import REPO, harness_process, only_run, read_results, run_harness  # noqa: E402

STANDIN_TF27 = "harness-standin/tf2.7:amd64"
STANDIN_ARM64 = "harness-standin/py3-sklearn:arm64"
TAG = "test"
HOST_CA = "/etc/ssl/certs/ca-certificates.crt"
TARGETS = f"""
[targets.rtx-test]
runner = "docker"
platform = "linux/amd64"
image = "harness-rtx2080:{TAG}"
mem_limit = "3g"
notes = "the rtx2080 image built from the TF 2.7 stand-in base (CPU only)"

[targets.tx2-test]
runner = "docker"
platform = "linux/arm64"
image = "harness-tx2:{TAG}"

[targets.tiny-memory]
runner = "docker"
platform = "linux/amd64"
image = "harness-rtx2080:{TAG}"
mem_limit = "200m"

[targets.tiniest-memory]
runner = "docker"
platform = "linux/amd64"
image = "harness-rtx2080:{TAG}"
mem_limit = "100m"

[targets.no-image]
runner = "docker"
image = "harness-nothing:none"
"""


@pytest.fixture(scope="session")
def client():
    try:
        engine = docker.from_env(timeout=30)
        engine.ping()
    except Exception as error:  # noqa: BLE001 - any failure means no usable engine
        pytest.skip(f"no Docker engine answers ({error}); scripts/setup-docker.sh starts one (CI runs it)")
    for base in (STANDIN_TF27, STANDIN_ARM64):
        try:
            engine.images.get(base)
        except docker.errors.ImageNotFound:
            pytest.skip(f"stand-in base {base} missing: run scripts/build-standin-bases.sh (CI runs it)")
    return engine


def ca_option() -> list[str]:
    """pip inside the build reaches the package index through this machine's proxy CA."""
    return ["--ca-file", HOST_CA] if Path(HOST_CA).is_file() else []


@pytest.fixture(scope="session")
def images(client, tmp_path_factory):
    """harness build (docker buildx bake) of rtx2080 and tx2 from the stand-in bases."""
    built = subprocess.run([sys.executable, "-m", "harness", "build", "rtx2080", "tx2", "--var", f"TAG={TAG}",
                            "--var", f"RTX2080_BASE={STANDIN_TF27}", "--var", f"TX2_BASE={STANDIN_ARM64}",
                            # the arm64 stand-in has neither TF nor wheels for Pillow 8.4 (Python 3.11)
                            "--var", "PILLOW_PY36_VERSION=", "--var", "HUB_PY36_VERSION=", *ca_option()],
                           cwd=tmp_path_factory.mktemp("build"), capture_output=True, text=True, timeout=1200)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return {"rtx2080": client.images.get(f"harness-rtx2080:{TAG}"), "tx2": client.images.get(f"harness-tx2:{TAG}")}


@pytest.fixture
def workdir(tmp_path, images):
    (tmp_path / "harness.toml").write_text(TARGETS)
    return tmp_path


@pytest.fixture
def harness_containers(client):
    """The harness containers this test has left on the engine. One that was there before it started (another
    run's, or one a killed session left) is not this test's, and gc may remove it at any time."""
    def listed():
        return client.containers.list(all=True, filters={"label": LABEL_RUN})
    before = {container.id for container in listed()}
    return lambda: [container for container in listed() if container.id not in before]


def test_bake_file_is_valid_and_names_each_platform():
    printed = subprocess.run(["docker", "buildx", "bake", "--print", "default"], cwd=REPO, capture_output=True,
                             text=True, timeout=60)
    if printed.returncode != 0 and "is not a docker command" in printed.stderr:
        pytest.skip("docker buildx is not installed (scripts/setup-docker.sh installs it)")
    assert printed.returncode == 0, printed.stderr
    config = json.loads(printed.stdout)
    platforms = {name: target["platforms"] for name, target in config["target"].items()}
    assert platforms == {"tx2": ["linux/arm64"], "tx2-tf1": ["linux/arm64"], "rtx2080": ["linux/amd64"],
                         "rtx2080-tf1": ["linux/amd64"], "cuda-latest": ["linux/amd64"]}
    assert config["target"]["tx2"]["args"]["BASE_IMAGE"] == "nvcr.io/nvidia/l4t-tensorflow:r32.7.1-tf2.7-py3"


def test_images_carry_the_labels_and_environment(images):
    labels = images["rtx2080"].labels
    assert labels["io.harness.tf-version"] == "2.7.0" and labels["io.harness.base"] == STANDIN_TF27
    assert labels["io.harness.jobs-version"] and labels["org.opencontainers.image.created"]
    config = images["rtx2080"].attrs["Config"]
    assert "TF_FORCE_GPU_ALLOW_GROWTH=true" in config["Env"]
    assert config["Entrypoint"] == ["python3", "-m", "harness_jobs"]
    assert images["tx2"].attrs["Architecture"] == "arm64"


def test_the_mlp_in_the_tf27_image_compares_with_a_local_run(workdir, client, harness_containers):
    results = workdir / "reports"
    # one MLP a side, not the quickstart's four: every TF start costs tens of seconds on 2 cores
    for target in ("rtx-test", "local"):
        done = run_harness("run", "--target", target, "--job", "mnist_mlp", "--set", "dataset=digits",
                           "--set", "epochs=2", "--results-dir", str(results), cwd=workdir)
        assert done.code == 0, done.out + done.err
    docker_run = next(load_run(p) for p in (results / "runs").iterdir() if "rtx-test" in p.name)
    assert docker_run.status == "complete" and {r["status"] for r in docker_run.results} == {"ok"}
    facts = docker_run.manifest["runner"]
    assert facts["image"]["labels"]["io.harness.tf-version"] == "2.7.0" and facts["engine"]["version"]
    assert docker_run.manifest["emulated"] is False
    job_dir = docker_run.path / docker_run.results[0]["dir"]
    start = json.loads((job_dir / "events.jsonl").read_text().splitlines()[0])
    assert start["environment"]["tf"] == "2.7.0"  # the events file was copied out of the container
    telemetry = pd.read_csv(job_dir / "telemetry.csv")
    assert "docker" in set(telemetry.source) and (telemetry[telemetry.metric == "memory_mb"].value > 50).any()
    assert docker_run.results[0]["metrics"]["peak_container_memory_mb"] > 50
    assert harness_containers() == []

    compared = run_harness("compare", "local", "rtx-test", "--results-dir", str(results), cwd=workdir)
    assert compared.code == 0, compared.err
    summary = pd.read_csv(results / "compare" / "local_vs_rtx-test" / "summary.csv")
    assert len(summary) == 2 and summary.throughput_ratio.notna().all()  # a row per side


# hw5-offline's lab paths once each (the local test runs the whole suite): both loaders, frozen and
# fine-tuned, TF1 graph-mode retrain at both sizes, and label_image on both exports.
LABS_ONCE = """
[suites.labs-once]
[[suites.labs-once.jobs]]
job = "transfer"
params = { model = "keras/mobilenet_v2", weights = "none", dataset = "generated", generated_images = 20, image_size = 96, epochs = 2, loader = "generator", trainable = false }
[[suites.labs-once.jobs]]
job = "transfer"
params = { model = "keras/mobilenet_v2", weights = "none", dataset = "generated", generated_images = 20, image_size = 96, epochs = 2, loader = "tfdata", trainable = true }
[[suites.labs-once.jobs]]
job = "retrain"
params = { architecture = "mobilenet_v2", weights = "none", dataset = "generated", how_many_training_steps = 100, export_as = "once-mobilenet_v2" }
[[suites.labs-once.jobs]]
job = "retrain"
params = { architecture = "inception_v3", weights = "none", dataset = "generated", how_many_training_steps = 100, export_as = "once-inception_v3" }
[[suites.labs-once.jobs]]
job = "label_image"
sweep = { export = ["once-mobilenet_v2", "once-inception_v3"] }
"""


def test_the_labs_run_in_the_tf27_image(workdir, client, harness_containers):
    """Each lab path in the TX2 image's TF version (the TF 2.7 stand-in): TF1 graph-mode retrain,
    the Keras 2 ImageDataGenerator path, exports handed to label_image through the work volume."""
    volume = f"harness-work-test-{os.getpid()}"
    (workdir / "harness.toml").write_text(LABS_ONCE + TARGETS + f"""
[targets.rtx-labs]
runner = "docker"
platform = "linux/amd64"
image = "harness-rtx2080:{TAG}"
work_volume = "{volume}"
""")
    try:
        done = run_harness("run", "--target", "rtx-labs", "--suite", "labs-once", "--results-dir", "res",
                           cwd=workdir, timeout=1500)
        assert done.code == 0, done.out[-3000:] + done.err[-3000:]
        results = read_results(only_run(workdir / "res"))
        statuses = {r["label"]: r["status"] for r in results}
        assert {s for label, s in statuses.items() if "device=gpu" not in label} == {"ok"}, statuses
        assert all(r["metrics"]["device"] == "cpu" for r in results if r["status"] == "ok")
        labelled = [r["metrics"] for r in results if r["job"] == "label_image"]
        assert sorted(m["input_size"] for m in labelled) == [224, 299]
        assert harness_containers() == []
    finally:
        client.volumes.get(volume).remove(force=True)


def test_arm64_image_needs_emulate_and_is_marked_emulated(workdir):
    refused = run_harness("run", "--target", "tx2-test", "--job", "selftest", cwd=workdir)
    assert refused.code == 2 and "linux/arm64 but the engine is x86_64" in refused.err and "--emulate" in refused.err
    done = run_harness("run", "--target", "tx2-test", "--emulate", "--job", "selftest", "--set", "framework=none",
                       "--results-dir", str(workdir / "r"), cwd=workdir)
    assert done.code == 0, done.out + done.err
    run = load_run(only_run(workdir / "r"))
    assert run.manifest["emulated"] is True and run.results[0]["emulated"] is True
    start = json.loads((run.path / run.results[0]["dir"] / "events.jsonl").read_text().splitlines()[0])
    assert start["environment"]["machine"] == "aarch64"


def test_doctor_checks_the_target_and_runs_selftest(workdir):
    done = run_harness("doctor", "--target", "rtx-test", "--results-dir", str(workdir / "r"), cwd=workdir)
    assert done.code == 0, done.out + done.err
    assert "engine answers" in done.out and "io.harness.tf-version = 2.7.0" in done.out and "selftest ok" in done.out


def test_memory_limit_gives_oom(workdir, client, harness_containers):
    # 100m: since digits no longer loads scikit-learn, the MLP's TF 2.7 process fits in 200m
    done = run_harness("run", "--target", "tiniest-memory", "--job", "mnist_mlp", "--results-dir",
                       str(workdir / "r"), cwd=workdir)
    assert done.code == 1
    result = read_results(only_run(workdir / "r"))[0]
    assert result["status"] == "oom" and "memory limit (100m)" in result["error"]
    assert harness_containers() == []


def test_misbehaving_jobs_in_a_container_end_with_their_status(workdir, client):
    """The misbehave job in the real image: garbage, broken events and a 3 MB line through the
    engine's log stream, a crash, and a memory hog over the 200m limit; the run goes on each time."""
    (workdir / "faults.toml").write_text('[[jobs]]\njob = "misbehave"\nparams = { mb = 3 }\n'
                                         'sweep = { mode = ["garbage", "bad_events", "huge_line", "crash"] }\n'
                                         '[[jobs]]\njob = "misbehave"\nparams = { mode = "alloc", mb = 400 }\n'
                                         '[[jobs]]\njob = "misbehave"\nparams = { seconds = 0.3 }\n')
    done = run_harness("run", "--target", "tiny-memory", "--suite", str(workdir / "faults.toml"),
                       "--results-dir", str(workdir / "r"), cwd=workdir)
    assert done.code == 1 and "Traceback" not in done.out + done.err, done.out + done.err
    statuses = [(r["params"]["mode"], r["status"]) for r in read_results(only_run(workdir / "r"))]
    assert statuses == [("garbage", "ok"), ("bad_events", "ok"), ("huge_line", "ok"), ("crash", "failed"),
                        ("alloc", "oom"), ("ok", "ok")]
    run_id = only_run(workdir / "r").name  # other runs may share this engine: only this run's containers
    assert client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={run_id}"}) == []


def test_a_power_mode_sweep_on_a_docker_target_of_this_machines_engine(workdir, monkeypatch):
    """On a Jetson running its image on its own engine, the harness sets each job's mode through the
    host's jtop (here the stand-in, after jetson-stats 4.3.1), records it, and restores the board."""
    for name in [k for k in os.environ if k.startswith("FAKE_")]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    for name, value in {"PYTHONPATH": os.pathsep.join([str(REPO / "tests" / "fakes"), str(REPO)]),
                        "FAKE_JTOP_BOARD": "xavier", "FAKE_JTOP_STATE": str(workdir / "board.json"),
                        "FAKE_JTOP_NVPMODEL": "MODE_30W_ALL", "FAKE_JTOP_CLOCKS": "OFF"}.items():
        monkeypatch.setenv(name, value)
    (workdir / "modes.toml").write_text('[[jobs]]\njob = "misbehave"\nparams = { seconds = 0.3 }\n'
                                        'sweep = { power_mode = ["MAXN", "MODE_15W"] }\n')
    done = run_harness("run", "--target", "rtx-test", "--suite", str(workdir / "modes.toml"),
                       "--results-dir", str(workdir / "r"), cwd=workdir)
    assert done.code == 0, done.out + done.err
    run = only_run(workdir / "r")
    assert [(r["status"], r["power"]["applied"]["power_mode"]) for r in read_results(run)] == [
        ("ok", "MAXN"), ("ok", "MODE_15W")]
    assert json.loads((run / "run.json").read_text())["power"]["restored"] is True
    state = json.loads((workdir / "board.json").read_text())
    assert (state["nvp"], state["jc"]) == (3, False)  # MODE_30W_ALL, clocks off: as before the run


def test_timeout_kills_the_container(workdir, client, harness_containers):
    done = run_harness("run", "--target", "rtx-test", "--job", "mnist_mlp", "--set", "epochs=1000",
                       "--timeout", "15", "--results-dir", str(workdir / "r"), cwd=workdir)
    assert done.code == 1
    result = read_results(only_run(workdir / "r"))[0]
    assert result["status"] == "timeout" and "15 s timeout" in result["error"]
    assert result["metrics"]["steps"] > 0  # events streamed from the log before the kill
    assert harness_containers() == []


def test_sigint_removes_the_container(workdir, client, harness_containers):
    process = harness_process("run", "--target", "rtx-test", "--suite", "quickstart", "--set", "epochs=500",
                              "--results-dir", str(workdir / "r"), cwd=workdir)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        running = harness_containers()
        if running and b'"step"' in running[0].logs():
            break
        time.sleep(0.5)
    else:
        raise AssertionError("no training step seen in the container")
    process.send_signal(2)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    assert harness_containers() == []
    statuses = [r["status"] for r in read_results(only_run(workdir / "r"))]
    assert statuses == ["interrupted", "skipped", "skipped", "skipped"]


def test_missing_image_is_a_usage_error(workdir):
    done = run_harness("run", "--target", "no-image", cwd=workdir)
    assert done.code == 2 and done.err.count("\n") == 1
    assert "image harness-nothing:none is not on the engine; build it with: harness build no-image" in done.err


def test_gc_removes_what_a_killed_harness_left(workdir, client, images, harness_containers):
    dead = subprocess.Popen(["true"])
    dead.wait()
    left = client.containers.create(images["rtx2080"].id, ["selftest"],
                                    labels={LABEL_RUN: "killed-run", LABEL_OWNER: f"{socket.gethostname()}:{dead.pid}"})
    try:
        warned = run_harness("run", "--target", "rtx-test", "--job", "selftest", "--results-dir",
                             str(workdir / "r"), cwd=workdir)
        assert warned.code == 0 and "left by a killed harness" in warned.out
        cleaned = run_harness("gc", "--target", "rtx-test", cwd=workdir)
        # a container an earlier killed session left on this engine is removed too, so no exact count
        assert cleaned.code == 0 and f"removed {left.short_id} (killed-run)" in cleaned.out
        assert harness_containers() == []
    finally:
        try:
            left.remove(force=True)
        except docker.errors.NotFound:
            pass


@pytest.fixture
def sshd(tmp_path):
    """An sshd on a loopback port that accepts one generated key for root, and a HOME whose
    ~/.ssh/config and known_hosts let paramiko reach it (nothing of the machine's own ssh set-up).
    MaxSessions is raised as docs/targets.md tells device owners to: docker-py opens more than 10."""
    server = start_sshd(tmp_path)
    yield server
    if server[2].poll() is None:
        server[2].terminate()
        server[2].wait(timeout=10)


def start_sshd(tmp_path: Path, extra_config: str = "") -> tuple[int, Path, subprocess.Popen, Path]:
    """(port, HOME, sshd process, keys folder); extra_config is appended to its sshd_config."""
    if not Path("/usr/sbin/sshd").exists():
        pytest.skip("openssh-server is not installed (scripts/setup-docker.sh installs it)")
    keys = tmp_path / "ssh"
    keys.mkdir()
    for name in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / name)], check=True)
    (keys / "authorized_keys").write_text((keys / "client.pub").read_text())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (keys / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {keys / 'host'}\nAuthorizedKeysFile {keys / 'authorized_keys'}\n"
        f"PermitRootLogin prohibit-password\nPasswordAuthentication no\nUsePAM no\nStrictModes no\n"
        f"PidFile {keys / 'sshd.pid'}\nMaxSessions 64\n{extra_config}")
    Path("/run/sshd").mkdir(exist_ok=True)
    server = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(keys / "sshd_config")], stderr=subprocess.PIPE)
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text(f"Host 127.0.0.1\n  IdentityFile {keys / 'client'}\n")
    host_key = (keys / "host.pub").read_text().split()
    (home / ".ssh" / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as attempt:
            if attempt.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    return port, home, server, keys


def test_remote_engine_over_ssh(workdir, sshd):
    port, home, _, _ = sshd
    (workdir / "harness.toml").write_text(TARGETS + f"""
[targets.remote]
runner = "docker"
platform = "linux/amd64"
image = "harness-rtx2080:{TAG}"
docker_host = "ssh://root@127.0.0.1:{port}"
""")
    process = subprocess.run([sys.executable, "-m", "harness", "run", "--target", "remote", "--job", "selftest",
                              "--results-dir", str(workdir / "r")], cwd=workdir, capture_output=True, text=True,
                             env={**os.environ, "HOME": str(home)}, timeout=300)
    assert process.returncode == 0, process.stdout + process.stderr
    run = load_run(only_run(workdir / "r"))
    assert run.results[0]["status"] == "ok"
    assert run.manifest["runner"]["engine"]["host"] == f"ssh://root@127.0.0.1:{port}"
    assert run.results[0]["metrics"]["matmul_seconds"]
