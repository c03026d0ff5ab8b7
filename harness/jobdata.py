"""A stored job's events as arrays: the steps compare and the plots need, read fast.

events.jsonl of a 100,000-step job is ~10 MB of JSON lines; json.loads per line costs ~0.3 s, a
Python regex over the file ~0.4 s. Instead (docs/performance.md):
- the file is split into lines by Arrow's CSV reader, the step lines (the fixed format written by
  benchmarks/events.py) are checked against that format with one vectorised regex, their keys,
  punctuation and decimal points dropped with one bytes.translate, and the numbers parsed as integers
  by Arrow's CSV reader (t and seconds: N / 1e6, the float json.loads gives); every other line (start,
  dataset, epoch, end, a step in another layout) with json.loads, in file order;
- the arrays are cached as Parquet (`steps.parquet`), stamped with a cache version and the events file's
  size and mtime; a stamp that differs, an unreadable file, or an old `steps.npz` is never trusted: the
  events are parsed again. `run` and `import` write the cache into the job's folder when the job ends;
  read commands (compare, report, the pandas API) only read it there, and cache what they had to parse in
  the user's cache folder (`$XDG_CACHE_HOME/harness/steps`, default ~/.cache/harness/steps), never in
  the run folder. A cached job's step columns are read from the file when first used, and the cache holds
  the crc32 of its `seconds` (compare's bootstrap seed), so a warm compare reads only what it needs;
- statistics computed from cached jobs (compare's step statistics: a bootstrap over the steps) are kept,
  keyed by the jobs' stamps, the seed and the statistics' version, in `$XDG_CACHE_HOME/harness/statistics`
  (`recall` / `remember`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from harness_jobs.events import EVENTS_FILE

CACHE_FILE = "steps.parquet"
LEGACY_CACHE_FILE = "steps.npz"  # harness before the Parquet cache: ignored, removed when run rewrites the cache
CACHE_VERSION = 3  # 3: the seconds column's crc32 in the metadata
_META_KEY = b"harness.steps"
STEP_FIELDS = ("t", "epoch", "step", "seconds", "batch_size")


@dataclasses.dataclass
class JobData:
    """Non-step events as dicts and the steps as parallel float arrays (t, epoch, step, seconds,
    batch_size), in the order they were written."""

    events: list[dict[str, Any]]
    steps: Mapping[str, np.ndarray]
    source: dict[str, Any] | None = None  # the stamp of the events file they came from (statistics' memo key)
    seconds_crc: int | None = None        # zlib.crc32 of steps["seconds"]'s float64 bytes, where the cache holds it

    def crc32_of_seconds(self, start: int) -> int:
        """zlib.crc32(steps["seconds"] bytes, start), from the cached checksum when there is one (the
        column is not read): crc32 is affine, so crc(B, s) = crc(B) ^ crc(zeros, s) ^ crc(zeros)."""
        if self.seconds_crc is None:
            return zlib.crc32(np.ascontiguousarray(self.steps["seconds"]).tobytes(), start)
        zeros = bytes(8 * _step_count(self.steps))
        return self.seconds_crc ^ zlib.crc32(zeros, start) ^ zlib.crc32(zeros)

    def first(self, kind: str) -> dict[str, Any] | None:
        return next((e for e in self.events if e.get("event") == kind), None)

    @property
    def epochs(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == "epoch"]


def empty() -> JobData:
    return JobData([], {name: np.zeros(0) for name in STEP_FIELDS})


def from_events(events: Sequence[dict[str, Any]]) -> JobData:
    """JobData from parsed events (what a runner holds when the job ends)."""
    steps = [e for e in events if e.get("event") == "step" and all(_is_number(e.get(name)) for name in STEP_FIELDS)]
    arrays = {name: np.fromiter((float(s.get(name, np.nan)) for s in steps), float, len(steps))
              for name in STEP_FIELDS}
    return JobData([e for e in events if e.get("event") != "step"], arrays)  # malformed steps dropped


def parse(text: str) -> JobData:
    """Parse events.jsonl text; lines that are not JSON objects are skipped."""
    return parse_bytes(text.encode(errors="replace"))


_INT = r"-?(?:0|[1-9][0-9]*)"  # what %d writes, in JSON's grammar (no leading zeros)
_MICRO = _INT + r"\.[0-9]{6}"   # what %.6f writes; any other number (1.5, 1e-05, NaN) goes to json.loads
_STRICT_STEP = (r'^\{"v":1,"event":"step","t":%s,"epoch":%s,"step":%s,"seconds":%s,"batch_size":%s\}$'
                % (_MICRO, _INT, _INT, _MICRO, _INT))
_MICROS = ("t", "seconds")
_KEYS_OUT = (bytes.maketrans(b"}", b"\n"), b'{"vntsapochdizb_:e.')  # a checked line -> "1,,t,epoch,step,seconds,bs"
_COLUMNS = ["v", "event", *STEP_FIELDS]
# use_threads=False: compare already reads on a thread per core (Arrow's own pool would oversubscribe them)
_LINES = dict(read_options=pcsv.ReadOptions(column_names=["line"], block_size=1 << 24, use_threads=False),
              parse_options=pcsv.ParseOptions(delimiter="\x1f", quote_char=False, escape_char=False),
              convert_options=pcsv.ConvertOptions(column_types={"line": pa.string()}))
_NUMBERS = dict(read_options=pcsv.ReadOptions(column_names=_COLUMNS, block_size=1 << 24, use_threads=False),
                parse_options=pcsv.ParseOptions(quote_char=False, escape_char=False),
                convert_options=pcsv.ConvertOptions(column_types={name: pa.int64() for name in STEP_FIELDS},
                                                    include_columns=list(STEP_FIELDS)))


def parse_bytes(raw: bytes) -> JobData:
    """Parse events.jsonl bytes: the vectorised path, with json.loads for every line it does not
    take (see _parse_vectorised); the general path when Arrow cannot read the file at all."""
    try:
        return _parse_vectorised(raw)
    except (pa.ArrowInvalid, UnicodeDecodeError, ValueError):
        pass  # e.g. bytes that are not UTF-8: the general path replaces them
    text = raw.decode(errors="replace")
    return from_events([e for e in map(_loads, text.splitlines()) if e is not None])


def _parse_vectorised(raw: bytes) -> JobData:
    """Lines in the emitter's exact step format: vectorised; every other line (other events, a step
    in another layout, -0.000000, a number past 2**53): json.loads, kept in file order. Equal to
    json.loads line by line (tests/unit/test_fast_reader.py)."""
    if not raw:
        return empty()
    lines = pcsv.read_csv(pa.BufferReader(raw), **_LINES)["line"].combine_chunks()
    exact = pc.match_substring_regex(lines, _STRICT_STEP)
    fast, arrays = np.flatnonzero(exact.to_numpy(zero_copy_only=False)), _numbers(lines.filter(exact))
    kept = arrays.pop("_kept")
    slow = np.sort(np.concatenate([np.flatnonzero(pc.invert(exact).to_numpy(zero_copy_only=False)), fast[~kept]]))
    fast, arrays = fast[kept], {name: values[kept] for name, values in arrays.items()}
    events: list[tuple[int, dict[str, Any]]] = []  # (line number, event)
    slow_steps: list[tuple[int, dict[str, Any]]] = []  # json.loads, split further where str.splitlines would (\x0b, \x1c, ...)
    for number, line in zip(slow.tolist(), lines.take(slow).to_pylist()):
        for event in filter(None, map(_loads, line.splitlines())):
            (slow_steps if event.get("event") == "step" else events).append((number, event))
    if slow_steps:  # steps json.loads read: merged with the fast ones in file order
        extra = from_events([event for _, event in slow_steps]).steps
        numbers = [number for (number, event) in slow_steps if _is_step(event)]
        order = np.argsort(np.concatenate([fast, numbers]), kind="stable")
        arrays = {name: np.concatenate([arrays[name], extra[name]])[order] for name in STEP_FIELDS}
    return JobData([event for _, event in events], arrays)


def _numbers(steps: pa.Array) -> dict[str, np.ndarray]:
    """The five numbers of lines known to match _STRICT_STEP: keys, punctuation and the decimal point
    dropped by one bytes.translate, the integers parsed by Arrow's CSV reader; t and seconds (always 6
    decimals) are N / 1e6, correctly rounded like json.loads while |N| < 2**53. `_kept`: False where
    that does not hold or the text is -0.000000 (json.loads: -0.0), for json.loads to read."""
    if len(steps) == 0:
        return {**empty().steps, "_kept": np.zeros(0, bool)}
    offsets = np.frombuffer(steps.buffers()[1], dtype=np.int32, count=len(steps) + 1, offset=steps.offset * 4)
    body = pa.py_buffer(steps.buffers()[2])[int(offsets[0]):int(offsets[-1])].to_pybytes().translate(*_KEYS_OUT)
    table = pcsv.read_csv(pa.BufferReader(body), **_NUMBERS)
    ints = {name: table[name].to_numpy() for name in STEP_FIELDS}
    kept = np.ones(len(steps), bool)
    for name in _MICROS:
        kept &= np.abs(ints[name]) < 2 ** 53
        zero = np.flatnonzero(ints[name] == 0)
        if zero.size:
            kept[zero[pc.match_substring(steps.take(zero), f'"{name}":-').to_numpy(zero_copy_only=False)]] = False
    arrays = {name: ints[name] / 1e6 if name in _MICROS else ints[name].astype(float) for name in STEP_FIELDS}
    return {**arrays, "_kept": kept}


class _CachedColumns(Mapping[str, np.ndarray]):
    """The step columns of a cache file, each read when first used (a warm compare needs one). Holds
    the path, not an open file: a compare over thousands of jobs keeps no file descriptors."""

    def __init__(self, path: Path, rows: int) -> None:
        self._path = path
        self.rows = rows
        self._read: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._read:
            if name not in STEP_FIELDS:
                raise KeyError(name)
            self._read[name] = pq.read_table(self._path, columns=[name])[name].to_numpy()
        return self._read[name]

    def __iter__(self) -> Iterator[str]:
        return iter(STEP_FIELDS)

    def __len__(self) -> int:
        return len(STEP_FIELDS)


def _step_count(steps: Mapping[str, np.ndarray]) -> int:
    return steps.rows if isinstance(steps, _CachedColumns) else len(steps["seconds"])


def _is_step(event: dict[str, Any]) -> bool:
    return all(_is_number(event.get(name)) for name in STEP_FIELDS)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _loads(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):  # RecursionError: a line of 100,000 '[' in a damaged file
        return None
    return value if isinstance(value, dict) else None


def _stamp(path: Path) -> dict[str, Any]:
    info = path.stat()
    return {"version": CACHE_VERSION, "size": info.st_size, "mtime_ns": info.st_mtime_ns,
            "source": str(path.resolve())}


def user_cache_path(job_dir: Path) -> Path:
    """Where read commands cache a job's parsed steps: outside the run folder, one file per job folder."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "harness" / "steps"
    digest = hashlib.sha1(str((job_dir / EVENTS_FILE).resolve()).encode()).hexdigest()[:24]
    return root / f"{digest}.parquet"


def _write(path: Path, data: JobData, stamp: dict[str, Any]) -> None:
    """Parquet file of the step columns, the stamp and the other events in its metadata; atomic.
    Silently skipped where not writable (a read-only store, a full disk): the cache is only a cache."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        table = pa.table({name: np.asarray(data.steps[name], dtype=float) for name in STEP_FIELDS})
        crc = zlib.crc32(table["seconds"].to_numpy().tobytes())
        meta = json.dumps({**stamp, "seconds_crc": crc, "events": data.events}, default=str)
        table = table.replace_schema_metadata({_META_KEY: meta.encode()})
        tmp = path.parent / f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
        pq.write_table(table, tmp, compression="none", use_dictionary=False)  # float columns: faster to write and read
        os.replace(tmp, path)
    except (OSError, pa.ArrowException, ValueError):
        try:
            tmp.unlink()
        except (OSError, UnboundLocalError):
            pass


def _read(path: Path, stamp: dict[str, Any]) -> JobData | None:
    """The cached JobData when the file exists and its stamp is exactly `stamp`, else None."""
    try:
        with pq.ParquetFile(path) as handle:
            schema, rows = handle.schema_arrow, handle.metadata.num_rows
        meta = json.loads((schema.metadata or {}).get(_META_KEY, b"null"))
        if not isinstance(meta, dict) or any(meta.get(key) != value for key, value in stamp.items()):
            return None
        if schema.names != list(STEP_FIELDS) or not isinstance(meta["seconds_crc"], int):
            return None
        return JobData(list(meta["events"]), _CachedColumns(path, rows), stamp, meta["seconds_crc"])
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
        return None  # absent, unreadable, another layout: parse again


def write_cache(job_dir: Path, data: JobData) -> None:
    """Store `data` as the cache of job_dir/events.jsonl in the job's folder (run and import: the
    writers of that folder); an old steps.npz there is removed."""
    source = job_dir / EVENTS_FILE
    try:
        stamp = _stamp(source)
    except OSError:
        return
    _write(job_dir / CACHE_FILE, data, stamp)
    data.source = stamp
    try:
        (job_dir / LEGACY_CACHE_FILE).unlink()
    except OSError:
        pass


def store_events(job_dir: Path, events: Sequence[dict[str, Any]]) -> JobData:
    """When a job ends, from the events the runner already holds (parsed from the lines it wrote to
    job_dir/events.jsonl, which must be complete): cache them in its folder without reading the file."""
    data = from_events(events)
    write_cache(job_dir, data)
    return data


def load(job_dir: Path) -> JobData:
    """A job's events from a current cache (its folder's, else the user's), else parsed and cached in
    the user's cache folder; never written into the run folder."""
    source = job_dir / EVENTS_FILE
    try:
        stamp = _stamp(source)
    except OSError:
        return empty()
    for cache in (job_dir / CACHE_FILE, user_cache_path(job_dir)):
        data = _read(cache, stamp)
        if data is not None:
            return data
    data = parse_bytes(source.read_bytes())
    _write(user_cache_path(job_dir), data, stamp)
    data.source = stamp
    return data


def _memo_path(key: dict[str, Any]) -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "harness" / "statistics"
    return root / f"{hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]}.json"


def memo_key(datas: Sequence[JobData], **inputs: Any) -> dict[str, Any] | None:
    """The key of a result computed from these jobs' stored steps and `inputs` (JSON values: a seed,
    a version), or None when a job was not read from a stored events file (nothing to key it by)."""
    if any(data.source is None for data in datas):
        return None
    return {"sources": [data.source for data in datas], **inputs}


def recall(key: dict[str, Any] | None) -> Any:
    """The value remembered under exactly `key`, or None (no key, not remembered, unreadable)."""
    if key is None:
        return None
    try:
        memo = json.loads(_memo_path(key).read_text())
        return memo["value"] if memo["key"] == json.loads(json.dumps(key)) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remember(key: dict[str, Any] | None, value: Any) -> None:
    """Keep `value` (JSON: floats round-trip exactly) under `key` in the user's cache; atomic,
    skipped where not writable."""
    if key is None:
        return
    path = _memo_path(key)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({"key": key, "value": value}))
        os.replace(tmp, path)
    except (OSError, ValueError, TypeError):
        try:
            tmp.unlink()
        except OSError:
            pass
