import pytest

from harness import config
from harness.errors import UsageError


def write(tmp_path, text):
    path = tmp_path / "harness.toml"
    path.write_text(text)
    return path


def test_builtin_local_target_and_user_override(tmp_path):
    path = write(tmp_path, '[targets.local]\nnotes = "mine"\n[targets.box]\nprice_usd = 699\ntimeout_s = 60\n')
    targets = config.load_targets(config.load_config(path))
    assert targets["local"].runner == "local" and targets["local"].notes == "mine"
    assert targets["box"].price_usd == 699.0 and targets["box"].timeout_s == 60.0
    for field in ("platform", "image", "runtime", "gpus", "docker_host", "telemetry", "price_usd", "notes"):
        assert hasattr(targets["box"], field)


@pytest.mark.parametrize("text, message", [
    ("[targets.x]\nbogus = 1\n", "target 'x': unknown key 'bogus'"),
    ("[targets.x]\nprice_usd = \"cheap\"\n", "target 'x': 'price_usd' must be a number"),
    ("[targets.x]\nrunner = \"ssh\"\n", "runner must be one of local, docker"),
    ("[targets.\"../up\"]\nnotes = \"x\"\n", "a target name is letters"),
    ("[nonsense]\n", "unknown section 'nonsense'"),
])
def test_bad_target_files_name_the_problem(tmp_path, text, message):
    with pytest.raises(UsageError, match=message.replace(".", r"\.")):
        config.load_targets(config.load_config(write(tmp_path, text)))


def test_malformed_toml_names_file_and_line(tmp_path):
    path = write(tmp_path, "[targets.x]\nnotes = \n")
    with pytest.raises(UsageError) as caught:
        config.load_config(path)
    assert str(path) in str(caught.value) and "line 2" in str(caught.value)


def test_user_suite_is_validated(tmp_path):
    cfg = config.load_config(write(tmp_path, '[[suites.s.jobs]]\njob = "mnist_mlp"\nsweep = { l2 = [0, "x"] }\n'))
    with pytest.raises(UsageError, match="parameter 'l2' must be a float"):
        config.load_suite("s", cfg)


def test_unknown_names_list_the_known_ones():
    with pytest.raises(UsageError, match=r"unknown suite 'nope' \(known: hw5, hw5-mnist, hw5-offline, quickstart"):
        config.load_suite("nope", {})
    with pytest.raises(UsageError, match=r"unknown target 'tx9' \(known: .*local.*rtx2080.*tx2"):
        config.get_target(config.load_targets({}), "tx9")
    with pytest.raises(UsageError, match=r"unknown job 'resnet' \(known: label_image, misbehave, mnist_mlp"):
        config.single_job_suite("resnet")


def test_a_suite_sets_its_default_repeats_and_the_comparison_suites_run_three(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('repeat = 2\n[[jobs]]\njob = "selftest"\n')
    assert config.load_suite(str(path), {}).repeat == 2
    assert config.load_suite("quickstart", {}).repeat == 1
    assert config.load_suite("hw5", {}).repeat == 3 and config.load_suite("hw5-mnist", {}).repeat == 3
    for bad in ("0", "true", '"3"', "2.5"):
        path.write_text(f'repeat = {bad}\n[[jobs]]\njob = "selftest"\n')
        with pytest.raises(UsageError, match="'repeat' must be a whole number"):
            config.load_suite(str(path), {})
