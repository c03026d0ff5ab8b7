"""Interleaved runs of the transfer job with loader=generator and loader=tfdata: same model,
same generated images, alternating order, so drift (thermal, other load) hits both alike.
Both run on the Keras 2 API (TF_USE_LEGACY_KERAS=1), since the generator loader needs it.

    .venv/bin/python scripts/bench_loaders.py [--pairs 3] [--epochs 3] [--image-size 160]

Prints each run's steady epoch time (median of the epochs after the first) and the median
ratio generator / tfdata (> 1: tf.data is faster). A benchmark, not a test.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def steady_epoch_seconds(out: Path) -> float:
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    end = events[-1]
    if end.get("status") != "ok":
        raise SystemExit(f"transfer failed: {end.get('error')}")
    return statistics.median(e["seconds"] for e in events if e["event"] == "epoch" and e["epoch"] > 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--image-size", type=int, default=160)
    args = parser.parse_args()
    params = {"model": "keras/mobilenet_v2", "weights": "none", "dataset": "generated", "generated_images": 64,
              "generated_size": 320, "image_size": args.image_size, "epochs": args.epochs,
              "input_probe_batches": 0}
    times = {"generator": [], "tfdata": []}
    with tempfile.TemporaryDirectory() as tmp:
        for pair in range(args.pairs):
            order = ("generator", "tfdata") if pair % 2 == 0 else ("tfdata", "generator")
            for loader in order:
                out = Path(tmp) / f"{loader}-{pair}"
                subprocess.run([sys.executable, "-m", "harness_jobs", "transfer", "--params",
                                json.dumps({**params, "loader": loader}), "--out", str(out),
                                "--cache-dir", str(Path(tmp) / "cache")], check=True, capture_output=True,
                               env={**os.environ, "TF_USE_LEGACY_KERAS": "1"})
                times[loader].append(steady_epoch_seconds(out))
                print(f"pair {pair} {loader:9s} steady epoch {times[loader][-1]:.3f} s", flush=True)
    ratios = [g / t for g, t in zip(times["generator"], times["tfdata"])]
    print(f"steady epoch, median: generator {statistics.median(times['generator']):.3f} s, "
          f"tfdata {statistics.median(times['tfdata']):.3f} s; ratio generator/tfdata "
          f"{statistics.median(ratios):.2f} (per pair: {', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
