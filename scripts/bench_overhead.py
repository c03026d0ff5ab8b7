"""The harness's own cost: the same Keras job bare and under `harness run`, interleaved.

    .venv/bin/python scripts/bench_overhead.py [--case transfer|mlp|both] [--pairs 4] [--epochs N] [--control]

bare     a plain Python process that builds the job's model and data with the job module's own
         functions and calls `model.fit` with no callback but an epoch clock (two clock reads
         per epoch, no per-step work, no events, no telemetry);
harness  `python -m harness run --job JOB --set ...` as a real process: `python -m harness_jobs`
         with the step-timer callback and the event emitter, the psutil sampler (and whatever
         telemetry "auto" finds) at the default 0.5 s interval, the event reader and the
         progress display in the harness process;
hooks    (--control) bare plus on_train_batch_begin/end hooks that do nothing: Keras 3 dispatches
         the per-step callback work (converting the step's logs to Python numbers, which waits
         for the step) in a background thread when no callback has batch-end hooks, and in the
         training loop when one does, so this side separates what any per-step timer changes in
         Keras' loop from what the harness's own code costs.

Every side measures the same thing: the wall time of each epoch from Keras' `on_epoch_begin`
to `on_epoch_end` (validation included where the job validates), divided by its steps. The
first epoch (tracing, tf.data cache fill) is dropped; a process's figure is the median of its
steady epochs, and also its fastest (other load only ever adds time). The order of the sides
rotates each round so drift in the machine's load hits them alike, and the bare side runs under
the engine lock `harness run` takes, so other harness runs on the machine wait for either side.
Overhead = median(harness) / median(bare) - 1. It also prints the step timer's own cost per step
(its hooks called directly) and the harness process's CPU time while the job trains (samplers,
event reader, display) as a share of one core. A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from harness.lock import engine_key, engine_lock

REPO = Path(__file__).resolve().parents[1]
CACHE_DIR = Path.home() / ".cache" / "harness"

CASES = {
    # the transfer lab, small enough for a 2-core CPU: frozen MobileNetV2 (random weights) on
    # generated JPEGs through tf.data
    "transfer": ("transfer", {"model": "keras/mobilenet_v2", "weights": "none", "dataset": "generated",
                              "generated_images": 64, "image_size": 96, "loader": "tfdata", "epochs": 6,
                              "input_probe_batches": 0}),
    # the seed's MLP on the bundled digits: ~1 ms steps, the worst case for a per-step callback
    "mlp": ("mnist_mlp", {"dataset": "digits", "epochs": 20}),
}


# -- the bare side (runs in its own process: this file with --bare) -----------------------------
def bare(job: str, overrides: dict, batch_hook: bool = False) -> None:
    sys.path.insert(0, str(REPO))
    from harness_jobs import compat, data, images, jobs
    from harness_jobs.params import resolve

    module = jobs.load(job)
    params = resolve(module.PARAMS, overrides)
    tf = compat.import_tensorflow()
    epochs_seconds: list[float] = []

    if job == "transfer":
        from harness_jobs.jobs import transfer
        keras = transfer._keras_for(tf, params)
        shape = {"classes": params["generated_classes"], "per_class": params["generated_images"],
                 "size": params["generated_size"], "seed": params["seed"]}
        folder = images.resolve(params["dataset"], keras, str(CACHE_DIR), str(CACHE_DIR / "work"), shape)
        source = transfer.TfDataInput(tf, folder, params)
        compat.set_seed(tf, params["seed"])
        model = transfer.build_model(keras, params, source.num_classes, str(CACHE_DIR))
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=params["learning_rate"]),
                      loss="categorical_crossentropy", metrics=["accuracy"])
        samples = source.train_samples
        fit_args = dict(x=source.train, validation_data=source.validation)
    else:
        from harness_jobs.jobs import mnist_mlp
        keras = tf.keras
        compat.set_seed(tf, params["seed"])
        x_train, y_train, x_test, y_test = data.load_image_classification(params["dataset"], keras, str(CACHE_DIR))
        model = mnist_mlp.build_model(keras, params)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=params["learning_rate"]),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        samples = len(x_train)
        fit_args = dict(x=x_train, y=y_train, batch_size=params["batch_size"], validation_data=(x_test, y_test))

    class EpochClock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            epochs_seconds.append(time.monotonic() - self.start)

    class EpochClockWithBatchHooks(EpochClock):
        """The same, plus per-step hooks that do nothing: shows what merely having batch hooks does
        to Keras' loop (Keras skips per-step callback work when no callback overrides them)."""

        def on_train_batch_begin(self, batch, logs=None):
            pass

        def on_train_batch_end(self, batch, logs=None):
            pass

    clock = EpochClockWithBatchHooks() if batch_hook else EpochClock()
    model.fit(epochs=params["epochs"], callbacks=[clock], verbose=0, **fit_args)
    steps = (samples + params["batch_size"] - 1) // params["batch_size"]
    print("@@bare " + json.dumps({"epoch_seconds": epochs_seconds, "steps": steps}), flush=True)


def micro(steps: int = 200_000) -> None:
    """The step timer's own cost per step, in this process: the two hooks Keras calls around every
    step (two clock reads, one preformatted line to events.jsonl and the stdout pipe, flushed every
    0.5 s), without Keras' own dispatch. Quiet-machine independent, unlike the ratios."""
    from harness_jobs import compat, timing
    from harness_jobs.events import Emitter

    tf = compat.import_tensorflow()
    with tempfile.TemporaryDirectory() as folder, open(os.devnull, "w") as sink:
        emitter = Emitter(folder, stream=sink)
        timer = timing.step_timer(tf.keras, emitter, steps * 32, 32)
        timer.on_epoch_begin(0)
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for step in range(steps // 5):
                timer.on_train_batch_begin(step)
                timer.on_train_batch_end(step)
            best = min(best, (time.perf_counter() - start) / (steps // 5))
        emitter.close()
    print(f"step timer: {best * 1e6:.2f} us per step (best of 5 x {steps // 5} steps, hooks called directly)",
          flush=True)


# -- the driver ---------------------------------------------------------------------------------
def steady_step_seconds(epoch_seconds: list[float], steps: int) -> tuple[float, float]:
    """(median, fastest) steady epoch over its steps: other load on the machine only ever adds time,
    so the fastest epoch is the least disturbed estimate; the median is what a user sees."""
    return statistics.median(epoch_seconds[1:]) / steps, min(epoch_seconds[1:]) / steps


def run_bare(job: str, params: dict, hooks: bool = False) -> tuple[float, float]:
    # under the same engine lock `harness run` holds: other harness runs on this machine wait
    # for either side alike (without it, they slow the bare side only)
    with engine_lock(engine_key(""), lambda message: print("  " + message, flush=True), threading.Event()):
        out = subprocess.run([sys.executable, __file__, "--bare", job, json.dumps(params)] + (["hooks"] if hooks else []),
                             cwd=REPO, capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("@@bare "))
    record = json.loads(line[len("@@bare "):])
    return steady_step_seconds(record["epoch_seconds"], record["steps"])


def run_harness(job: str, params: dict, results: Path) -> tuple[tuple[float, float], float]:
    """((median, fastest) steady step seconds, CPU share of one core the harness process itself used
    while the job trained: from its first step event to its last epoch event (events carry the
    machine's monotonic clock, the one sampled here), so Python start-up and imports are left out)."""
    sets = [item for key, value in params.items() for item in ("--set", f"{key}={json.dumps(value)}")]
    command = [sys.executable, "-m", "harness", "run", "--job", job, *sets, "--results-dir", str(results)]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    watched = psutil.Process(process.pid)
    samples: list[tuple[float, float]] = []  # (monotonic time, harness process CPU seconds)
    while process.poll() is None:
        try:
            times = watched.cpu_times()
            samples.append((time.monotonic(), times.user + times.system))
        except psutil.Error:
            pass
        time.sleep(0.1)
    if process.returncode != 0:
        raise SystemExit(f"harness run failed ({process.returncode}): {process.stderr.read()[-2000:]}")
    run_dir = max((results / "runs").iterdir())
    events_file = next(run_dir.glob(f"{job}-*/events.jsonl"))
    lines = events_file.read_text().splitlines()
    epochs = [json.loads(line) for line in lines if '"event":"epoch"' in line]
    first_step = next(json.loads(line)["t"] for line in lines if '"event":"step"' in line)
    seconds = [e["seconds"] for e in sorted(epochs, key=lambda e: e["epoch"])]
    window = [(t, cpu) for t, cpu in samples if first_step <= t <= epochs[-1]["t"]]
    share = (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0]) if len(window) > 1 else float("nan")
    return steady_step_seconds(seconds, epochs[0]["steps"]), share


def measure(case: str, pairs: int, epochs: int | None, control: bool) -> None:
    job, params = CASES[case]
    params = dict(params, **({"epochs": epochs} if epochs else {}))
    sides = ["bare", "harness"] + (["hooks"] if control else [])
    print(f"{case}: job {job} {' '.join(f'{k}={v}' for k, v in params.items())}; {pairs} rounds of "
          f"{', '.join(sides)}, order rotated each round", flush=True)
    median: dict[str, list[float]] = {side: [] for side in sides}
    fastest: dict[str, list[float]] = {side: [] for side in sides}
    harness_cpu: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as folder:
        run_bare(job, params)  # warms the page cache and makes the generated dataset once; not counted
        for index in range(pairs):
            order = sides[index % len(sides):] + sides[:index % len(sides)]
            if index % 2:
                order.reverse()
            for side in order:
                cpu = None
                if side == "harness":
                    (step, fast), cpu = run_harness(job, params, Path(folder))
                    harness_cpu.append(cpu)
                else:
                    step, fast = run_bare(job, params, hooks=side == "hooks")
                median[side].append(step)
                fastest[side].append(fast)
                print(f"  round {index + 1} {side:8} {step * 1000:8.3f} ms/step (median epoch), {fast * 1000:8.3f} "
                      f"(fastest)" + (f"   harness process {cpu * 100:.1f}% of one core" if cpu is not None else ""),
                      flush=True)
    b = statistics.median(median["bare"])
    spread = (max(median["bare"]) - min(median["bare"])) / b * 100
    print(f"{case}: {len(median['bare'])} processes per side; spread of the bare processes' medians {spread:.1f}%; "
          f"harness process CPU while training {statistics.median(harness_cpu) * 100:.2f}% of one core (median)",
          flush=True)
    names = {"bare": "bare", "harness": "harness", "hooks": "bare + no-op batch hooks"}
    pairs_to_show = [("harness", "bare")] + ([("hooks", "bare"), ("harness", "hooks")] if control else [])
    for side, base in pairs_to_show:
        m, mb = statistics.median(median[side]), statistics.median(median[base])
        fs, fb = min(fastest[side]), min(fastest[base])
        paired = [s / o for o, s in zip(median[base], median[side])]
        print(f"{case}: {names[side]} / {names[base]}: median epochs {m * 1000:.3f} / {mb * 1000:.3f} ms/step = "
              f"{m / mb:.4f} ({(m / mb - 1) * 100:+.2f}%); fastest epochs {fs * 1000:.3f} / {fb * 1000:.3f} = "
              f"{fs / fb:.4f} ({(fs / fb - 1) * 100:+.2f}%); per round {', '.join(f'{r:.3f}' for r in paired)}",
              flush=True)


def main() -> None:
    if len(sys.argv) in (4, 5) and sys.argv[1] == "--bare":
        bare(sys.argv[2], json.loads(sys.argv[3]), sys.argv[4:] == ["hooks"])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=("transfer", "mlp", "both"), default="both")
    parser.add_argument("--pairs", type=int, default=4, help="bare/harness pairs per case (default 4)")
    parser.add_argument("--epochs", type=int, help="override the case's epochs")
    parser.add_argument("--micro-only", action="store_true", help="only the step timer's cost per step")
    parser.add_argument("--control", action="store_true",
                        help="a third side: bare plus batch hooks that do nothing (what any per-step callback "
                             "changes in Keras' loop, apart from the harness's own work)")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    micro()
    if args.micro_only:
        return
    for case in (["transfer", "mlp"] if args.case == "both" else [args.case]):
        measure(case, args.pairs, args.epochs, args.control)


if __name__ == "__main__":
    main()
