"""Makes the example stored runs under tests/data/reports/ and the golden summary files.

    .venv/bin/python tests/data/make_examples.py --runs     # real harness runs (~40 s), replaces them
    .venv/bin/python tests/data/make_examples.py --golden   # summary.json of compare/report on them

The runs are real: the MLP on scikit-learn's digits, 3 epochs of 10 steps (limit=320), on two
configured local targets with prices (`desk` with a note full of HTML to check escaping, and
`edge` running only one of the two jobs). Logs of the job processes are dropped to keep them small.
Regenerate the golden files only after checking that a change in them is intended.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPORTS = HERE / "reports"
GOLDEN = HERE / "golden"
CONFIG = """
[targets.desk]
runner = "local"
price_usd = 1200
notes = 'desk <script>alert("x")</script> & "co"'

[targets.edge]
runner = "local"
price_usd = 400
notes = "the edge box"
"""
SUITE = """
[[jobs]]
job = "mnist_mlp"
params = { dataset = "digits", epochs = 3, limit = 320 }
sweep = { dropout = [0.2, 0.5] }
"""


def make_runs() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "harness.toml").write_text(CONFIG)
        (work / "suite.toml").write_text(SUITE)
        results = work / "reports"
        for target, extra in (("desk", []), ("edge", ["--set", "dropout=0.2"])):
            subprocess.run([sys.executable, "-m", "harness", "run", "--target", target, "--suite", "suite.toml",
                            *extra, "--results-dir", str(results)], cwd=work, check=True)
        for junk in [*results.glob("runs/*/*/*.log"), *results.glob("runs/*/*/steps.npz")]:
            junk.unlink()
        shutil.rmtree(REPORTS, ignore_errors=True)
        shutil.copytree(results / "runs", REPORTS / "runs")


def golden_summaries(reports: Path) -> dict[str, str]:
    """name -> summary.json text, made by the real renderers."""
    from harness.compare import compare
    from harness.report.files import summary_json
    from harness.results import find_run
    desk, edge = find_run(reports, "desk"), find_run(reports, "edge")
    return {"desk_vs_edge.summary.json": summary_json(compare([desk, edge])),
            "desk_report.summary.json": summary_json(compare([desk]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", action="store_true")
    parser.add_argument("--golden", action="store_true")
    args = parser.parse_args()
    if args.runs:
        make_runs()
    if args.golden:
        GOLDEN.mkdir(exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:  # compare caches steps.npz: work on a copy
            shutil.copytree(REPORTS, Path(tmp) / "reports")
            for name, text in golden_summaries(Path(tmp) / "reports").items():
                json.loads(text)
                (GOLDEN / name).write_text(text)
                print(f"wrote {GOLDEN / name}")


if __name__ == "__main__":
    main()
