"""Bad input, property-based: the parsers never raise anything but their own error and report only
what their input holds (epochs, steps, metric names and values, rails, raw tokens), the CLI turns
every bad input into one line and exit 2, names never leave the results folder, and nothing from a
log or a name reaches report.html unescaped. (tests/unit/test_fuzz.py mutates real inputs for a
bounded time on top of these.)"""

from __future__ import annotations

import io
import json
import re
import string
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from harness_jobs.events import PREFIX
from harness_jobs.telemetry.tegrastats import parse_line as tegrastats_line
from harness import config
from harness.errors import UsageError
from harness.events import BadEvent, parse_line
from harness.importers import keras_log
from harness.jobdata import STEP_FIELDS
from harness.plan import expand, parse_overrides
from harness.results import RUN_FILE, SCHEMA_VERSION, ResultsWarning, iter_runs, new_run_id

from .test_cli_errors import assert_usage_error

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# text that looks like the inputs: digits, separators, units, brackets, control characters
NEAR = st.text(alphabet=string.digits + "/[]=━─.-:%@,\r\b\x1b\n ESpochmsu" + "aceyl_", max_size=300)
ANY_TEXT = st.one_of(st.text(max_size=300), NEAR)
# TOML-able values nested two deep, with the awkward ones: nan, inf, huge ints, non-strings as names
SCALARS = st.one_of(st.booleans(), st.integers(-2 ** 63, 2 ** 63 - 1), st.floats(allow_nan=True),
                    st.text(max_size=20), st.sampled_from(["mnist_mlp", "selftest", "local", "docker", "auto", "..", "../x"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=12), inner, max_size=3)),
                      max_leaves=8)
KEYS = st.one_of(st.sampled_from(sorted(config._TARGET_TYPES) + ["job", "jobs", "params", "sweep", "epochs",
                                                                  "description", "dataset", "l2"]), st.text(max_size=10))


# -- the Keras-log importer ----------------------------------------------------------------------
@PROPERTY
@given(ANY_TEXT)
@example("Epoch " + "9" * 5000 + "/1\n1/1 - 1s")   # int() refuses more than 4,300 digits
@example("1" * 5000 + "/" + "1" * 5000 + " - 1s - loss: 1")
def test_keras_log_parse_never_raises(text):
    log = keras_log.parse(text)
    assert log.unreadable <= log.lines
    assert len(log.epochs) + len(log.evaluations) <= log.lines  # each comes from at least one line
    assert_within_the_log(log, text)
    metrics = keras_log.metrics_of(log, 32)
    json.dumps(metrics)  # what the importer stores


def assert_within_the_log(log, text: str) -> None:
    """What the parser reports is what the text holds: metric names it contains, counts and
    times that are never negative, and epoch numbers that only go up."""
    for part in [*log.epochs, *log.evaluations]:
        assert all(name in text for name in part.metrics), part.metrics
        assert all(isinstance(value, float) for value in part.metrics.values())
        assert part.steps is None or part.steps >= 0
        assert part.seconds is None or part.seconds >= 0
    numbers = [epoch.number for epoch in log.epochs]
    assert numbers == sorted(numbers), numbers


@PROPERTY
@given(st.lists(st.sampled_from(["Epoch 1/2", "Epoch 2/2", "10/10 [====] - 3s 2ms/step - loss: 0.5 - acc: 0.9",
                                 "10/10 - 1s - 14ms/step - accuracy: nan", "3/10 ━━━ 1s", "\r", "\b", "\x1b[1m",
                                 "0/0", "Epoch 0/0", "10/10 - 0s - loss: -inf", "1e999"]), max_size=20),
       st.one_of(st.none(), st.integers(1, 10 ** 6)))
def test_keras_log_made_of_real_pieces_never_raises(pieces, batch_size):
    text = "".join(piece + "\n" for piece in pieces)
    log = keras_log.parse(text)
    assert_within_the_log(log, text)
    lines = [piece for piece in pieces if piece.startswith(("Epoch", "10/10", "3/10", "0/0"))]
    assert len(log.epochs) + len(log.evaluations) <= len(lines)
    # no counter in these pieces goes past 10, and every metric value is one the pieces print
    assert all(part.steps is None or part.steps <= 10 for part in [*log.epochs, *log.evaluations])
    values = {repr(value) for part in log.epochs for value in part.metrics.values()}
    assert values <= {"0.5", "0.9", "nan", "-inf"}, values
    keras_log.metrics_of(log, batch_size)


# -- tegrastats -----------------------------------------------------------------------------------
@PROPERTY
@given(st.lists(st.one_of(st.sampled_from(["RAM", "SWAP", "CPU", "GR3D_FREQ", "VDD_IN", "EMC_FREQ", "(lfb", "4x4MB)",
                                           "[", "]", "@", "mW/", "%@[", "off", "C"]),
                          st.from_regex(r"\A-?\d{0,400}(\.\d*)?(mW|MB|%|C|%@\[?[\d,]*\]?)?(/\d*(mW|MB)?)?\Z"),
                          st.text(alphabet="ABCDEFGVDINQ_@0123456789.-C%[],/mW", max_size=12)), max_size=30))
@example(["CPU@42.5.5C"])                        # found by the fuzzer: float('42.5.5')
def test_tegrastats_never_raises(tokens):
    line = " ".join(tokens)
    sample = tegrastats_line(line)
    assert isinstance(sample, dict)
    assert all(isinstance(v, (float, int, str)) for v in sample.values())
    assert_tegrastats_within_the_line(sample, line)


TEGRASTATS_KEY = re.compile(r"(ram|swap|iram)_(used|total)_mb|cpu_(util_percent|cores_online|freq_mhz)"
                            r"|[a-z0-9_]+_(util_percent|freq_mhz)|temp_[a-z0-9_]+_c|rail_[a-z0-9_]+_w"
                            r"|power_w|power_rail|temperature_c|raw")


def assert_tegrastats_within_the_line(sample: dict, line: str) -> None:
    """Only known keys; each rail, engine and sensor named in the line; memory as used and total
    together; power the total rail's own value; nothing in `raw` that the line did not hold."""
    words = line.split()
    assert all(TEGRASTATS_KEY.fullmatch(key) for key in sample), sorted(sample)
    for key in sample:
        if key.startswith("rail_"):
            assert key[5:-2].upper() in {word.upper() for word in words}, key
        if key.startswith("temp_"):
            assert key[5:-2] in line.lower(), key
    for memory in ("ram", "swap", "iram"):
        assert (f"{memory}_used_mb" in sample) == (f"{memory}_total_mb" in sample)
    if "power_w" in sample:
        assert sample["power_rail"] in ("VDD_IN", "POM_5V_IN")
        assert sample["power_w"] == sample[f"rail_{sample['power_rail'].lower()}_w"]
    if "temperature_c" in sample:
        assert sample["temperature_c"] == sample["temp_gpu_c"]
    if "cpu_cores_online" in sample:
        assert sample["cpu_cores_online"] <= line.count(",") + 1
    assert all(part in words for part in sample.get("raw", "").split())


# -- the event reader ------------------------------------------------------------------------------
@PROPERTY
@given(st.one_of(st.text(max_size=200), st.builds(lambda s: PREFIX + s, st.text(max_size=200)),
                 st.builds(lambda v: PREFIX + json.dumps(v), VALUES)))
@example(PREFIX + "[" * 100_000)            # RecursionError inside json
@example(PREFIX + "1" * 5000)                # int() digit limit
@example(PREFIX + '{"v": 1, "event": "step", "t": NaN}')
def test_event_reader_returns_or_raises_bad_event(line):
    try:
        event = parse_line(line)
    except BadEvent:
        return
    assert event is None or (isinstance(event, dict) and isinstance(event["event"], str))


EVENT_FIELDS = st.sampled_from(["epoch", "step", "seconds", "batch_size", "metrics", "status", "error", "environment",
                                 "params", "done", "total", "phase", "startup_seconds", "samples", "steps"])


NUMBER = st.one_of(st.floats(0, 1e6), st.integers(0, 10 ** 6))
WELL_FORMED_STEP = st.builds(lambda t, epoch, step, seconds, batch: {"v": 1, "event": "step", "t": t, "epoch": epoch,
                                                                     "step": step, "seconds": seconds,
                                                                     "batch_size": batch},
                             NUMBER, st.integers(0, 100), st.integers(0, 10 ** 6), NUMBER, st.integers(1, 4096))


@PROPERTY
@given(st.lists(st.one_of(st.builds(lambda kind, t, fields: {"v": 1, "event": kind, "t": t, **fields},
                                    st.sampled_from(["start", "step", "epoch", "eval", "end", "progress", "dataset",
                                                     "other"]),
                                    NUMBER, st.dictionaries(EVENT_FIELDS, VALUES, max_size=6)),
                          WELL_FORMED_STEP), max_size=12))
@example([{"v": 1, "event": "step", "t": 1.0, "epoch": "x", "step": None, "seconds": "fast", "batch_size": []}])
@example([{"v": 1, "event": "epoch", "t": 2.0, "epoch": 0, "seconds": "b"}, {"v": 1, "event": "end", "t": 3, "metrics": [1]}])
def test_whatever_the_reader_accepts_the_metrics_can_use(events):
    """A well-formed envelope with wrong field types is a bad event at the reader; what it lets through
    never breaks the metrics, the stored-events parser or the progress display afterwards."""
    from harness.jobdata import parse
    from harness.metrics import job_metrics
    from harness.progress import RunDisplay, make_progress
    from harness.plan import JobSpec
    from rich.console import Console

    accepted = []
    for event in events:
        try:
            accepted.append(parse_line(PREFIX + json.dumps(event)))
        except BadEvent:
            pass
    json.dumps(job_metrics(accepted, [], None), default=str)
    stored = parse("".join(json.dumps(e) + "\n" for e in events))  # the file path: malformed steps dropped
    steps = [e for e in events if e["event"] == "step"]
    assert stored.steps["t"].size <= len(steps)
    assert len(stored.events) == len(events) - len(steps)  # every other event kept, none invented
    # each stored step is an input step's numbers, in the input's order
    rows = list(zip(*(stored.steps[name].tolist() for name in STEP_FIELDS)))
    given_rows = [tuple(float(e.get(name, "nan")) if isinstance(e.get(name), (int, float)) else None
                        for name in STEP_FIELDS) for e in steps]
    it = iter(given_rows)
    assert all(any(row == candidate for candidate in it) for row in rows), (rows, given_rows)
    progress = make_progress(Console(file=io.StringIO()))
    display = RunDisplay(progress, "box")
    display.start("run", Path("."), 1)
    display.job_started(JobSpec("mnist_mlp", {}, {}))
    for event in accepted:
        display.on_event(event)
        display._last_update = 0.0
        progress.console.print(progress.make_tasks_table(progress.tasks))  # rich markup renders


# -- --set overrides -------------------------------------------------------------------------------
@PROPERTY
@given(st.lists(st.one_of(st.text(max_size=40), st.builds(lambda k, v: f"{k}={v}", KEYS, st.text(max_size=30)),
                          st.builds(lambda k: f"epochs={k}", st.sampled_from(["1" * 5000, "2020-02-30", "nan", "[1,",
                                                                                "{a=1}", "1\nv=2", "'''"]))),
                max_size=4))
@example(["l2=" + "9" * 400])     # found by the fuzzer: float() overflow
@example(["epochs=" + "[" * 3000])  # found by the fuzzer: RecursionError inside tomllib
def test_overrides_give_a_plan_or_a_usage_error(pairs):
    suite = config.load_suite("quickstart", {})
    try:
        plan = expand(suite, parse_overrides(pairs))
    except UsageError as error:
        assert "\n" not in str(error).strip() or str(error).count("\n") < 3
        return
    assert plan and all(spec.dir_name.startswith(spec.job + "-") for spec in plan)


# -- target and suite TOML ---------------------------------------------------------------------------
@PROPERTY
@given(st.dictionaries(KEYS, VALUES, max_size=6))
@example({"timeout_s": float("nan")})
@example({"sample_interval_s": float("inf")})
@example({"timeout_s": -1})
def test_a_target_table_is_a_target_or_a_usage_error(table):
    try:
        target = config.make_target("box", table, "harness.toml")
    except UsageError:
        return
    assert target.timeout_s > 0 and target.sample_interval_s > 0 and target.timeout_s < float("inf")


@PROPERTY
@given(st.one_of(VALUES, st.fixed_dictionaries({"jobs": st.lists(st.dictionaries(KEYS, VALUES, max_size=4),
                                                                   max_size=3)}),
                 st.fixed_dictionaries({"jobs": st.lists(st.fixed_dictionaries(
                     {"job": VALUES, "params": st.dictionaries(KEYS, VALUES, max_size=3),
                      "sweep": st.dictionaries(KEYS, VALUES, max_size=2)}), min_size=1, max_size=2)})))
@example({"jobs": [{"job": ["mnist_mlp"]}]})  # an unhashable job name
@example({"jobs": [{"job": 3}]})
def test_a_suite_table_is_a_suite_or_a_usage_error(data):
    try:
        suite = config.parse_suite("mine", data, "mine.toml")
        expand(suite, [])
    except UsageError:
        return


@PROPERTY
@given(st.one_of(st.binary(max_size=300),
                 st.builds(lambda k, v: f"[targets.box]\n{k} = {v}\n".encode(), KEYS,
                           st.sampled_from(['"x"', "1", "-1", "nan", "inf", "1" * 5000, "2020-02-30", "[1, 2]",
                                            "{a = 1}", "true", '"../../etc"', "0"])),
                 st.builds(lambda k: f"[suites.s]\n[[suites.s.jobs]]\njob = {k}\n".encode(),
                           st.sampled_from(['"mnist_mlp"', "3", "[1]", '"../x"', "{a=1}"]))))
@example(b"\xff\xfe[targets.box]")         # not UTF-8
@example(b"x = " + b"1" * 5000)            # an integer too long for int()
@example(b"x = " + b"[" * 3000)            # found by the fuzzer: RecursionError inside tomllib
@example(b"[targets.box]\ntimeout_s = 1" + b"0" * 400)  # float() overflow
def test_harness_toml_at_the_cli_is_one_line_and_exit_2(cli, tmp_path, content):
    (tmp_path / "harness.toml").write_bytes(content)
    for what in ("targets", "suites"):
        result = cli("list", what, "--results-dir", str(tmp_path / "results"))
        if result.code != 0:
            assert_usage_error(result)
    assert not (tmp_path / "results").exists()


# -- the CLI ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("setup, argv, fragment", [
    ({"harness.toml": b"\xff\xfe"}, ["list", "targets"], "not UTF-8"),
    ({"harness.toml": b"[targets.local]\ntimeout_s = -5\n"}, ["run"], "'timeout_s' must be a positive"),
    ({"harness.toml": b"[targets.local]\ntimeout_s = nan\n"}, ["run"], "'timeout_s' must be a positive"),
    ({"harness.toml": b"[targets.local]\nprice_usd = -inf\n"}, ["run"], "'price_usd' must be"),
    ({"s.toml": b"[[jobs]]\njob = [1]\n"}, ["run", "--suite", "s.toml"], "a job name must be a string"),
    ({"s.toml": b"[[jobs]]\njob = \"mnist_mlp\"\nparams = {epochs = " + b"9" * 5000 + b"}\n"},
     ["run", "--suite", "s.toml"], "s.toml"),
    ({}, ["run", "--set", "epochs=" + "9" * 5000], "parameter 'epochs' must be a int"),
    ({}, ["run", "--set", "epochs=2020-02-30"], "parameter 'epochs' must be a int"),
    ({}, ["run", "--set", "=3"], "expected key=value"),
    ({}, ["run", "--timeout", "nan"], "--timeout must be a positive"),
    ({}, ["run", "--repeat", "many"], "invalid int value"),
    ({}, ["run", "--job", "../../etc/passwd"], "unknown job"),
    ({}, ["run", "--target", "../../tmp"], "unknown target"),
    ({"harness.toml": b"[targets.\"../../escape\"]\n"}, ["run", "--target", "../../escape"], "it names folders"),
    ({"harness.toml": b"[targets.\"a/b\"]\n"}, ["list", "targets"], "it names folders"),
    ({"log.txt": b"Epoch 1/1\n"}, ["import", "keras-log", "log.txt", "--target", "../x", "--job", "j"], "--target"),
    ({"log.txt": b"Epoch 1/1\n"}, ["import", "keras-log", "log.txt", "--target", "t", "--job", "../../x"], "--job"),
    ({"log.txt": b"Epoch 1/1\n"}, ["import", "keras-log", "log.txt", "--target", "t", "--job", "..",
                                   "--batch-size", "2"], "--job"),
    ({}, ["import", "keras-log", "missing.txt", "--target", "t", "--job", "j"], "cannot read"),
    ({}, ["report", "../../etc"], "neither a run id"),
    ({}, ["compare", "..", "."], "neither a run id"),
])
def test_bad_input_at_the_cli(cli, tmp_path, setup, argv, fragment):
    for name, content in setup.items():
        (tmp_path / name).write_bytes(content)
    assert_usage_error(cli(*argv, "--results-dir", str(tmp_path / "results")), fragment)
    runs = tmp_path / "results" / "runs"
    assert not runs.exists() or not any(runs.iterdir())
    assert {p.name for p in tmp_path.iterdir()} - set(setup) <= {"results"}  # nothing written beside the inputs


# -- path traversal -------------------------------------------------------------------------------------
@PROPERTY
@given(st.one_of(st.text(max_size=70), st.sampled_from(["..", ".", "../x", "a/../../b", "/etc", "x\0y", "..\\x"])))
def test_a_target_name_never_leaves_the_runs_folder(tmp_path, name):
    try:
        config.make_target(name, {}, "harness.toml")
    except UsageError:
        return
    runs = (tmp_path / "runs").resolve()
    assert (runs / new_run_id(name)).resolve().parent == runs


@PROPERTY
@given(st.lists(st.one_of(st.text(max_size=40), st.sampled_from(["..", ".", "../../etc", "/", "a/b", "\x00"])),
                min_size=1, max_size=6))
def test_a_compare_folder_named_after_the_sides_stays_inside_compare(tmp_path, sides):
    from harness.cli import compare_dir_name

    name = compare_dir_name(sides)
    root = (tmp_path / "compare").resolve()
    assert name and "/" not in name and "\x00" not in name and not name.startswith(".")
    assert (root / name).resolve().parent == root


def test_a_run_manifest_cannot_point_a_job_outside_its_run(tmp_path):
    """A crafted run.json whose job dir climbs out: the job is skipped with a warning, and compare's
    cache (steps.npz) is never written there."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "result.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION, "status": "ok"}))
    run = tmp_path / "results" / "runs" / "20260101-000000-x-0000"
    run.mkdir(parents=True)
    (run / RUN_FILE).write_text(json.dumps({
        "schema_version": SCHEMA_VERSION, "run_id": run.name, "status": "complete", "target": {"name": "x"},
        "jobs": [{"dir": "../../../outside"}, {"dir": "/etc"}, {"dir": ".."}]}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (loaded,) = iter_runs(tmp_path / "results")
    assert loaded.results == []
    assert sum(issubclass(w.category, ResultsWarning) and "not a plain folder name" in str(w.message)
               for w in caught) == 3


# -- nothing unescaped in report.html -------------------------------------------------------------------
PAYLOADS = ['<script>alert("x")</script>', '"><img src=x onerror=alert(1)>', "<b onmouseover='x'>&amp;</b>"]


def test_names_and_log_text_reach_the_html_escaped(cli, tmp_path):
    """Real imports through the CLI: a target's notes (config), a parameter value (--set, in the job's
    label), a log's unreadable lines, and a log file name (in a failed job's error); then `report` and
    `compare`. The HTML holds no tag or attribute the renderer did not write itself."""
    import html.parser

    (tmp_path / "harness.toml").write_text(f"[targets.box]\nnotes = {json.dumps(PAYLOADS[0])}\n")
    good = tmp_path / "good.log"
    good.write_text(f"{PAYLOADS[1]}\nEpoch 1/2\n10/10 - 1s - 100ms/step - loss: 0.5 - accuracy: 0.8\n"
                    "Epoch 2/2\n10/10 - 1s - 100ms/step - loss: 0.4 - accuracy: 0.9\n")
    bad = tmp_path / (PAYLOADS[2].replace("/", "_") + ".log")
    bad.write_text(PAYLOADS[0] + "\n")
    sets = ["--set", f"dataset={PAYLOADS[1]}[/][bold]"]  # HTML, and rich markup for the terminal tables
    assert cli("import", "keras-log", str(good), "--target", "box", "--job", "transfer", *sets).code == 0
    assert cli("import", "keras-log", str(bad), "--target", "other", "--job", "transfer", *sets).code == 1
    runs = sorted((tmp_path / "reports" / "runs").iterdir())
    assert cli("report", runs[0].name).code == 0
    assert cli("compare", "--runs", runs[0].name, runs[1].name, "--force", "--out", str(tmp_path / "cmp")).code == 0
    pages = [runs[0] / "report.html", tmp_path / "cmp" / "report.html"]

    class Collect(html.parser.HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.attributes, self.scripts = set(), set(), 0

        def handle_starttag(self, tag, attrs):
            self.tags.add(tag)
            self.attributes.update(name for name, _ in attrs)
            self.scripts += tag == "script"

    for page in pages:
        text = page.read_text()
        parsed = Collect()
        parsed.feed(text)
        assert parsed.tags <= {"html", "head", "meta", "title", "style", "script", "body", "h1", "h2", "h3", "table",
                               "thead", "tbody", "tr", "th", "td", "ul", "li", "p", "b", "code", "figure", "img",
                               "figcaption"}, parsed.tags
        assert not any(a.startswith("on") for a in parsed.attributes), parsed.attributes
        assert parsed.scripts == 1
        for payload in PAYLOADS:
            assert payload not in text, (page, text[max(0, text.find(payload) - 300):text.find(payload) + 100])
        assert "&lt;script&gt;" in text  # the notes are there, escaped
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages[0].read_text()  # the label, escaped
    assert Path(tmp_path / "cmp" / "report.md").exists()
