"""The `harness` command: one function per subcommand; `main(argv, stdout, stderr)` returns the exit
code (ExitStatus, docs/errors.md). Every failure ends there as one line: bad input, the machine
failing, Ctrl-C, or an unexpected exception (a bug: its traceback with --traceback)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import enum
import math
import re
import signal
import sys
import traceback
import warnings
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness_jobs import jobs as job_registry

from . import __version__, config
from .adaptive import DEFAULT_CI_TARGET, DEFAULT_MAX_REPEATS, MIN_REPEATS, Adaptive
from .build import build
from .compare import compare
from .errors import EnvironmentFailure, UsageError
from .execute import TargetRun, run_targets
from .plan import expand, parse_overrides
from .prepare import Prepared, default_cache_dir, prepare
from .progress import make_progress
from .report.files import write_comparison, write_run_report
from .report.markdown import headline
from .report.tables import comparison_table, run_table
from .results import DISK_ERRNOS, find_run, iter_runs, prepare_results_dir
from .runners import runner_for
from .runners.base import Runner

DEFAULT_RESULTS = Path("reports")


class ExitStatus(enum.IntEnum):
    OK = 0
    JOB_NOT_OK = 1
    USAGE = 2
    ENVIRONMENT = 3       # the results disk full or read-only, the Docker engine lost: retry once fixed
    INTERNAL_ERROR = 4    # an unexpected exception: a harness bug
    INTERRUPTED = 130
    TERMINATED = 143


class Parser(argparse.ArgumentParser):
    """argparse that raises UsageError (one line, exit 2) instead of printing usage and exiting.
    Every (sub)command takes --traceback, so it may follow the command the error hint names."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_argument("--traceback", action="store_true", default=argparse.SUPPRESS,
                          help="on an error, print its traceback too (for a bug report)")

    def error(self, message):
        raise UsageError(f"{message} (see: {self.prog} --help)")


def build_parser() -> Parser:
    parser = Parser(prog="harness", description="Benchmark TensorFlow jobs across edge and desktop targets.")
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    parser.add_argument("--config", type=Path, help="targets/suites file (default: ./harness.toml if present)")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    def results_option(sub):
        sub.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS,
                         help="results root (default: ./reports)")

    run = commands.add_parser("run", help="run a suite or one job on a target")
    run.add_argument("--target", action="append", metavar="TARGET",
                     help="target name (default: local); repeat to run several targets in parallel")
    run.add_argument("--emulate", action="store_true",
                     help="allow a target of another architecture under emulation (results marked emulated)")
    chosen = run.add_mutually_exclusive_group()
    chosen.add_argument("--suite", help="suite name or .toml path (default: quickstart)")
    chosen.add_argument("--job", help="one job with its default parameters")
    run.add_argument("--set", action="append", default=[], metavar="[JOB.]KEY=VALUE",
                     help="override a parameter in every job that has it (repeatable)")
    run.add_argument("--repeat", type=repeat_count,
                     help="run every job N times (default: the suite's `repeat`, else 1), or auto: until the interval is tight (docs/adaptive-repeats.md)")
    run.add_argument("--ci-target", type=float, metavar="PCT",
                     help=f"--repeat auto: interval half-width to reach, percent of throughput (default: {DEFAULT_CI_TARGET})")
    run.add_argument("--max-repeats", type=int, metavar="N",
                     help=f"--repeat auto: most repeats of a job (default: {DEFAULT_MAX_REPEATS})")
    run.add_argument("--time-budget", type=float, metavar="S",
                     help="--repeat auto: start no round that would end past S seconds of run time")
    run.add_argument("--timeout", type=float, help="per-job timeout in seconds (default: the target's)")
    run.add_argument("--resume", metavar="RUN_ID",
                     help="complete a stopped run: re-run only its jobs that did not end ok, in the same run folder")
    results_option(run)

    listing = commands.add_parser("list", help="list targets, suites, jobs or stored runs")
    listing.add_argument("what", choices=("targets", "suites", "jobs", "runs"))
    results_option(listing)

    report = commands.add_parser("report", help="summary.json/csv, report.md and report.html of one run")
    report.add_argument("run", help="run id, or a target name for its latest complete run")
    report.add_argument("--out", type=Path, help="output folder (default: the run's folder)")
    results_option(report)

    comparing = commands.add_parser("compare", help="compare targets' latest runs (or run ids)")
    comparing.add_argument("names", nargs="*", metavar="TARGET_OR_RUN", help="first one is the baseline")
    comparing.add_argument("--runs", nargs="+", default=[], metavar="RUN_ID", help="more run ids to compare")
    comparing.add_argument("--baseline", metavar="TARGET_OR_RUN", help="the side ratios divide by (default: the first)")
    comparing.add_argument("--force", action="store_true",
                           help="speed ratios even where a side was emulated or used another dataset")
    comparing.add_argument("--out", type=Path, help="output folder (default: <results-dir>/compare/A_vs_B)")
    comparing.add_argument("--noise", type=float, default=3.0, metavar="PCT",
                           help="noise band, percent: a ratio is significant when its 95%% interval excludes 1 "
                                "by more than this (default 3)")
    results_option(comparing)
    importing = commands.add_parser("import", help="store an existing log as a run (keras-log)")
    formats = importing.add_subparsers(dest="format", required=True, parser_class=Parser)
    keras = formats.add_parser("keras-log", help="a Keras console log or a Jupyter notebook (Keras 2 or 3)")
    keras.add_argument("file", type=Path, help="the captured log, or a .ipynb notebook")
    keras.add_argument("--target", required=True, help="target the log was made on (e.g. tx2)")
    keras.add_argument("--job", required=True, help="job name; a known job (mnist_mlp) aligns with harness runs")
    keras.add_argument("--batch-size", type=int, help="samples per step (gives samples and samples/s)")
    keras.add_argument("--counts", choices=("auto", "steps", "samples"), default="auto",
                       help="what the progress counter counts (auto: read from the log; docs/import-formats.md)")
    keras.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="another parameter of a known job the log ran with (repeatable)")
    results_option(keras)
    preparing = commands.add_parser("prepare", help="download what a suite's jobs need into a cache folder")
    chosen = preparing.add_mutually_exclusive_group()
    chosen.add_argument("--suite", help="suite name or .toml path (default: quickstart)")
    chosen.add_argument("--job", help="one job with its default parameters")
    preparing.add_argument("--set", action="append", default=[], metavar="[JOB.]KEY=VALUE",
                           help="override a parameter, as for run (repeatable)")
    preparing.add_argument("--target", help="fill this target's cache_dir (default: ~/.cache/harness)")
    preparing.add_argument("--cache-dir", type=Path, help="the cache folder to fill (overrides --target's)")
    building = commands.add_parser("build", help="build images with docker buildx bake (and send them to ssh:// targets)")
    building.add_argument("targets", nargs="*", metavar="TARGET",
                          help="bake targets or groups, or harness targets with docker_host (default: default)")
    building.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                          help="bake variable, e.g. RTX2080_BASE=my/base:tag (repeatable)")
    building.add_argument("--ca-file", type=Path, help="CA bundle for a TLS-intercepting proxy (a build secret)")
    building.add_argument("--file", type=Path, help="bake file (default: the repository's docker-bake.hcl)")
    building.add_argument("--on-engine", action="store_true",
                          help="for targets with docker_host: build on that engine (natively on the device) "
                               "instead of building here and sending the image")

    doctor = commands.add_parser("doctor", help="check a target's engine and image, then run selftest in it")
    doctor.add_argument("--target", default="local", help="target name (default: local)")
    doctor.add_argument("--emulate", action="store_true", help="accept another architecture under emulation")
    results_option(doctor)

    gc = commands.add_parser("gc", help="remove containers a killed harness left on a target's engine")
    gc.add_argument("--target", default="local", help="target name whose engine to clean (default: local engine)")

    exporting = commands.add_parser("export", help="stored runs into TensorBoard event files or an MLflow server")
    tools = exporting.add_subparsers(dest="tool", required=True, parser_class=Parser)
    board = tools.add_parser("tensorboard", help="event files per job (default: <run folder>/tensorboard)")
    board.add_argument("runs", nargs="+", metavar="RUN", help="run ids, or target names (their latest complete run)")
    board.add_argument("--logdir", type=Path, help="write DIR/<run id>/<job folder>/ instead of into the run folder")
    results_option(board)
    flow = tools.add_parser("mlflow", help="one MLflow run per job result (needs the mlflow extra)")
    flow.add_argument("runs", nargs="+", metavar="RUN", help="run ids, or target names (their latest complete run)")
    flow.add_argument("--tracking-uri", help="MLflow tracking URI (default: MLflow's own, MLFLOW_TRACKING_URI or ./mlruns)")
    flow.add_argument("--experiment", default="edge-tf-harness", help="experiment name (default: edge-tf-harness)")
    results_option(flow)
    return parser


def cmd_run(args, cfg, console: Console) -> int:
    known = config.load_targets(cfg)
    resumed = None
    if args.resume is not None:
        resumed = start_resume(args, known, console)
        if resumed is None:
            return ExitStatus.OK
        names = [resumed.target.name]
    else:
        names = args.target or ["local"]
    if len(set(names)) != len(names):
        raise UsageError("each --target may be given once")
    targets = [config.get_target(known, name) for name in names]
    if args.timeout is not None:
        if not math.isfinite(args.timeout) or args.timeout <= 0:  # nan would never time out
            raise UsageError("--timeout must be a positive number of seconds")
        targets = [dataclasses.replace(target, timeout_s=args.timeout) for target in targets]
    adaptive = adaptive_settings(args)
    if not adaptive and args.repeat is not None and args.repeat < 1:
        raise UsageError("--repeat must be 1 or more")
    if resumed is not None:
        prepare_results_dir(args.results_dir)  # full or read-only: a one-line error before anything runs
        suite, plan = resumed.suite, resumed.plan
        emulated = bool(resumed.manifest.get("emulated"))
        powers = power_controls(targets, plan)
        with closed_on_error(powers):
            runs = [TargetRun(targets[0], prepared(targets[0], args.emulate or emulated), resume=resumed.path,
                              power=powers[0])]
            if runs[0].runner.emulated != emulated:
                raise UsageError(f"cannot resume run {resumed.run_id}: it ran "
                                 f"{'emulated' if emulated else 'natively'}, this engine runs the target "
                                 f"{'emulated' if runs[0].runner.emulated else 'natively'}")
    else:
        suite = config.single_job_suite(args.job) if args.job else config.load_suite(args.suite or "quickstart", cfg)
        repeat = MIN_REPEATS if adaptive else (args.repeat if args.repeat is not None else suite.repeat)
        plan = expand(suite, parse_overrides(args.set), repeat)
        powers = power_controls(targets, plan)  # an unknown mode or no jtop: refused before anything is written
        with closed_on_error(powers):
            prepare_results_dir(args.results_dir)
            runs = [TargetRun(target, prepared(target, args.emulate), power=control, adaptive=adaptive)
                    for target, control in zip(targets, powers)]
    for run in runs:
        for warning in run.runner.warnings:
            console.print(f"[yellow]warning[/]: {escape(warning)}")
    terminated = False

    def on_sigterm(signum, frame):
        nonlocal terminated
        terminated = True
        raise KeyboardInterrupt()

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        run_targets(runs, suite, plan, args.results_dir, console)
    except KeyboardInterrupt:
        console.print("[red]interrupted[/]: the running job was stopped and recorded; results so far are kept")
        return ExitStatus.TERMINATED if terminated else ExitStatus.INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
        close_power_controls(powers)
    for run in runs:
        if run.writer is not None and (run.writer.manifest.get("power") or {}).get("restored") is False:
            console.print(f"[yellow]warning[/]: the power state before the run was not restored on "
                          f"{escape(run.target.name)}: {escape(str(run.writer.manifest['power'].get('error')))}")
    for run in runs:
        if run.writer is None:
            continue
        console.print(run_table(find_run(args.results_dir, run.writer.run_id)))
        console.print(f"results: {escape(str(run.writer.path))}  (harness report {run.writer.run_id})")
    if any(run.interrupted for run in runs):
        return ExitStatus.INTERRUPTED
    ok = all(r["status"] in ("ok", "skipped") for run in runs for r in run.results)
    return ExitStatus.OK if ok else ExitStatus.JOB_NOT_OK


def prepared(target: config.Target, emulate: bool) -> Runner:
    """The target's runner after its checks (a UsageError names the one that failed)."""
    runner = runner_for(target, emulate)
    runner.prepare()
    return runner


def power_controls(targets, plan) -> list:
    """Each target's jtop client for power_mode/jetson_clocks (None where no job sets them), all checked
    before anything runs: an unknown mode or no jtop is one line, exit 2 (harness/power.py)."""
    from .power import control_for
    controls: list = []
    with closed_on_error(controls):
        for target in targets:
            controls.append(control_for(target, plan))
    return controls


def close_power_controls(controls: list) -> None:
    for control in controls:
        if control is not None:
            control.close()


@contextlib.contextmanager
def closed_on_error(controls: list):
    """Close the jtop clients when what follows their opening fails (a target's check, a full disk):
    nothing was applied yet, and a test's process lives on after the command."""
    try:
        yield
    except BaseException:
        close_power_controls(controls)
        raise


def repeat_count(text: str):
    """--repeat: a count, or `auto`."""
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r} (a count, or auto)") from None


def adaptive_settings(args) -> Adaptive | None:
    """--repeat auto's stopping rule; its options are refused without it."""
    given = [flag for flag, value in (("--ci-target", args.ci_target), ("--max-repeats", args.max_repeats),
                                      ("--time-budget", args.time_budget)) if value is not None]
    if args.repeat != "auto":
        if given:
            raise UsageError(f"{', '.join(given)} only apply with --repeat auto")
        return None
    return Adaptive(args.ci_target if args.ci_target is not None else DEFAULT_CI_TARGET,
                    args.max_repeats if args.max_repeats is not None else DEFAULT_MAX_REPEATS,
                    args.time_budget).check()


def start_resume(args, known, console: Console):
    """The run --resume completes (None when nothing is left to run); refuses other plan options."""
    from .resume import resumable
    given = [flag for flag, value in (("--target", args.target), ("--suite", args.suite), ("--job", args.job),
                                      ("--set", args.set), ("--repeat", args.repeat is not None)) if value]
    if given:
        raise UsageError(f"--resume re-runs the stored run's own plan; drop {', '.join(given)}")
    resumed = resumable(args.results_dir, args.resume, known)
    if not resumed.todo:
        console.print(f"nothing to resume: every job of run {escape(resumed.run_id)} ended ok")
        return None
    if resumed.changed:
        console.print(f"[yellow]warning[/]: target '{escape(resumed.target.name)}' changed since the run "
                      f"({escape(', '.join(resumed.changed))}); the re-run jobs use the current settings")
    console.print(f"resuming run {escape(resumed.run_id)}: {len(resumed.todo)} of {len(resumed.plan)} job(s) to run")
    return resumed


def cmd_list(args, cfg, console: Console) -> int:
    table = Table()
    if args.what == "targets":
        for column in ("target", "runner", "platform", "image", "notes"):
            table.add_column(column)
        for name, target in sorted(config.load_targets(cfg).items()):
            table.add_row(*(escape(x) for x in (name, target.runner, target.platform, target.image, target.notes)))
    elif args.what == "suites":
        for column in ("suite", "jobs", "description"):
            table.add_column(column)
        for name in config.suite_names(cfg):
            suite = config.load_suite(name, cfg)
            table.add_row(escape(name), str(len(expand(suite, []))), escape(suite.description))
    elif args.what == "jobs":
        for column in ("job", "description", "parameters (default)"):
            table.add_column(column)
        for name in sorted(job_registry.JOBS):
            module = job_registry.load(name)
            params = ", ".join(f"{k}={p.default!r}" for k, p in sorted(module.PARAMS.items()))
            table.add_row(name, module.DESCRIPTION, escape(params))
    else:
        for column in ("run id", "target", "suite", "status", "jobs ok", "created"):
            table.add_column(column)
        for run in iter_runs(args.results_dir):
            ok = sum(r["status"] == "ok" for r in run.results)
            table.add_row(escape(run.run_id), escape(run.target), escape(run.manifest["suite"]["name"]),
                          run.status, f"{ok}/{len(run.manifest.get('jobs', []))}", str(run.manifest.get("created")))
    console.print(table)
    return ExitStatus.OK


def cmd_report(args, cfg, console: Console) -> int:
    run = find_run(args.results_dir, args.run)
    comparison, paths = write_run_report(run, args.out or run.path)
    console.print(comparison_table(comparison))
    console.print("wrote " + ", ".join(escape(str(p)) for p in paths))
    return ExitStatus.OK


def cmd_compare(args, cfg, console: Console) -> int:
    if not 0 <= args.noise < math.inf:
        raise UsageError(f"--noise {args.noise:g} must be a percentage, 0 or more")
    runs = select_runs(args.results_dir, args.names + args.runs, args.baseline)
    comparison = compare(runs, force=args.force, noise=args.noise / 100)
    out = args.out or args.results_dir / "compare" / compare_dir_name(comparison.sides)
    paths = write_comparison(comparison, out, runs)
    console.print(comparison_table(comparison))
    for line in headline(comparison):
        console.print(escape(line))
    for item in comparison.withheld:
        console.print(f"[yellow]speed ratio withheld[/] for {escape(item['label'])} on {escape(item['side'])}: "
                      f"{escape('; '.join(item['reasons']))} (--force to compute it anyway)")
    for side, labels in comparison.only_in.items():
        if labels:
            console.print(f"only in {escape(side)}: " + ", ".join(escape(label) for label in labels))
    console.print("wrote " + ", ".join(escape(str(p)) for p in paths))
    return ExitStatus.OK


def select_runs(results_dir: Path, names: list[str], baseline: str | None):
    """The runs named (targets or run ids), the baseline first; each run once."""
    if len(names) < 2:
        raise UsageError("compare needs at least two targets or run ids")
    runs = [find_run(results_dir, name) for name in names]
    ids = [run.run_id for run in runs]
    if len(set(ids)) != len(ids):
        raise UsageError("each run may be compared once (a target name means its latest complete run)")
    if baseline is not None:
        chosen = find_run(results_dir, baseline)
        if chosen.run_id not in ids:
            raise UsageError(f"--baseline {baseline} is not among the runs compared")
        runs.sort(key=lambda run: run.run_id != chosen.run_id)
    return runs


def compare_dir_name(sides: list[str]) -> str:
    """A safe folder name from the side names (never a path: no separators, no '..')."""
    name = "_vs_".join(sides) if len(sides) <= 4 else f"{sides[0]}_vs_{len(sides) - 1}_runs"
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".")
    return name[:150] or "compare"


def cmd_import(args, cfg, console: Console) -> int:
    from .importers.store import import_keras_log
    try:
        with make_progress(console) as progress:
            task = progress.add_task(f"reading {escape(args.file.name)}", total=None)
            writer, log = import_keras_log(args.file, args.target, args.job, args.batch_size, args.results_dir, cfg,
                                           args.set, counts=args.counts,
                                           progress=lambda done, total: progress.update(task, completed=done,
                                                                                        total=total))
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: nothing was stored")
        return ExitStatus.INTERRUPTED
    source = writer.manifest["imported"]
    cells = f" ({', '.join(source['cells'])})" if source["cells"] else ""
    console.print(f"imported {len(log.epochs)} epoch(s) ({log.flavour}, counting {log.counts}: {log.counts_from}) "
                  f"from {escape(args.file.name)}{escape(cells)} as run {writer.run_id} of target {escape(args.target)}")
    for evaluation in log.evaluations:
        console.print(f"kept apart: {evaluation.kind}() after epoch {evaluation.after_epoch} "
                      + escape(", ".join(f"{k}={v:g}" for k, v in evaluation.metrics.items())))
    for note in log.notes:
        console.print(f"[yellow]note[/]: {escape(note)}")
    if log.unreadable:
        console.print(f"[yellow]warning[/]: {log.unreadable} of {log.lines} line(s) could not be read, e.g. "
                      + "; ".join(escape(repr(line)) for line in log.unreadable_examples))
    if not any(epoch.complete for epoch in log.epochs):
        console.print("[red]no complete epoch found[/]: the run is stored with its job marked failed")
        return ExitStatus.JOB_NOT_OK
    console.print(run_table(find_run(args.results_dir, writer.run_id)))
    return ExitStatus.OK


def cmd_build(args, cfg, console: Console) -> int:
    from .send_image import bake_target_of, send
    known = config.load_targets(cfg)
    remote = [known[name] for name in args.targets if name in known and known[name].docker_host]
    names = [bake_target_of(known[name])[0] if known.get(name) in remote else name for name in args.targets]
    tags = {bake_target_of(target)[1] for target in remote}
    if len(tags) > 1:
        raise UsageError(f"the targets' images have different tags ({', '.join(sorted(tags))}): build them one at a time")
    given = [pair.partition("=")[2] for pair in args.var if pair.startswith("TAG=")]
    if tags and given and given[-1] not in tags:
        raise UsageError(f"--var TAG={given[-1]} would not build the target's image (tag {next(iter(tags))})")
    variables = [f"TAG={tag}" for tag in tags] + args.var
    hosts = {target.docker_host for target in remote}
    if args.on_engine and (len(hosts) != 1 or len(remote) != len(args.targets)):
        raise UsageError("--on-engine builds on one target's engine: name only targets with the same docker_host")
    code = build(names, variables, args.ca_file, args.file, hosts.pop() if args.on_engine else "")
    if code != 0:
        console.print(f"[red]docker buildx bake failed[/] (exit {code}); its output is above")
        return ExitStatus.JOB_NOT_OK
    if not args.on_engine:
        for target in remote:
            send(target.image, target, console)
    return ExitStatus.OK


def cmd_doctor(args, cfg, console: Console) -> int:
    target = config.get_target(config.load_targets(cfg), args.target)
    console.print(f"target [bold]{escape(target.name)}[/]: runner {target.runner}, "
                  f"platform {target.platform or 'any'}, image {escape(target.image or '-')}")
    runner = prepared(target, args.emulate)
    for line in runner.check_lines():
        console.print(f"  {escape(line)}")
    for warning in runner.warnings:
        console.print(f"[yellow]warning[/]: {escape(warning)}")
    prepare_results_dir(args.results_dir)
    selftest_run = TargetRun(target, runner)
    selftest = config.single_job_suite("selftest")
    run_targets([selftest_run], selftest, expand(selftest, []), args.results_dir, console)
    result = selftest_run.results[0]
    for event in ("devices", "matmul_seconds"):
        console.print(f"  {event}: {escape(str(result['metrics'].get(event)))}")
    if result["status"] != "ok":
        console.print(f"[red]selftest {result['status']}[/]: {escape(str(result['error']))}")
        return ExitStatus.JOB_NOT_OK
    console.print("[green]selftest ok[/]")
    return ExitStatus.OK


def cmd_gc(args, cfg, console: Console) -> int:
    from .engine_errors import ENGINE_ERRORS
    from .runners.docker import connect, leftover_containers, problem
    target = config.get_target(config.load_targets(cfg), args.target)
    client = connect(target)  # an engine that does not answer: a UsageError naming the check
    removed = 0
    try:
        for container in leftover_containers(client):
            container.remove(force=True)
            console.print(f"removed {container.short_id} ({escape(container.labels.get('io.harness.run', '?'))})")
            removed += 1
    except ENGINE_ERRORS as error:
        raise EnvironmentFailure(f"target '{target.name}': the Docker engine failed after {removed} container(s) "
                                 f"removed: {problem(target, error)}") from None
    console.print(f"{removed} container(s) removed")
    return ExitStatus.OK


def cmd_prepare(args, cfg, console: Console) -> int:
    cache_dir = args.cache_dir
    if cache_dir is None:
        target = config.get_target(config.load_targets(cfg), args.target) if args.target else None
        cache_dir = default_cache_dir(target.cache_dir if target else "")
    suite = config.single_job_suite(args.job) if args.job else config.load_suite(args.suite or "quickstart", cfg)
    plan = expand(suite, parse_overrides(args.set))
    console.print(f"preparing {escape(suite.name)} into {escape(str(cache_dir))}")

    def show(item: Prepared) -> None:
        if item.error:
            console.print(f"  [red]missing[/] {escape(item.label)}: {escape(item.error)}")
        else:
            console.print(f"  [green]ok[/] {escape(str(item.path))}  {item.megabytes:.1f} MB")

    items = prepare(plan, cache_dir, show)
    if not items:
        console.print("  nothing to fetch: these jobs use only bundled or generated data")
    failed = [item for item in items if item.error]
    if failed:
        console.print(f"[red]{len(failed)} item(s) could not be fetched[/]; the jobs needing them will fail offline")
        return ExitStatus.JOB_NOT_OK
    console.print(f"done: mount or copy {escape(str(cache_dir))} as the target's cache_dir")
    return ExitStatus.OK


def cmd_export(args, cfg, console: Console) -> int:
    runs = [find_run(args.results_dir, name) for name in args.runs]
    if args.tool == "tensorboard":
        from .export import tensorboard
        for run in runs:
            base, written = tensorboard.export_run(run, args.logdir)
            for job, _, counts in written:
                console.print(f"  {escape(job.result['label'])}: {counts['scalars']} scalars, "
                              f"{counts['telemetry']} telemetry points" + (", graph" if counts["graph"] else ""))
            console.print(f"run {escape(run.run_id)}: {len(written)} job(s) -> {escape(str(base))}  "
                          f"(tensorboard --logdir {escape(str(base))})")
    else:
        from .export import mlflow_
        for run in runs:
            exported = mlflow_.export_run(run, args.tracking_uri, args.experiment)
            for job, run_id, state in exported:
                console.print(f"  {escape(job.result['label'])}: MLflow run {run_id} ({state})")
            console.print(f"run {escape(run.run_id)}: {len(exported)} job(s) in experiment {escape(args.experiment)}")
    return ExitStatus.OK


COMMANDS = {"run": cmd_run, "prepare": cmd_prepare, "list": cmd_list, "report": cmd_report, "compare": cmd_compare, "import": cmd_import,
            "build": cmd_build, "doctor": cmd_doctor, "gc": cmd_gc, "export": cmd_export}


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    console = Console(file=stdout, highlight=False, width=None if stdout.isatty() else 160)
    args = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", ResourceWarning)  # a socket the engine dropped is no news to users
        # jetson-stats 4.3 calls distro.linux_distribution(): their deprecation, nothing for the user to do
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"jtop(\.|$)")
        failure = None  # the one line that ends the output, when the command did not return
        try:
            args = build_parser().parse_args(argv)
            cfg = config.load_config(args.config)
            code = COMMANDS[args.command](args, cfg, console)
        except SystemExit as exit_:  # --help and --version
            code = exit_.code if isinstance(exit_.code, int) else ExitStatus.OK
        except BaseException as error:  # Ctrl-C and every exception: one line, never a bare traceback
            code, failure = one_line(error)
            if getattr(args, "traceback", False):
                stderr.write("".join(traceback.format_exception(error)))
    for warning in caught:  # also when the command failed: they may say why
        stderr.write(f"harness: warning: {warning.message}\n")
    if failure is not None:
        stderr.write(f"harness: {failure}\n")
    return int(code)


def one_line(error: BaseException) -> tuple[int, str]:
    """The exit code and the line for an error that ended a command (docs/errors.md)."""
    if isinstance(error, KeyboardInterrupt):
        return ExitStatus.INTERRUPTED, "interrupted"
    if isinstance(error, UsageError):  # EnvironmentFailure too, with its own code
        return error.exit_code, f"error: {error}"
    if isinstance(error, OSError) and error.errno in DISK_ERRNOS:
        where = f"{error.filename}: " if error.filename else ""
        return ExitStatus.ENVIRONMENT, f"error: {where}{error.strerror}"
    if engine_failed(error):
        return ExitStatus.ENVIRONMENT, f"error: the Docker engine failed: {type(error).__name__}: {flat(error)}"
    if not isinstance(error, Exception):
        raise error  # SystemExit is handled before; anything else of its kind is not ours to swallow
    return ExitStatus.INTERNAL_ERROR, (f"unexpected error: {type(error).__name__}: {flat(error)} (a harness bug; "
                                       f"rerun with --traceback to see where, and report it)")


def engine_failed(error: BaseException) -> bool:
    """An error the Docker SDK, requests or paramiko raise when the engine or the ssh link to it fails;
    not the builtin OSErrors harness.engine_errors also lists (here those are the disk's, or a bug)."""
    from .engine_errors import ENGINE_ERRORS
    return isinstance(error, ENGINE_ERRORS) and type(error).__module__ != "builtins"


def flat(error: BaseException) -> str:
    """An exception's message on one line, at most 300 characters."""
    return " ".join(str(error).split())[:300]


def entry_point() -> None:
    sys.exit(main())
