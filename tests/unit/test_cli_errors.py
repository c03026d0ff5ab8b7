"""Every bad input: one line on stderr, exit 2, and nothing stored."""

import pytest


def assert_usage_error(result, *fragments):
    assert result.code == 2, (result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("harness: error: "), result.err
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.err + result.out


@pytest.mark.parametrize("argv, fragments", [
    (["run", "--target", "tx9"], ["unknown target 'tx9'", "local", "rtx2080", "tx2"]),
    (["run", "--target", "local", "--target", "local"], ["each --target may be given once"]),
    (["run", "--suite", "nope"], ["unknown suite 'nope'", "quickstart"]),
    (["run", "--job", "resnet"], ["unknown job 'resnet'", "mnist_mlp"]),
    (["run", "--set", "bogus=1"], ["--set bogus", "no job in suite 'quickstart' takes this parameter"]),
    (["run", "--set", "epochs=many"], ["parameter 'epochs' must be a int, got 'many'"]),
    (["run", "--set", "dataset=cifar"], ["must be one of 'mnist', 'digits', 'synthetic'"]),
    (["run", "--repeat", "0"], ["--repeat must be 1 or more"]),
    (["run", "--timeout", "-1"], ["--timeout must be a positive"]),
    (["run", "--bogus-flag"], ["unrecognized arguments: --bogus-flag"]),
    (["list", "things"], ["invalid choice: 'things'"]),
    (["compare", "local"], ["at least two"]),
    (["compare", "a", "b"], ["'a' is neither a run id nor a target with runs"]),
    (["report", "nope"], ["'nope' is neither a run id"]),
])
def test_bad_arguments(cli, tmp_path, argv, fragments):
    assert_usage_error(cli(*argv, "--results-dir", str(tmp_path / "results")), *fragments)
    assert not (tmp_path / "results" / "runs").exists() or not any((tmp_path / "results" / "runs").iterdir())


def test_malformed_toml_names_the_file_and_line(cli, tmp_path):
    (tmp_path / "harness.toml").write_text('[targets.box]\nnotes = "unterminated\n')
    assert_usage_error(cli("run", "--target", "box", "--results-dir", str(tmp_path / "r")), "harness.toml", "line 2")
    assert not (tmp_path / "r").exists()


def test_malformed_suite_file(cli, tmp_path):
    (tmp_path / "mine.toml").write_text('[[jobs]]\njob = "mnist_mlp"\nparams = { epochs = "five" }\n')
    assert_usage_error(cli("run", "--suite", "mine.toml"), "mine.toml", "parameter 'epochs' must be a int")


def test_unwritable_results_dir(cli, tmp_path):
    (tmp_path / "file").write_text("a file, not a folder")
    assert_usage_error(cli("run", "--results-dir", str(tmp_path / "file" / "results")), "is not writable")


def test_an_engine_that_does_not_answer(cli, tmp_path):
    (tmp_path / "harness.toml").write_text('[targets.box]\nrunner = "docker"\nimage = "x"\ndocker_host = "tcp://127.0.0.1:9"\n')
    assert_usage_error(cli("run", "--target", "box"), "target 'box': no Docker engine answers at tcp://127.0.0.1:9")


def test_list_commands_work_without_results(cli):
    for what, expected in (("targets", "local"), ("suites", "quickstart"), ("jobs", "hidden_units=128"), ("runs", "run id")):
        result = cli("list", what)
        assert result.code == 0 and expected in result.out, result.err


def test_every_exit_code_is_documented():
    """docs/errors.md's table names each ExitStatus with its code."""
    from pathlib import Path

    from harness.cli import ExitStatus
    table = (Path(__file__).resolve().parents[2] / "docs" / "errors.md").read_text()
    for status in ExitStatus:
        assert f"| `{status.value}` | `{status.name}` |" in table, status
