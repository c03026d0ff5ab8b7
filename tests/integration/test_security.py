"""SECURITY.md, tested where it can be: no secret from the environment or a target's configuration in
anything the harness writes; job containers unprivileged, with only the mounts and devices the target
declares and never the Docker socket; the build's proxy CA absent from every image layer."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from ..conftest import REPO, only_run

SECRET_NAMES = ("AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "HARNESS_TEST_PASSWORD")


def canary(what: str) -> str:
    """A secret-looking value no other text holds; fixed, so every run of the test is the same."""
    return hashlib.sha256(f"harness security canary: {what}".encode()).hexdigest()[:24]


def _written_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def _holds(path: Path, needles: list[bytes]) -> list[bytes]:
    data = path.read_bytes()
    found = [n for n in needles if n in data]
    if path.suffix == ".npz":  # a zip: look inside too
        import zipfile
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                inner = archive.read(name)
                found += [n for n in needles if n in inner]
    return found


def test_secrets_in_the_environment_and_config_never_reach_a_written_file(tmp_path):
    """A real `harness run` (a local job, telemetry on), then `report` and `import` + `compare`, with
    secret-looking environment variables set and a password in a target's docker_host: every file
    written is searched for each secret."""
    values = {name: f"{name.lower()}-{canary(name)}" for name in SECRET_NAMES}
    password = "pw" + canary("docker_host password")[:16]
    (tmp_path / "harness.toml").write_text(
        f'[targets.remote]\nrunner = "docker"\nimage = "x"\ndocker_host = "ssh://nvidia:{password}@tx2.local:22"\n')
    env = {**os.environ, **values, "COLUMNS": "200"}

    def harness(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "harness", *argv], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=600)

    ran = harness("run", "--job", "mnist_mlp", "--set", "epochs=2", "--set", "limit=320")
    assert ran.returncode == 0, ran.stderr[-2000:]
    run_id = only_run(tmp_path / "reports").name
    assert harness("report", run_id).returncode == 0
    log = tmp_path / "k.log"
    log.write_text("Epoch 1/1\n10/10 - 1s - 100ms/step - loss: 0.5 - accuracy: 0.8\n")
    imported = harness("import", "keras-log", str(log), "--target", "remote", "--job", "mnist_mlp",
                       "--batch-size", "32")
    assert imported.returncode == 0, imported.stderr
    runs = sorted(p.name for p in (tmp_path / "reports" / "runs").iterdir())
    compared = harness("compare", "--runs", *runs, "--force")
    assert compared.returncode == 0, compared.stderr
    needles = [v.encode() for v in values.values()] + [password.encode()]
    written = _written_files(tmp_path / "reports")
    assert len(written) >= 12 and any(p.name == "report.html" for p in written)
    leaks = {str(p.relative_to(tmp_path)): _holds(p, needles) for p in written}
    assert not {p: found for p, found in leaks.items() if found}
    # what the manifest keeps of the remote target: the engine, never the password
    manifest = json.loads((tmp_path / "reports" / "runs" / runs[-1] / "run.json").read_text())
    assert manifest["target"]["docker_host"] == "ssh://nvidia:***@tx2.local:22"
    for output in (ran, imported, compared):
        assert not any(n.decode() in output.stdout + output.stderr for n in needles)


# -- containers --------------------------------------------------------------------------------------
docker = pytest.importorskip("docker")

from . import test_docker  # noqa: E402

HOST_CA, TAG = test_docker.HOST_CA, test_docker.TAG
client, images = test_docker.client, test_docker.images  # the fixtures: a live engine, the images built with --ca-file


def test_job_containers_are_unprivileged_with_only_what_the_target_declares(tmp_path, images, client, monkeypatch,
                                                                           request):
    """`harness run` on a docker target, in-process, with every container the harness creates read back
    from the engine (docker inspect) right after its creation: the job and its telemetry sidecar."""
    from docker.models.containers import ContainerCollection

    request.addfinalizer(lambda: [v.remove(force=True) for v in client.volumes.list(
        filters={"name": "harness-security-test"})])

    from harness.cli import main

    created = []
    original = ContainerCollection.create

    def create(self, image, command=None, **kwargs):
        container = original(self, image, command, **kwargs)
        container.reload()
        created.append(container.attrs)
        return container

    monkeypatch.setattr(ContainerCollection, "create", create)
    token = canary("container environment")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", token)
    cache = tmp_path / "cache"
    cache.mkdir()
    (tmp_path / "harness.toml").write_text(f'[targets.box]\nrunner = "docker"\nplatform = "linux/amd64"\n'
                                           f'image = "harness-rtx2080:{TAG}"\ncache_dir = "{cache}"\n'
                                           f'work_volume = "harness-security-test"\n')
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    assert main(["run", "--target", "box", "--job", "selftest"], stdout=out, stderr=err) == 0, err.getvalue()
    jobs = [a for a in created if a["Config"]["Labels"].get("io.harness.role") != "telemetry"]
    sidecars = [a for a in created if a["Config"]["Labels"].get("io.harness.role") == "telemetry"]
    assert len(jobs) == 1 and sidecars, [a["Config"]["Labels"] for a in created]
    for attrs in created:
        host = attrs["HostConfig"]
        assert host["Privileged"] is False
        assert not host.get("CapAdd") and not host.get("Devices") and not host.get("DeviceRequests")
        assert host.get("NetworkMode") in ("default", "bridge")
        assert host.get("Runtime") in (None, "", "runc")
        mounted = json.dumps(attrs["Mounts"]) + json.dumps(host.get("Binds")) + json.dumps(host.get("Mounts"))
        assert "docker.sock" not in mounted and "/var/run/docker" not in mounted
        assert token not in json.dumps(attrs) and "AWS_SECRET_ACCESS_KEY" not in json.dumps(attrs["Config"]["Env"])
    (job,) = jobs
    image_env = set(client.images.get(f"harness-rtx2080:{TAG}").attrs["Config"]["Env"])
    assert set(job["Config"]["Env"]) - image_env == {"TF_FORCE_GPU_ALLOW_GROWTH=true"} - image_env
    mounts = {(m["Type"], m.get("Name") or m["Source"], m["Destination"], m["RW"]) for m in job["Mounts"]}
    assert mounts == {("volume", "harness-security-test", "/work", True), ("bind", str(cache), "/cache", False)}
    assert job["HostConfig"]["PidMode"] == "" and not job["HostConfig"].get("SecurityOpt")
    # the sidecar shares the host's PID namespace (NVML process attribution; SECURITY.md) and mounts
    # nothing on an x86 target without a tegrastats_path
    # (the engine itself turns SELinux labelling off for a host-PID container: label=disable)
    for sidecar in sidecars:
        assert sidecar["HostConfig"]["PidMode"] == "host" and sidecar["Mounts"] == []
        assert set(sidecar["HostConfig"].get("SecurityOpt") or []) <= {"label=disable"}


# -- the proxy CA, a build secret ---------------------------------------------------------------------------
CHUNK = 8 << 20


def _scan(stream, needles: list[bytes]) -> set[bytes]:
    """Needles found in a byte stream (read in chunks, overlapping so none is split)."""
    found, tail = set(), b""
    overlap = max(len(n) for n in needles) - 1
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            return found
        window = tail + chunk
        found.update(n for n in needles if n in window)
        tail = window[-overlap:] if overlap else b""


def image_holds(image: str, needles: list[bytes]) -> dict[str, set[bytes]]:
    """`docker save IMAGE`, streamed: which needles each layer (decompressed) or metadata file holds.
    File content is contiguous in a layer's tar, so a copied or appended CA file shows as its bytes."""
    save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    hits: dict[str, set[bytes]] = {}
    with tarfile.open(fileobj=save.stdout, mode="r|") as outer:
        for member in outer:
            if not member.isfile():
                continue
            handle = outer.extractfile(member)
            if member.size < 1 << 20:  # metadata (JSON), or a small layer: read it whole
                data = handle.read()
                found = _scan(io.BytesIO(data), needles)
                try:
                    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as layer:
                        for entry in layer:
                            if entry.isfile():
                                found |= _scan(layer.extractfile(entry), needles)
                except tarfile.TarError:
                    pass
            else:  # a layer, plain or compressed, streamed
                found = set()
                with tarfile.open(fileobj=handle, mode="r|*") as layer:
                    for entry in layer:
                        if entry.isfile():
                            found |= _scan(layer.extractfile(entry), needles)
            if found:
                hits[member.name] = found
    assert save.wait() == 0
    return hits


def _ca_needles(path: Path) -> list[bytes]:
    content = path.read_bytes()
    return [content, hashlib.sha256(content).hexdigest().encode()]


@pytest.fixture(scope="module")
def control_image(client, tmp_path_factory):
    """A positive control: the CA copied into a layer, as a careless Dockerfile would (FROM scratch,
    nothing pulled). The check must find it there, or it proves nothing elsewhere."""
    folder = tmp_path_factory.mktemp("control")
    (folder / "ca.crt").write_bytes(Path(HOST_CA).read_bytes())
    (folder / "Dockerfile").write_text("FROM scratch\nCOPY ca.crt /etc/ca.crt\n")
    built = subprocess.run(["docker", "build", "-q", "-t", "harness-security-control:test", str(folder)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    yield "harness-security-control:test"
    subprocess.run(["docker", "rmi", "-f", "harness-security-control:test"], capture_output=True)


@pytest.mark.skipif(not Path(HOST_CA).is_file(), reason=f"{HOST_CA} missing: the images were built without a CA")
@pytest.mark.parametrize("name", ["rtx2080", "tx2"])
def test_the_proxy_ca_is_in_no_image_layer(name, images, control_image):
    """The images test_docker.py built with `--ca-file` HOST_CA: neither `docker history --no-trunc`
    nor any layer or config of `docker save` holds the CA file's content or its sha256."""
    needles = _ca_needles(Path(HOST_CA))
    assert image_holds(control_image, needles), "the check did not find the CA the control image holds"
    image = f"harness-{name}:{TAG}"
    history = subprocess.run(["docker", "history", "--no-trunc", "--format", "{{.CreatedBy}}", image],
                             capture_output=True, text=True, check=True).stdout
    assert "/run/secrets/ca" in history  # the pip step read the secret mount
    assert "BEGIN CERTIFICATE" not in history and needles[1].decode() not in history
    # the same scan must find a file we know the image holds (the job package's event module), so an
    # empty answer means "not there", not "not read"
    known = (REPO / "benchmarks" / "events.py").read_bytes()
    hits = image_holds(image, needles + [known])
    assert {needle for found in hits.values() for needle in found} == {known}
    inspected = json.loads(subprocess.run(["docker", "image", "inspect", image], capture_output=True, text=True,
                                          check=True).stdout)[0]
    assert "PIP_CERT" not in json.dumps(inspected["Config"]) and "/run/secrets" not in json.dumps(inspected["Config"])


def test_no_harness_code_mounts_the_docker_socket():
    """Beside the engine check above: no source under harness/ names the socket (a mount added later
    would have to name it)."""
    sources = [p for p in (REPO / "harness").rglob("*.py")]
    assert sources and not [p for p in sources if "docker.sock" in p.read_text()]
