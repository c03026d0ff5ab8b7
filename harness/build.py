"""`harness build`: `docker buildx bake --load` with the project's variables and the optional
proxy CA passed as a BuildKit secret (never stored in a layer)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from harness_jobs import __version__ as jobs_version

from .errors import UsageError

BAKE_FILE = Path(__file__).resolve().parents[1] / "docker-bake.hcl"


def bake_command(targets: list[str], bake_file: Path) -> list[str]:
    return ["docker", "buildx", "bake", "--file", str(bake_file), "--load", *targets]


def bake_environment(variables: list[str], ca_file: Path | None) -> dict[str, str]:
    """The bake variables: TAG=latest and JOBS_VERSION by default, --var NAME=VALUE, CA_FILE."""
    env = {"TAG": "latest", "JOBS_VERSION": jobs_version}
    for pair in variables:
        name, sep, value = pair.partition("=")
        if not sep or not name.isidentifier():
            raise UsageError(f"--var {pair!r}: expected NAME=VALUE")
        env[name] = value
    if ca_file is not None:
        if not ca_file.is_file():
            raise UsageError(f"--ca-file {ca_file}: no such file")
        env["CA_FILE"] = str(ca_file.resolve())
    return env


def build(targets: list[str], variables: list[str], ca_file: Path | None, bake_file: Path | None,
          docker_host: str = "") -> int:
    """bake into the local engine, or into the engine at docker_host (buildx's docker driver builds
    there: natively on a TX2 over ssh)."""
    bake_file = bake_file or BAKE_FILE
    if not bake_file.is_file():
        raise UsageError(f"no bake file at {bake_file} (run from the repository or pass --file)")
    if shutil.which("docker") is None:
        raise UsageError("the docker CLI is not installed (harness build runs docker buildx bake)")
    env = {**os.environ, **bake_environment(variables, ca_file)}
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    return subprocess.run(bake_command(targets, bake_file), env=env, cwd=bake_file.parent).returncode
