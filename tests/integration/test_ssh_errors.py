# ruff: noqa: F811 - pytest fixtures imported from test_docker are parameters here
"""ssh:// engines failing as paramiko really fails, on the loopback sshd: a refused key, a host missing
from known_hosts, nothing listening, and the link killed mid-job. Each is one line naming the host and
the fix: exit 2 before a run, a `failed` job (and the run going on) during one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import psutil

from harness.results import load_run

from ..conftest import only_run
from .test_docker import LABEL_RUN, TAG, client, images, sshd, workdir  # noqa: F401 - shared fixtures


def remote_target(port: int) -> str:
    return f"""
[targets.remote]
runner = "docker"
platform = "linux/amd64"
image = "harness-rtx2080:{TAG}"
docker_host = "ssh://root@127.0.0.1:{port}"
engine_timeout_s = 20
"""


def harness(folder, home, *argv, **popen):
    return subprocess.Popen([sys.executable, "-m", "harness", *argv], cwd=folder, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "HOME": str(home), "COLUMNS": "200"}, **popen)


def doctor(folder, home):
    process = harness(folder, home, "doctor", "--target", "remote")
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def test_a_refused_key_names_ssh_copy_id(workdir, sshd):
    port, home, _, keys = sshd
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / "stranger")], check=True)
    (home / ".ssh" / "config").write_text(f"Host 127.0.0.1\n  IdentityFile {keys / 'stranger'}\n")
    (workdir / "harness.toml").write_text(remote_target(port))
    code, out, err = doctor(workdir, home)
    assert code == 2 and err.count("\n") == 1, out + err
    assert "root@127.0.0.1 refused the ssh keys offered" in err and f"ssh-copy-id -p {port} root@127.0.0.1" in err


def test_a_host_missing_from_known_hosts_names_ssh_keyscan(workdir, sshd):
    port, home, _, _ = sshd
    (home / ".ssh" / "known_hosts").write_text("")
    (workdir / "harness.toml").write_text(remote_target(port))
    code, out, err = doctor(workdir, home)
    assert code == 2 and err.count("\n") == 1, out + err
    assert "not in ~/.ssh/known_hosts" in err and f"ssh-keyscan -p {port} 127.0.0.1 >> ~/.ssh/known_hosts" in err


def test_nothing_listening_is_one_line(workdir, sshd):
    _, home, _, _ = sshd
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    (workdir / "harness.toml").write_text(remote_target(port))
    code, out, err = doctor(workdir, home)
    assert code == 2 and err.count("\n") == 1, out + err
    assert f"nothing accepts ssh connections at 127.0.0.1:{port}" in err


def test_an_image_missing_on_the_device_names_the_command_that_sends_it(workdir, sshd):
    port, home, _, _ = sshd
    (workdir / "harness.toml").write_text(remote_target(port).replace(f"harness-rtx2080:{TAG}", "harness-nothing:none"))
    code, out, err = doctor(workdir, home)
    assert code == 2 and err.count("\n") == 1, out + err
    assert (f"docker save harness-nothing:none | docker -H ssh://root@127.0.0.1:{port} load") in err


def test_the_link_killed_mid_job_fails_the_job_and_the_run_goes_on(workdir, sshd, client):
    port, home, server, _ = sshd
    (workdir / "harness.toml").write_text(remote_target(port))
    results = workdir / "r"
    process = harness(workdir, home, "run", "--target", "remote", "--suite", "quickstart", "--set", "epochs=500",
                      "--results-dir", str(results))
    try:
        deadline = time.monotonic() + 180
        mine = []
        while not mine and time.monotonic() < deadline:
            runs = {path.name for path in results.glob("runs/*")}
            mine = [c for c in client.containers.list(filters={"label": LABEL_RUN})
                    if c.labels[LABEL_RUN] in runs and b'"step"' in c.logs()]
            time.sleep(0.5)
        assert mine, "no training step seen in the job's container"
        sessions = psutil.Process(server.pid).children(recursive=True)
        server.kill()  # the listener, then every session it forked: the link drops as when the device goes
        for session in sessions:
            session.kill()
        out, err = process.communicate(timeout=180)
    finally:
        for container in client.containers.list(all=True, filters={"label": LABEL_RUN}):
            if container.labels[LABEL_RUN] in {path.name for path in results.glob("runs/*")}:
                container.remove(force=True)
    assert process.returncode == 1 and "Traceback" not in err, out + err
    run = load_run(only_run(results))
    statuses = [r["status"] for r in run.results]
    assert statuses == ["failed"] * 4, statuses
    assert "lost contact with the Docker engine at ssh://root@127.0.0.1" in run.results[0]["error"]
    for later in run.results[1:]:  # docker-py keeps the dead transport: each later job fails at once, saying so
        assert f"the ssh link to 127.0.0.1:{port} failed or dropped" in later["error"], later["error"]
