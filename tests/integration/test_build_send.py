# ruff: noqa: F811 - pytest fixtures imported from the other engine tests are parameters here
"""`harness build TARGET` for an ssh:// target: bake here, then the image streamed to the device's
engine with the SDK. The "device" is a private dockerd behind the loopback sshd (sshd's SetEnv points
`docker system dial-stdio` at it), so the image really crosses an ssh link to an engine that lacked it,
and then runs there."""

from __future__ import annotations

import os
import subprocess
import sys

import docker
import pytest

from .test_docker import STANDIN_TF27, TAG, ca_option, client, images, start_sshd  # noqa: F401
from .test_docker_faults import engine  # noqa: F401 - the private dockerd


def test_build_sends_the_image_over_ssh_and_it_runs_there(tmp_path, client, images, engine):
    port, home, server, _ = start_sshd(tmp_path, f"SetEnv DOCKER_HOST={engine.url}\n")
    image = f"harness-rtx2080:{TAG}"
    try:
        with pytest.raises(docker.errors.ImageNotFound):
            engine.client().images.get(image)
        (tmp_path / "harness.toml").write_text(f"""
[targets.device]
runner = "docker"
platform = "linux/amd64"
image = "{image}"
docker_host = "ssh://root@127.0.0.1:{port}"
telemetry = "none"
""")
        # the test's HOME holds its ssh keys; the docker CLI keeps its buildx plugin under the real one
        env = {**os.environ, "HOME": str(home), "COLUMNS": "200",
               "DOCKER_CONFIG": os.environ.get("DOCKER_CONFIG", os.path.expanduser("~/.docker"))}

        def harness(*argv, timeout):
            return subprocess.run([sys.executable, "-m", "harness", *argv], cwd=tmp_path, env=env, text=True,
                                  capture_output=True, timeout=timeout)

        missing = harness("doctor", "--target", "device", timeout=120)
        assert missing.returncode == 2 and f"docker save {image} | docker -H ssh://" in missing.stderr
        # the same variables as the session's build of this image, so bake's cache answers
        built = harness("build", "device", "--var", f"RTX2080_BASE={STANDIN_TF27}", "--var", "PILLOW_PY36_VERSION=",
                        "--var", "HUB_PY36_VERSION=", *ca_option(), timeout=1200)
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
        assert f"sending {image} (" in built.stdout and f"sent {image} to ssh://root@127.0.0.1:{port}:" in built.stdout
        assert engine.client().images.get(image).id == client.images.get(image).id  # what was built here
        ran = harness("doctor", "--target", "device", timeout=300)
        assert ran.returncode == 0 and "selftest ok" in ran.stdout, ran.stdout[-2000:] + ran.stderr[-2000:]
    finally:
        server.terminate()
        server.wait(timeout=10)
