import pytest

from harness_jobs.params import Param, ParamError, resolve

SPECS = {"epochs": Param(5, "epochs"), "l2": Param(0.0, "l2"), "dataset": Param("digits", "d", ("digits", "mnist")),
         "flag": Param(False, "a flag")}


def test_defaults_overlaid_and_int_accepted_for_float():
    params = resolve(SPECS, {"l2": 1, "epochs": 3})
    assert params == {"epochs": 3, "l2": 1.0, "dataset": "digits", "flag": False}
    assert isinstance(params["l2"], float)


@pytest.mark.parametrize("given, message", [
    ({"epochs": "3"}, "parameter 'epochs' must be a int"),
    ({"epochs": 2.5}, "parameter 'epochs' must be a int"),
    ({"epochs": True}, "parameter 'epochs' must be a int"),
    ({"flag": 1}, "parameter 'flag' must be a bool"),
    ({"dataset": "cifar"}, "must be one of 'digits', 'mnist'"),
    ({"epoch": 3}, "unknown parameter 'epoch' (known: dataset, epochs, flag, l2)"),
])
def test_bad_values_are_named(given, message):
    with pytest.raises(ParamError, match=message.replace("(", r"\(").replace(")", r"\)")):
        resolve(SPECS, given)
