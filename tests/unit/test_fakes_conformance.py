"""The stand-ins in tests/fakes against the real nvidia-ml-py and jetson-stats 4.3 (the dev extra):
every public function, class, method, property and constant a fake offers exists in the real
module with the same signature (or value), its errors are the real ones, and the data shapes
come out of the real package's own code where that code runs without the hardware. About 1 s."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import inspect
import sys
import types
from pathlib import Path

import pytest

FAKES = Path(__file__).resolve().parents[1] / "fakes"


def load(name, init, package=False):
    """Load a module by file under a private name (tests/fakes may shadow the real one on sys.path)."""
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(init.parent)]
                                                  if package else None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def real_file(distribution, path):
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(f"{distribution} is not installed (pip install -e '.[dev]')")
    return Path(dist.locate_file(path))


@pytest.fixture(scope="module")
def nvml_pair():
    real = load("real_pynvml", real_file("nvidia-ml-py", "pynvml.py"))
    return load("fake_pynvml_c", FAKES / "pynvml" / "__init__.py"), real


@pytest.fixture(scope="module")
def jtop_pair():
    real = load("real_jtop", real_file("jetson-stats", "jtop/__init__.py"), package=True)
    return load("fake_jtop_c", FAKES / "jtop" / "__init__.py", package=True), real


def public(module):
    """The fake's own public names (not what it imported)."""
    names = {}
    for name, value in vars(module).items():
        if name.startswith("_") or isinstance(value, types.ModuleType):
            continue
        if callable(value) and getattr(value, "__module__", None) != module.__name__:
            continue
        names[name] = value
    return names


def signature(thing):
    try:
        return str(inspect.signature(thing))
    except ValueError:  # a class with Exception's own constructor: no Python-level signature
        return "(builtin)"


def same_signature(fake, real):
    return signature(fake) == signature(real)


def members(cls):
    return {name: value for klass in reversed(cls.__mro__) if klass is not object
            for name, value in vars(klass).items()
            if (not name.startswith("_") or (name.startswith("__") and name.endswith("__")))
            and name not in ("__module__", "__dict__", "__weakref__", "__doc__", "__qualname__", "__hash__",
                             "_valClassMapping", "_errcode_to_string")}


def check_class(fake, real):
    problems = []
    if not same_signature(fake, real):
        problems.append(f"{fake.__name__}{signature(fake)} != real {signature(real)}")
    real_members = members(real)
    for name, value in members(fake).items():
        if name not in real_members and not hasattr(real, name):
            problems.append(f"{fake.__name__}.{name} is not in the real class")
            continue
        other = real_members.get(name, getattr(real, name, None))
        if isinstance(value, property) != isinstance(other, property):
            problems.append(f"{fake.__name__}.{name}: property in one, not in the other")
        elif callable(value) and callable(other) and not isinstance(value, type):
            if not same_signature(value, other):
                problems.append(f"{fake.__name__}.{name}{signature(value)} != real {signature(other)}")
    return problems


def test_every_pynvml_name_the_fake_offers_is_real_with_its_signature(nvml_pair):
    fake, real = nvml_pair
    problems, checked = [], 0
    for name, value in public(fake).items():
        if not hasattr(real, name):
            problems.append(f"{name} is not in the real pynvml")
            continue
        other = getattr(real, name)
        checked += 1
        if isinstance(value, type):
            problems += check_class(value, other)
            if issubclass(value, fake.NVMLError) and not issubclass(other, real.NVMLError):
                problems.append(f"{name} is an NVMLError in the fake only")
        elif callable(value):
            if not same_signature(value, other):
                problems.append(f"{name}{signature(value)} != real {signature(other)}")
        elif value != other:
            problems.append(f"{name} = {value!r}, real {other!r}")
    assert not problems
    assert checked >= 40  # the constants, errors and every function the readers call


def test_pynvml_errors_map_codes_to_the_same_classes_and_texts(nvml_pair):
    fake, real = nvml_pair
    for code in ("NOT_SUPPORTED", "NO_PERMISSION", "FUNCTION_NOT_FOUND", "GPU_IS_LOST", "DRIVER_NOT_LOADED",
                 "LIBRARY_NOT_FOUND", "UNINITIALIZED"):
        value = getattr(real, "NVML_ERROR_" + code)
        fake_error, real_error = fake.NVMLError(value), real.NVMLError(value)
        assert type(fake_error).__name__ == type(real_error).__name__ and fake_error.value == real_error.value
        assert str(fake_error) == str(real_error)
        subclass = getattr(fake, type(real_error).__name__)
        assert isinstance(subclass(), fake.NVMLError) and subclass().value == value
    for name in ("NVMLError_FunctionNotFound", "NVMLError_NotSupported", "NVMLError_NoPermission", "NVMLError_GpuIsLost"):
        assert hasattr(fake, name) and hasattr(real, name)
    # a driver without a function: the real wrapper raises FunctionNotFound, its unversioned one
    # turns that into NVMLLibraryMismatchError (not an NVMLError)
    assert not issubclass(real.NVMLLibraryMismatchError, real.NVMLError)
    assert not issubclass(fake.NVMLLibraryMismatchError, fake.NVMLError)
    source = inspect.getsource(real.nvmlDeviceGetComputeRunningProcesses.__wrapped__)
    assert "nvmlDeviceGetComputeRunningProcesses_v3(handle)" in source
    assert "NVML_ERROR_FUNCTION_NOT_FOUND" in inspect.getsource(real._nvmlGetFunctionPointer)


def test_the_real_process_query_can_report_no_memory(nvml_pair):
    """usedGpuMemory None comes from the real binding (NVML_VALUE_NOT_AVAILABLE), as in the fake."""
    fake, real = nvml_pair
    for version in ("_v2", "_v3"):
        assert "obj.usedGpuMemory = None" in inspect.getsource(getattr(real, "nvmlDeviceGetComputeRunningProcesses" + version))


def test_every_jtop_name_the_fake_offers_is_real_with_its_signature(jtop_pair):
    fake, real = jtop_pair
    problems = []
    for name, value in public(fake).items():
        if not hasattr(real, name):
            problems.append(f"{name} is not in the real jtop package")
        elif isinstance(value, type):
            problems += check_class(value, getattr(real, name))
    assert not problems
    assert {"jtop", "JtopException", "NVPModel", "JetsonClocks"} <= set(public(fake))


def test_jtop_texts_and_timeouts_are_the_real_ones(jtop_pair):
    fake, real = jtop_pair
    client = inspect.getsource(sys.modules["real_jtop.jtop"])
    for text in (fake._START_FAILURES["inactive"], fake._START_FAILURES["permission"], fake._NOT_ACTIVE, fake._LOST):
        assert 'JtopException("%s")' % text.replace("\n", "\\n") in client
    template = ("Mismatch version jtop service: [{service_version}] and client: [{client_version}]. Please run:\\n\n"
                "sudo systemctl restart jtop.service")
    assert template in client
    assert fake._START_FAILURES["mismatch"] == template.replace("\\n", "\n").format(
        service_version="4.2.1", client_version="4.3.2")
    assert fake._TIMEOUT_GAIN == sys.modules["real_jtop.jtop"].TIMEOUT_GAIN
    error = real.JtopException("x")
    assert str(error) == str(fake.JtopException("x")) and error.errors == fake.JtopException("x").errors


@pytest.mark.filterwarnings("ignore:The 'warn' method is deprecated")  # the real parser's own logger.warn
def test_tx2_temperature_names_come_from_the_real_parser(jtop_pair, tmp_path):
    """jtop/core/temperature.py on a TX2's thermal zones (L4T R32 types; PMIC-Die is skipped)."""
    fake, _ = jtop_pair
    temperature = sys.modules["real_jtop.core.temperature"]
    zones = ["BCPU-therm", "MCPU-therm", "GPU-therm", "PLL-therm", "Tboard_tegra", "Tdiode_tegra", "PMIC-Die",
             "thermal-fan-est"]
    for index, kind in enumerate(zones):
        zone = tmp_path / f"thermal_zone{index}"
        zone.mkdir()
        (zone / "type").write_text(kind + "\n")
        (zone / "temp").write_text("41000\n")
    found = temperature.get_virtual_thermal_temperature(str(tmp_path))
    client = fake.jtop(interval=0.05)
    assert set(found) == set(client.temperature)
    values = temperature.read_temperature(found["GPU"])
    values["online"] = values["temp"] != temperature.TEMPERATURE_OFFLINE
    assert set(values) == set(client.temperature["GPU"]) and values["temp"] == 41.0
    assert temperature.TEMPERATURE_OFFLINE == -256


def test_tx2_power_total_comes_from_the_real_rule(jtop_pair):
    """jtop/core/power.py total_power(): VDD_IN leaves the rails and is the total, with its name."""
    fake, _ = jtop_pair
    power = sys.modules["real_jtop.core.power"]
    shaped = fake.jtop(interval=0.05).power
    rails = {name: dict(rail) for name, rail in shaped["rail"].items()}
    rails["VDD_IN"] = {k: v for k, v in shaped["tot"].items() if k != "name"}
    total, rest = power.total_power(rails)
    assert total == shaped["tot"] and rest == shaped["rail"]


def test_the_fake_ok_follows_the_real_one(jtop_pair):
    """The real ok(): waits interval * TIMEOUT_GAIN for new data, returns False when none came,
    and re-raises the reader thread's error (kept in _error) on every later call."""
    _, real = jtop_pair
    source = inspect.getsource(real.jtop.ok)
    assert "self._trigger.wait(self._interval * TIMEOUT_GAIN)" in source and "self._running = False" in source
    assert "raise ex_value" in source
    assert 'raise JtopException("Lost connection with jtop server")' in inspect.getsource(real.jtop._get_data)
