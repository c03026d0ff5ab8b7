"""`harness build` with harness targets: which bake target and tag make a target's image, and the
combinations that would build something other than the image the target runs (one line, exit 2)."""

import pytest

from harness.config import Target
from harness.errors import UsageError
from harness.send_image import bake_target_of

DEVICE = '[targets.device]\nrunner = "docker"\nimage = "{image}"\ndocker_host = "ssh://nvidia@tx2.local"\n'


@pytest.mark.parametrize("image, expected", [
    ("harness-tx2:latest", ("tx2", "latest")),
    ("harness-tx2-tf1:r32", ("tx2-tf1", "r32")),
    ("harness-rtx2080", ("rtx2080", "latest")),
    ("registry.example:5000/team/harness-rtx2080:test", ("rtx2080", "test")),
])
def test_the_bake_target_and_tag_come_from_the_image_name(image, expected):
    assert bake_target_of(Target(name="t", image=image, docker_host="ssh://x")) == expected


def test_an_image_the_bake_file_does_not_make_names_docker_save():
    with pytest.raises(UsageError, match=r"docker save my/own:1 \| docker -H ssh://x load"):
        bake_target_of(Target(name="t", image="my/own:1", docker_host="ssh://x"))


@pytest.mark.parametrize("image, argv, fragment", [
    ("harness-tx2:latest", ["--var", "TAG=dev"], "--var TAG=dev would not build the target's image (tag latest)"),
    ("mine:1", [], "is not one docker-bake.hcl builds"),
    ("harness-tx2:latest", ["rtx2080", "--on-engine"], "--on-engine builds on one target's engine"),
])
def test_build_refuses_what_would_not_make_the_targets_image(cli, tmp_path, image, argv, fragment):
    (tmp_path / "harness.toml").write_text(DEVICE.format(image=image))
    done = cli("build", "device", *argv)
    assert done.code == 2 and done.err.count("\n") == 1 and fragment in done.err, done.err
