"""The typed core of the results store: a run's manifest (run.json), its plan entries, and a job's
result (result.json), each read with `from_json` and written with `to_json`.

The JSON is what the harness has always written (the same keys; the store dumps with sort_keys):
a key missing from a hand-made file reads as its field's default, a key this model does not know
is kept in `extra` and written back unchanged, and a value of the wrong type is a ValueError naming
the key (the store skips such a file with a warning). `from_json` takes data of SCHEMA_VERSION
only: older files are brought up to it by harness.migrations first.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, Union

if TYPE_CHECKING:
    from .plan import JobSpec

SCHEMA_VERSION = 2  # of run.json and result.json; each bump adds a step to harness.migrations
RUN_FILE = "run.json"
RESULT_FILE = "result.json"

# metadata of a field whose key is left out of the JSON while its value is None (as it always was)
OPTIONAL = {"optional": True}


R = TypeVar("R", bound="Record")


def _optional() -> Any:
    return dataclasses.field(default=None, metadata=OPTIONAL)


class JobStatus(str, enum.Enum):
    """How a job ended: the one list of job statuses (result.json `status`)."""

    OK = "ok"
    FAILED = "failed"
    OOM = "oom"
    TIMEOUT = "timeout"
    INTERRUPTED = "interrupted"
    SKIPPED = "skipped"

    def __str__(self) -> str:
        return self.value


def plain_name(name: Any) -> bool:
    """A job folder is one name inside its run: never a path out of it."""
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name \
        and "\0" not in name


_KINDS: dict[type, dict[str, tuple[type, ...] | None]] = {}


def _field_types(cls: type) -> dict[str, tuple[type, ...] | None]:
    """Per field, the types its value may have (None: anything), from the annotations."""
    if cls in _KINDS:
        return _KINDS[cls]
    kinds = _KINDS[cls] = {}
    for name, hint in typing.get_type_hints(cls).items():
        if hint is Any or typing.get_origin(hint) is ClassVar:
            kinds[name] = None
            continue
        members = typing.get_args(hint) if typing.get_origin(hint) in (Union, types.UnionType) else (hint,)
        allowed = tuple(typing.get_origin(m) or m for m in members)
        kinds[name] = allowed + ((int,) if float in allowed else ())  # 3 is a fine number of seconds
    return kinds


@dataclasses.dataclass(kw_only=True)
class Record:
    """What the records below share: the type check, `to_json` and `from_json`."""

    extra: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)  # keys this model does not know
    required: ClassVar[tuple[str, ...]] = ()  # keys a file must have

    def __post_init__(self) -> None:
        kinds = _field_types(type(self))
        for field in dataclasses.fields(self):
            value, allowed = getattr(self, field.name), kinds[field.name]
            if allowed is not None and not isinstance(value, allowed):
                names = " or ".join(sorted(kind.__name__ for kind in allowed if kind is not type(None))) + (
                    " or null" if type(None) in allowed else "")
                raise ValueError(f"{field.name}: expected {names}, got {type(value).__name__} {value!r:.60}")

    def to_json(self) -> dict[str, Any]:
        """The JSON object (nested dicts and lists are shared with this record, not copied)."""
        data = dict(self.extra)
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name == "extra" or (value is None and field.metadata.get("optional")):
                continue
            if isinstance(value, enum.Enum):
                value = value.value
            elif isinstance(value, list) and value and isinstance(value[0], Record):
                value = [item.to_json() for item in value]
            data[field.name] = value
        return data

    @classmethod
    def from_json(cls: type[R], data: Any) -> R:
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, got {type(data).__name__}")
        missing = [name for name in cls.required if name not in data]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        names = {field.name for field in dataclasses.fields(cls)} - {"extra"}
        known = {key: value for key, value in data.items() if key in names}
        return cls(**known, extra={key: value for key, value in data.items() if key not in names})


@dataclasses.dataclass(kw_only=True)
class Versioned(Record):
    """A whole file: it says which schema it follows."""

    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.schema_version != SCHEMA_VERSION:
            raise ValueError(f"schema_version {self.schema_version}: this model reads {SCHEMA_VERSION} "
                             "(older files go through harness.migrations first)")


@dataclasses.dataclass(kw_only=True)
class JobEntry(Record):
    """One planned job in run.json: its folder, and the parameters `--resume` re-runs it with."""

    dir: str
    key: str | None = None
    job: str | None = None
    label: str | None = None
    repeat: int = 1
    params: dict[str, Any] | None = _optional()  # always written since schema 2 (migrations.migrate_1_to_2)
    varied: dict[str, Any] | None = _optional()
    power: dict[str, Any] | None = _optional()  # power_mode/jetson_clocks of a power sweep
    required: ClassVar[tuple[str, ...]] = ("dir",)

    @classmethod
    def of(cls, spec: JobSpec) -> JobEntry:
        return cls(key=spec.key, dir=spec.dir_name, job=spec.job, label=spec.label, repeat=spec.repeat,
                   params=spec.params, varied=spec.varied, power=spec.power or None)


def _entry(index: int, entry: Any) -> JobEntry:
    if isinstance(entry, JobEntry):
        return entry
    try:
        return JobEntry.from_json(entry)
    except ValueError as error:
        raise ValueError(f"jobs[{index}]: {error}") from None


@dataclasses.dataclass(kw_only=True)
class RunManifest(Versioned):
    """run.json: where and how a run ran, its plan, and how far it got (kept current as jobs end)."""

    run_id: str = ""  # given by RunWriter when it makes the run folder
    target: dict[str, Any]  # the target's settings (config.Target.public()), or an import's name
    jobs: list[JobEntry] = dataclasses.field(default_factory=list)
    status: str = "incomplete"  # running, complete or interrupted as written
    created: str | None = None
    finished: str | None = None
    pid: int | None = None  # the harness process: a `running` run whose pid is gone reads `incomplete`
    runner: dict[str, Any] = dataclasses.field(default_factory=dict)  # engine, image and device facts
    emulated: bool = False
    suite: dict[str, Any] = dataclasses.field(default_factory=dict)  # name, description, source
    host: dict[str, Any] = dataclasses.field(default_factory=dict)
    harness_version: str | None = None
    jobs_version: str | None = _optional()  # not written by imports
    imported: dict[str, Any] | None = _optional()  # an imported log: its format, file and parse counts
    resumed: list[dict[str, Any]] | None = _optional()  # one entry per `harness run --resume`
    adaptive: dict[str, Any] | None = _optional()  # --repeat auto: its rule and each round's decision
    power: dict[str, Any] | None = _optional()  # the device's power state before the run, and its restoring
    required: ClassVar[tuple[str, ...]] = ("run_id", "target")

    def __post_init__(self) -> None:
        if isinstance(self.jobs, list):
            self.jobs = [_entry(index, entry) for index, entry in enumerate(self.jobs)]
        super().__post_init__()
        if not isinstance(self.target.get("name"), str):
            raise ValueError("target: no name")


@dataclasses.dataclass(kw_only=True)
class JobResult(Versioned):
    """result.json: how one job ended and what it measured."""

    key: str
    job: str
    status: JobStatus
    label: str = ""
    repeat: int = 1
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    emulated: bool = False
    error: str | None = None
    exit_code: int | None = None
    started: str | None = None  # None: the harness skipped it before it started
    finished: str | None = None
    duration_s: float | None = None
    notes: list[str] = dataclasses.field(default_factory=list)
    metrics: dict[str, Any] = dataclasses.field(default_factory=dict)
    telemetry: dict[str, Any] | None = _optional()  # sources, device facts, pre-flight
    unavailable: dict[str, str] | None = _optional()  # metric -> why it was not measured
    power: dict[str, Any] | None = _optional()  # requested and applied power state of a power sweep
    required: ClassVar[tuple[str, ...]] = ("key", "job", "status")

    def __post_init__(self) -> None:
        try:
            self.status = JobStatus(self.status)
        except ValueError:
            raise ValueError(f"status: unknown job status {self.status!r} "
                             f"(known: {', '.join(s.value for s in JobStatus)})") from None
        super().__post_init__()
