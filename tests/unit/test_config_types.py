"""Every target key's declared type: what is accepted (and the typed value it becomes), what is
refused, in one line naming the file, the target and the key; gpus, enums, per-runner keys,
the telemetry spec, device_model, and the suite's own keys."""

from __future__ import annotations

import json

import pytest

from harness import config, lock, peaks
from harness.errors import UsageError


def target(table, name="box"):
    return config.make_target(name, table, "mine.toml")


def refused(table, *fragments, name="box"):
    with pytest.raises(UsageError) as caught:
        target(table, name)
    message = str(caught.value)
    assert message.startswith(f"mine.toml: target '{name}': ") and "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


# key, a value accepted, the typed value it becomes, a value refused (docker keys on a docker target)
ACCEPTED = [
    ("runner", "docker", "docker", "ssh"),
    ("platform", "linux/arm64", "linux/arm64", 64),
    ("image", "harness-tx2:latest", "harness-tx2:latest", ["a"]),
    ("runtime", "nvidia", "nvidia", True),
    ("docker_host", "ssh://me@tx2", "ssh://me@tx2", 22),
    ("shm_size", "1g", "1g", 1),
    ("mem_limit", "6g", "6g", 6.0),
    ("work_volume", "vol", "vol", {"a": 1}),
    ("notes", "mine", "mine", 3),
    ("cache_dir", "~/data", "~/data", False),
    ("tegrastats_path", "/usr/bin/tegrastats", "/usr/bin/tegrastats", 1),
    ("timeout_s", 60, 60.0, "60"),
    ("engine_timeout_s", 2.5, 2.5, True),
    ("sample_interval_s", 1, 1.0, 0),
    ("idle_baseline_s", 0, 0.0, -1),
    ("price_usd", 699, 699.0, "cheap"),
    ("preflight", "strict", "strict", "loud"),
    ("power_mode", "MAXN", "MAXN", 1.5),
    ("jetson_clocks", True, True, "on"),
    ("device_model", "jetson-tx2", "jetson-tx2", "tx2"),
    ("gpus", 2, "2", "two"),
]


def test_every_key_has_its_type_declared_here():
    assert sorted(key for key, *_ in ACCEPTED) == sorted(config._TARGET_TYPES.keys() - {"telemetry"})


@pytest.mark.parametrize("key, good, typed, bad", ACCEPTED)
def test_each_key_takes_its_type_and_refuses_others_naming_file_target_and_key(key, good, typed, bad):
    runner = {} if key in ("runner", "power_mode", "jetson_clocks") else {"runner": "docker"}
    made = getattr(target({**runner, key: good}), key)
    assert made == typed and type(made) is type(typed)
    refused({**runner, key: bad}, key, repr(bad))


def test_numbers_are_finite_and_never_bools():
    for key in ("timeout_s", "sample_interval_s", "price_usd"):
        for bad in (float("nan"), float("inf"), True):
            refused({key: bad}, f"'{key}' must be")
    refused({"timeout_s": 2 ** 1100}, "'timeout_s' is too large a number")
    refused({"price_usd": -1}, "'price_usd' must be a number of 0 or more, got -1")
    refused({"timeout_s": 0}, "'timeout_s' must be a positive number of seconds, got 0")


@pytest.mark.parametrize("given, stored, count", [("all", "all", -1), (2, "2", 2), ("2", "2", 2), ("02", "2", 2),
                                                  (0, "", None), ("0", "", None), ("", "", None)])
def test_gpus_is_all_or_a_count(given, stored, count):
    made = target({"runner": "docker", "gpus": given})
    assert made.gpus == stored and made.gpu_count == count
    assert made.public()["gpus"] == stored


@pytest.mark.parametrize("bad", ["two", -1, True, False, 1.5, "-1", "2 GPUs", "ALL", ["all"]])
def test_gpus_refuses_anything_else(bad):
    refused({"runner": "docker", "gpus": bad}, "'gpus' must be \"all\" or a number of GPUs (0 or more)", repr(bad))


def test_gpus_two_at_the_cli_is_one_line_exit_2(cli, tmp_path):
    """It used to pass the config check, then fail a run with a ValueError traceback."""
    (tmp_path / "harness.toml").write_text('[targets.gpu]\nrunner = "docker"\nimage = "x"\ngpus = "two"\n')
    result = cli("run", "--target", "gpu", "--results-dir", "r")
    assert result.code == 2 and result.out == "", result.out
    assert result.err == ("harness: error: harness.toml: target 'gpu': 'gpus' must be \"all\" or a "
                          "number of GPUs (0 or more), got 'two'\n")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("key, bad, known", [("runner", "ssh", "local, docker"), ("preflight", "loud", "warn, strict"),
                                             ("runner", 1, "local, docker"), ("preflight", None, "warn, strict")])
def test_enums_list_their_values(key, bad, known):
    refused({key: bad}, f"{key} must be one of {known}, got {bad!r}")


def test_the_telemetry_spec_is_parsed_once_into_its_sources():
    auto = target({}).telemetry
    assert auto.auto and auto.device_sources == ["auto"] and auto.text == "auto"
    none = target({"telemetry": "none"}).telemetry
    assert not none.auto and none.sources == () and none.device_sources == []
    named = target({"telemetry": "psutil, nvml,tegrastats"})
    assert named.telemetry.sources == ("psutil", "nvml", "tegrastats")
    assert named.telemetry.device_sources == ["nvml", "tegrastats"]
    assert named.public()["telemetry"] == "psutil, nvml,tegrastats"  # the manifest keeps what was written
    refused({"telemetry": "gpu"}, "telemetry must be 'auto', 'none' or a comma list of psutil, docker, nvml")
    refused({"telemetry": ["nvml"]}, "'telemetry' must be a string")


@pytest.mark.parametrize("key, value", [("image", "x"), ("platform", "linux/arm64"), ("runtime", "nvidia"),
                                        ("gpus", "all"), ("docker_host", "ssh://tx2"), ("shm_size", "1g"),
                                        ("mem_limit", "6g"), ("work_volume", "v"), ("engine_timeout_s", 5)])
def test_docker_keys_on_a_local_target_are_an_error(key, value):
    """Silently ignored, they would mislead (a mem_limit that caps nothing)."""
    refused({key: value}, f"'{key}' applies to docker targets only, and this one has runner = \"local\"")
    refused({"runner": "local", key: value}, f"'{key}' applies to docker targets only")
    assert getattr(target({"runner": "docker", key: value}), key) is not None


def test_keys_of_every_runner_are_taken_by_both():
    for runner in config.RUNNERS:
        made = target({"runner": runner, "cache_dir": "/c", "tegrastats_path": "/t", "timeout_s": 9, "notes": "n",
                       "telemetry": "psutil", "preflight": "strict", "idle_baseline_s": 0, "device_model": "rtx-2080"})
        assert (made.cache_dir, made.tegrastats_path, made.timeout_s, made.device_model) == ("/c", "/t", 9.0, "rtx-2080")


def test_the_built_in_targets_and_suites_are_valid():
    targets = config.load_targets({})
    assert targets["rtx2080"].gpu_count == -1 and targets["tx2"].gpu_count is None
    assert all(t.source == "built-in targets" for t in targets.values())
    for name in config.suite_names({}):
        assert config.load_suite(name, {}).entries


def test_device_model_must_name_a_known_device():
    assert target({"device_model": "jetson-tx2"}).device_model == "jetson-tx2"
    assert target({}).device_model == ""
    message = refused({"device_model": "tx2"}, "unknown device_model 'tx2'", "(known: " + ", ".join(peaks.PEAKS) + ")")
    assert "jetson-tx2" in message and "rtx-2080" in message
    refused({"device_model": 2080}, "unknown device_model 2080")


def test_device_model_reaches_the_run_manifest(cli, tmp_path, monkeypatch):
    """A real run of the misbehave job (no TensorFlow): run.json's target carries it, so the
    comparison reads the device from it (harness.peaks.device_for)."""
    monkeypatch.setattr(lock, "LOCK_DIR", tmp_path / "locks")
    (tmp_path / "harness.toml").write_text('[targets.edge]\ndevice_model = "jetson-orin-nano"\nidle_baseline_s = 0\n')
    done = cli("run", "--target", "edge", "--job", "misbehave", "--set", "seconds=0.1", "--results-dir", "r")
    assert done.code == 0, done.out + done.err
    (manifest_path,) = (tmp_path / "r" / "runs").glob("*/run.json")
    manifest = json.loads(manifest_path.read_text())
    assert manifest["target"]["device_model"] == "jetson-orin-nano"
    peak, source = peaks.device_for(manifest, {})
    assert peak.name == "jetson-orin-nano" and source == "target device_model"


def test_a_user_file_error_names_the_file_the_target_and_the_key(cli, tmp_path):
    (tmp_path / "harness.toml").write_text('[targets.tx2]\nsample_interval_s = "fast"\n')
    result = cli("list", "targets")
    assert result.code == 2
    assert result.err == ("harness: error: harness.toml: target 'tx2': 'sample_interval_s' must be "
                          "a number, got 'fast'\n")


def test_suite_keys_are_typed_too(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('description = 3\n[[jobs]]\njob = "selftest"\n')
    with pytest.raises(UsageError, match=r"s\.toml: suite 's': 'description' must be a string, got 3"):
        config.load_suite(str(path), {})
    path.write_text('description = "fine"\nrepeat = 2\n[[jobs]]\njob = "selftest"\n')
    suite = config.load_suite(str(path), {})
    assert (suite.description, suite.repeat) == ("fine", 2)
