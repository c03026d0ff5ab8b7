"""`harness build TARGET` for a target on another engine (`docker_host`): which bake target makes
its image, and the built image streamed from the local engine to that engine with the SDK
(`docker save | docker -H HOST load`, without a temporary file, with progress and its size)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn, TransferSpeedColumn

from .config import Target
from .engine_errors import ENGINE_ERRORS
from .errors import UsageError

CHUNK = 1 << 20
IMAGE_PREFIX = "harness-"  # docker-bake.hcl names each target's image harness-<bake target>:<TAG>


def bake_target_of(target: Target) -> tuple[str, str]:
    """(bake target, TAG) that build the target's image, e.g. harness-tx2:latest -> ("tx2", "latest")."""
    repository, _, tag = target.image.rpartition(":") if ":" in target.image.split("/")[-1] else (target.image, "", "")
    name = repository.split("/")[-1]
    if not name.startswith(IMAGE_PREFIX):
        raise UsageError(f"target '{target.name}': its image {target.image} is not one docker-bake.hcl builds "
                         f"(those are {IMAGE_PREFIX}<bake target>:<TAG>); build it yourself, then send it: "
                         f"docker save {target.image} | docker -H {target.docker_host} load")
    return name[len(IMAGE_PREFIX):], tag or "latest"


def counted(chunks: Iterator[bytes], progress: Progress, task) -> Iterator[bytes]:
    for chunk in chunks:
        progress.advance(task, len(chunk))
        yield chunk


def send(image_name: str, target: Target, console: Console) -> None:
    """Stream image_name from the local engine to the target's; UsageError naming what failed."""
    from .runners.docker import connect
    local = connect(Target(name="local engine", runner="docker"))
    remote = connect(target)
    try:
        image = local.images.get(image_name)
    except ENGINE_ERRORS as error:
        raise UsageError(f"image {image_name} is not on the local engine to send ({error})") from None
    size = image.attrs.get("Size") or 0
    console.print(f"sending {image_name} ({size / 1e6:,.0f} MB unpacked) to {target.docker_host}")
    columns = (TextColumn("  {task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
               TimeElapsedColumn())
    started = time.monotonic()
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("docker save | load", total=size or None)
        try:
            remote.images.load(counted(image.save(chunk_size=CHUNK, named=True), progress, task))
            sent = progress.tasks[0].completed
        except ENGINE_ERRORS as error:
            raise UsageError(f"sending {image_name} to {target.docker_host} failed: {type(error).__name__}: "
                             f"{error}") from None
    try:
        remote.images.get(image_name)
    except ENGINE_ERRORS:
        raise UsageError(f"{target.docker_host} accepted the stream but has no {image_name} afterwards") from None
    console.print(f"sent {image_name} to {target.docker_host}: {sent / 1e6:,.0f} MB in "
                  f"{time.monotonic() - started:.0f} s")
