"""The REAL jetson-stats 4.3 client (the dev extra) against a minimal jtop.service speaking its
protocol (tests/fakes/jtop-service.py, a subprocess whose kill is a service restart): the
client's ok() blocks, returns False, and raises after a restart as the jtop stand-in does, and
JtopReader gives the same samples and the same gap handling on both. About 8 s."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness_jobs.telemetry.jetson import JtopReader

FAKES = Path(__file__).resolve().parents[1] / "fakes"
pytestmark = pytest.mark.filterwarnings("ignore:distro.linux_distribution")  # the real package's own call


@pytest.fixture(scope="module")
def real_jtop():
    try:
        init = Path(importlib.metadata.distribution("jetson-stats").locate_file("jtop/__init__.py"))
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("jetson-stats is not installed (pip install -e '.[dev]')")
    spec = importlib.util.spec_from_file_location("real_jtop_client", init, submodule_search_locations=[str(init.parent)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class Service:
    """The stand-in jtop.service process; `restart` kills it and starts a new one later."""

    def __init__(self, sock: Path, interval: float):
        self.sock, self.interval, self.process = sock, interval, None
        env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_") and k != "PYTHONPATH"}
        self.env = env

    def start(self):
        self.process = subprocess.Popen([sys.executable, str(FAKES / "jtop-service.py"), str(self.sock),
                                         str(self.interval)], env=self.env, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == "ready"

    def stop(self):
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def service(real_jtop, tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules["real_jtop_client.service"], "JTOP_PIPE", str(tmp_path / "jtop.sock"))
    made = []

    def make(interval):
        made.append(Service(tmp_path / "jtop.sock", interval))
        made[-1].start()
        return made[-1]
    yield make
    for one in made:
        one.stop()


@pytest.fixture
def fake_jtop(monkeypatch):
    for key in [k for k in os.environ if k.startswith("FAKE_JTOP")]:
        monkeypatch.delenv(key)
    spec = importlib.util.spec_from_file_location("fake_jtop_rc", FAKES / "jtop" / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_real_client_blocks_and_reads_like_the_stand_in(real_jtop, service, fake_jtop):
    service(0.1)
    real = JtopReader(real_jtop, interval_s=0.1).open()
    fake = JtopReader(fake_jtop, interval_s=0.1).open()
    first = real.sample()
    started = time.monotonic()
    later = [real.sample() for _ in range(5)]
    # ok() waited for new data sets of a service publishing every 0.1 s: five samples need at least
    # four new ones (one may already be queued), so at least 0.3 s
    assert 0.25 < time.monotonic() - started < 5.0
    assert all(sample == first for sample in later) and first == fake.sample()
    assert first["power_w"] == 6.12 and "temp_pmic_c" not in first
    for key in ("nvpmodel", "jetson_clocks", "board", "module", "soc", "l4t", "jetpack"):
        assert real.facts()[key] == fake.facts()[key], key
    real.close()


def test_the_real_ok_returns_false_for_a_slower_service_and_the_reader_follows(real_jtop, service, fake_jtop,
                                                                               monkeypatch):
    service(0.5)
    client = real_jtop.jtop(interval=0.05)
    client.start()
    client.ok(spin=True)
    started = time.monotonic()
    alive = client.ok() and client.ok()  # the first may still see the data set start() waited for
    assert alive is False and 0.1 < time.monotonic() - started < 0.5
    monkeypatch.setenv("FAKE_JTOP_SERVICE_INTERVAL", "0.5")
    fake = fake_jtop.jtop(interval=0.05)
    fake.start()
    assert (fake.ok() and fake.ok()) is False
    reader = JtopReader(real_jtop, interval_s=0.05).open()
    samples = [reader.sample() for _ in range(6)]
    assert reader.interval_s == 0.5 and "publishes every 0.5 s" in reader.gaps[0]["why"]
    assert samples[-1] is not None and samples[-1]["power_w"] == 6.12


def test_a_real_client_through_a_service_restart(real_jtop, service, fake_jtop):
    first = service(0.05)
    client = real_jtop.jtop(interval=0.05)
    client.start()
    reader = JtopReader(real_jtop, interval_s=0.05).open()
    assert client.ok() and reader.sample() is not None
    first.stop()  # the service goes away; its socket file stays, as after a crash
    with pytest.raises(Exception) as raised:
        for _ in range(10):
            client.ok()
    with pytest.raises(Exception) as again:
        client.ok()  # re-raised on every later call
    # which one depends on where the client's thread was when the socket closed: inside _get_data
    # (JtopException), or at a bare manager call (EOFError, BrokenPipeError, ConnectionResetError, all
    # seen here); the stand-in offers EOFError, BrokenPipeError and the JtopException
    assert raised.value is again.value
    assert isinstance(raised.value, (EOFError, ConnectionError, real_jtop.JtopException)), repr(raised.value)
    with pytest.raises(real_jtop.JtopException, match="The jtop.service is not active"):
        real_jtop.jtop(interval=0.05).start()
    rows = [reader.sample() for _ in range(3)]
    assert rows[-1] is None and reader.gaps and reader.gaps[0]["to"] is None
    service(0.05)  # back
    rows = [reader.sample() for _ in range(5)]
    assert rows[-1] is not None, reader.gaps[-1].get("retry")
    assert "gap_s" in [k for row in rows if row for k in row]
    reader.close()
    assert len(reader.notes) == 1 and reader.notes[0].endswith("reconnected")
