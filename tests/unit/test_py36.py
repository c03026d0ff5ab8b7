"""benchmarks/ runs inside the TX2 images (Python 3.6): vermin proves it needs nothing newer."""

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
VERMIN = [str(Path(sys.executable).parent / "vermin"), "--no-tips", "--violations", "-t=3.6-", "--eval-annotations"]


def test_benchmarks_need_nothing_newer_than_python_3_6():
    check = subprocess.run(VERMIN + [str(BENCHMARKS)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_check_catches_a_python_3_7_construct(tmp_path):
    sample = tmp_path / "newer.py"
    sample.write_text("import subprocess\nsubprocess.run(['true'], capture_output=True)\n")
    check = subprocess.run(VERMIN + [str(sample)], capture_output=True, text=True)
    assert check.returncode != 0 and "3.7" in check.stdout


def test_benchmarks_never_import_harness():
    offenders = [str(p) for p in BENCHMARKS.rglob("*.py") if "harness" in
                 "".join(line for line in p.read_text().splitlines() if line.lstrip().startswith(("import", "from")))]
    assert offenders == []
