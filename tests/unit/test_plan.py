import pytest

from harness.config import Suite, SuiteEntry, load_suite
from harness.errors import UsageError
from harness.plan import expand, parse_overrides


def test_quickstart_expands_its_sweep():
    plan = expand(load_suite("quickstart", {}), [])
    assert len(plan) == 4
    assert {(s.params["l2"], s.params["dropout"]) for s in plan} == {(0.0, 0.2), (0.0, 0.5), (1e-4, 0.2), (1e-4, 0.5)}
    assert all(s.params["dataset"] == "digits" for s in plan)
    assert len({s.key for s in plan}) == 4


def test_keys_are_stable_and_depend_only_on_job_and_params():
    first = expand(load_suite("quickstart", {}), [])
    second = expand(load_suite("quickstart", {}), [])
    assert [s.key for s in first] == [s.key for s in second]
    assert first[0].key.startswith("mnist_mlp-")


def test_overrides_collapse_a_sweep_and_are_typed():
    plan = expand(load_suite("quickstart", {}), parse_overrides(["dropout=0.5", "mnist_mlp.epochs=2"]))
    assert len(plan) == 2
    assert all(s.params["dropout"] == 0.5 and s.params["epochs"] == 2 for s in plan)
    assert "dropout=0.5" in plan[0].label


def test_repeats_share_the_key_but_not_the_folder():
    plan = expand(load_suite("quickstart", {}), parse_overrides(["l2=0", "dropout=0.2"]), repeat=3)
    assert len({s.key for s in plan}) == 1
    assert [s.dir_name.rsplit("-", 1)[1] for s in plan] == ["r1", "r2", "r3"]


def test_meeting_sweeps_run_the_shared_job_once():
    suite = load_suite("hw5-mnist", {})
    assert len(expand(suite, [])) == 6  # 4 L2 values + 3 dropouts - the shared baseline


def test_parse_overrides_reads_toml_literals_and_bare_strings():
    assert parse_overrides(["a=3", "b=1e-4", "c=true", "d=mnist", "e=\"x y\""]) == [
        (None, "a", 3), (None, "b", 1e-4), (None, "c", True), (None, "d", "mnist"), (None, "e", "x y")]
    with pytest.raises(UsageError, match="expected key=value"):
        parse_overrides(["novalue"])


def test_override_of_a_parameter_no_job_takes_is_refused():
    suite = Suite("s", "", (SuiteEntry("mnist_mlp", {}, {}),), "test")
    with pytest.raises(UsageError, match="no job in suite 's' takes this parameter"):
        expand(suite, parse_overrides(["bogus=1"]))
    with pytest.raises(UsageError, match="parameter 'epochs' must be a int"):
        expand(suite, parse_overrides(["epochs=many"]))


def test_labels_name_what_tells_jobs_of_one_name_apart():
    suite = Suite("s", "", (SuiteEntry("mnist_mlp", {"epochs": 1}, {"l2": [0.0, 0.1]}),
                            SuiteEntry("mnist_mlp", {"epochs": 2, "l2": 0.0}, {})), "test")
    labels = [spec.label for spec in expand(suite, [])]
    assert labels == ["mnist_mlp l2=0.0 epochs=1", "mnist_mlp l2=0.1 epochs=1",
                      "mnist_mlp epochs=2 l2=0.0"]


def test_hw5_covers_every_experiment_of_the_seed():
    plan = expand(load_suite("hw5", {}), [])
    by_job = {job: [s.params for s in plan if s.job == job] for job in ("mnist_mlp", "transfer", "retrain")}
    assert sorted({p["l2"] for p in by_job["mnist_mlp"]}) == [0.0, 1e-5, 1e-4, 1e-3]
    assert sorted({p["dropout"] for p in by_job["mnist_mlp"]}) == [0.05, 0.2, 0.5]
    assert {(p["trainable"], p["device"]) for p in by_job["transfer"]} == \
        {(False, "gpu"), (False, "cpu"), (True, "gpu"), (True, "cpu")}
    assert all(p["batch_size"] == 32 and p["dataset"] == "flower_photos" for p in by_job["transfer"])
    retrain = by_job["retrain"]
    assert {p["learning_rate"] for p in retrain} == {0.005, 0.01, 1.0}
    assert {(p["architecture"], p["device"]) for p in retrain if p["learning_rate"] == 0.01} == \
        {(a, d) for a in ("mobilenet_v2", "inception_v3") for d in ("cpu", "gpu")}
    exports = {p["export_as"] for p in retrain if p["export_as"]}
    assert exports == {s.params["export"] for s in plan if s.job == "label_image"}
    assert plan.index(next(s for s in plan if s.job == "label_image")) > max(
        i for i, s in enumerate(plan) if s.job == "retrain")  # label_image runs after the exports


def test_repeats_run_in_rounds_not_back_to_back():
    plan = expand(load_suite("quickstart", {}), [], repeat=2)
    assert [s.repeat for s in plan] == [1, 1, 1, 1, 2, 2, 2, 2]
    assert [s.key for s in plan[:4]] == [s.key for s in plan[4:]]  # the same job order in every round
