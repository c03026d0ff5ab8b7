"""The Dockerfiles' install step under the L4T bases' pip 9.0.1 (issue 11, item 1).

nvcr.io/nvidia/l4t-tensorflow:r32.7.1-* keep Ubuntu 18.04's python3-pip (pip 9.0.1). Before the fix
the step exported PIP_NO_CACHE_DIR=1, which pip < 19 reads as a cache path: "TypeError: expected
str, bytes or os.PathLike object, not int", and the tx2 images could not build on the real bases.
The amd64 stand-in harness-standin/pip9:amd64 (scripts/build-standin-bases.sh) has that pip and
numpy, nothing else, so both Dockerfiles build on it natively: about 20 s each cold (the
scikit-learn wheels), a few seconds when BuildKit has the layers.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ..conftest import REPO, docker_cli, require_standin_base

PIP9 = "harness-standin/pip9:amd64"
HOST_CA = "/etc/ssl/certs/ca-certificates.crt"


@pytest.fixture(scope="module")
def pip9_base():
    require_standin_base(PIP9)
    return PIP9


def test_the_stand_in_has_the_l4t_pip_and_its_failure(pip9_base):
    """The base reproduces the bug the old step hit: pip 9.0.1 dies on PIP_NO_CACHE_DIR=1."""
    version = docker_cli("run", "--rm", pip9_base, "python3", "-m", "pip", "--version")
    assert version.returncode == 0 and version.stdout.startswith("pip 9.0.1 "), version.stdout + version.stderr
    died = docker_cli("run", "--rm", "-e", "PIP_NO_CACHE_DIR=1", pip9_base, "python3", "-m", "pip", "install", "six")
    assert died.returncode != 0
    assert "TypeError: expected str, bytes or os.PathLike object, not int" in died.stderr


@pytest.mark.parametrize("dockerfile", ["l4t", "cuda"])
def test_dockerfile_install_step_runs_under_pip9(pip9_base, dockerfile):
    tag = f"harness-pip9-check-{dockerfile}:test"
    secret = ["--secret", f"id=ca,src={HOST_CA}"] if Path(HOST_CA).is_file() else []
    try:
        built = subprocess.run(
            ["docker", "buildx", "build", "--progress=plain", "--platform", "linux/amd64", "--load", "-t", tag,
             "-f", f"docker/{dockerfile}.Dockerfile", "--build-arg", f"BASE_IMAGE={pip9_base}",
             # scikit-learn 0.24.2 has cp39 wheels; Pillow and TF-Hub are left out to keep it short
             "--build-arg", "SKLEARN_VERSION=0.24.2", "--build-arg", "PILLOW_VERSION=",
             "--build-arg", "HUB_VERSION=", *secret, "."],
            cwd=REPO, capture_output=True, text=True, timeout=600)
        log = built.stdout + built.stderr
        assert built.returncode == 0, log[-3000:]
        assert "TypeError" not in log  # (a layer BuildKit has cached prints nothing)
        checked = docker_cli("run", "--rm", "--entrypoint", "python3", tag, "-c",
                         "import pip, numpy, sklearn; print(pip.__version__, numpy.__version__, sklearn.__version__)")
        assert checked.returncode == 0, checked.stderr
        pip_version, numpy_version, sklearn_version = checked.stdout.split()
        assert tuple(int(part) for part in pip_version.split(".")[:2]) >= (19, 3)  # upgraded by pip 9 itself
        assert numpy_version == "1.23.5"  # the base's stack is held (pip -c)
        assert sklearn_version == "0.24.2"
    finally:
        docker_cli("image", "rm", "-f", tag)
