"""docs/architecture.md's module map and its rules, checked against the imports the code has: the
page stays true as modules move, and a forbidden import fails here rather than in review."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "harness"
PAGE = ROOT / "docs" / "architecture.md"
UNLISTED = {"__init__", "__main__", "cli"}  # the package, its entry point, and the row that imports everything
READ_SIDE = ("compare", "report", "frames", "export")
RUN_SIDE = ("runners", "execute", "telemetry.psutil_", "telemetry.docker_stats", "telemetry.device",
            "telemetry.session", "telemetry.sidecar")
IMPORT_NOTHING = ("stats", "errors", "lock", "peaks", "registry", "model", "telemetry.base")
JOB_PACKAGE = "harness_jobs"


def module_name(path: Path) -> str:
    """harness/telemetry/base.py -> telemetry.base; harness/report/__init__.py -> report.__init__."""
    return ".".join(path.relative_to(HARNESS).with_suffix("").parts)


def imports(path: Path) -> tuple[set[str], set[str], set[str]]:
    """(harness modules imported at run time, those imported only for type hints, job-package modules)."""
    tree = ast.parse(path.read_text())
    package = list(path.relative_to(HARNESS).parts[:-1])
    typing_only = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(block.test) for node in ast.walk(block)}
    runtime: set[str] = set()
    hints: set[str] = set()
    jobs: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - node.level + 1] if node.level > 1 else package
            prefix = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names = [prefix] if node.module else [f"{prefix}.{alias.name}".lstrip(".") for alias in node.names]
            (hints if id(node) in typing_only else runtime).update(names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == JOB_PACKAGE:
            jobs.add(node.module or "")
        elif isinstance(node, ast.Import):
            jobs.update(alias.name for alias in node.names if alias.name.split(".")[0] == JOB_PACKAGE)
    return runtime, hints, jobs


def sources() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(HARNESS.rglob("*.py"))}


def map_rows() -> list[tuple[list[str], set[str], set[str]]]:
    """The module map: (modules of the row, imports listed, imports listed as type hints only)."""
    rows = []
    for line in PAGE.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`") or cells[0] == "`cli.py`":
            continue
        named = re.findall(r"`([^`]+)`", cells[0])
        folder = named[0].rpartition("/")[0]
        modules = [(name.rstrip("/").removesuffix(".py").replace("/", ".") if "/" in name or not folder
                    else f"{folder}.{name.removesuffix('.py')}") for name in named]
        listed, _, hinted = cells[2].partition("(")
        hint_names = re.sub(r"for type hints only\)?", "", hinted)
        rows.append((modules, {n.strip() for n in listed.split(",") if n.strip() not in ("", "-")},
                     {n.strip() for n in hint_names.split(",") if n.strip()}))
    return rows


def covered(name: str, by: set[str]) -> bool:
    return any(name == entry or name.startswith(entry + ".") for entry in by)


def row_of(module: str, rows) -> tuple[list[str], set[str], set[str]] | None:
    return next((row for row in rows if covered(module, set(row[0]))), None)


def test_every_module_has_a_row_in_the_map():
    rows = map_rows()
    missing = [name for name, path in sources().items() if name not in UNLISTED
               and row_of(name, rows) is None and (path.name != "__init__.py" or any(imports(path)))]
    assert not missing, f"modules missing from docs/architecture.md's module map: {missing}"


def outside(module: str, names: set[str], row_modules: list[str]) -> set[str]:
    """Imports of harness modules outside the row's own package or modules (a package's rooms may
    import each other), with `from . import x` of a non-module name reduced to its module."""
    known = sources()
    found = set()
    for name in names:
        while name not in known and f"{name}.__init__" not in known and "." in name:
            name = name.rpartition(".")[0]
        name = name if name in known else f"{name}.__init__"
        if name in known and name and not covered(name, set(row_modules)) and name != module:
            found.add(name)
    return found


@pytest.mark.parametrize("row", map_rows(), ids=lambda row: ",".join(row[0]))
def test_the_map_lists_exactly_what_each_row_imports(row):
    modules, listed, hinted = row
    runtime: set[str] = set()
    hints: set[str] = set()
    for name, path in sources().items():
        if covered(name, set(modules)):
            found, only_hints, _ = imports(path)
            runtime |= outside(name, found, modules)
            hints |= outside(name, only_hints, modules)
    unlisted = {name for name in runtime if not covered(name, listed)}
    stale = {entry for entry in listed if not any(covered(name, {entry}) for name in runtime)}
    assert not unlisted, f"{modules} imports {sorted(unlisted)}, which the map does not list"
    assert not stale, f"the map lists {sorted(stale)} for {modules}, which it no longer imports"
    assert {name for name in hints if not covered(name, listed | hinted)} == set()


def test_the_rules():
    """The page's rules 2, 4 and 5: only the entry point imports cli; the read side never imports
    the run side; report imports compare, never the reverse; the core modules import nothing."""
    for name, path in sources().items():
        runtime, _, _ = imports(path)
        if name != "__main__":
            assert not covered("cli", runtime), f"{name} imports cli"
        if name.split(".")[0] in READ_SIDE:
            assert not {n for n in runtime if any(covered(n, {side}) for side in RUN_SIDE)}, name
        if name.split(".")[0] == "compare":
            assert not covered("report", runtime), name
        if name in IMPORT_NOTHING:
            assert not runtime, f"{name} imports {sorted(runtime)} at run time"


def test_the_harness_takes_only_declarations_and_formats_from_the_job_package():
    """What the page says crosses the boundary: the job registry and parameter checks, the event
    format, the telemetry readers, the CPU model, the datasets' fetchers (prepare) and the version."""
    allowed = {JOB_PACKAGE, *(f"{JOB_PACKAGE}.{name}" for name in ("jobs", "params", "events", "telemetry",
                                                                   "compat", "data", "images", "models"))}
    taken = {name for path in sources().values() for name in imports(path)[2]}
    assert {name for name in taken if not covered(name, allowed)} == set()


def test_every_package_folder_is_installed():
    """pyproject lists the packages by hand (the job package is imported under another name than
    its folder's), so a new package folder missing there would be left out of the install."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {name: Path(folder) for name, folder in setuptools["package-dir"].items()} | {"harness": Path("harness")}
    found = {".".join([name, *init.parent.relative_to(ROOT / folder).parts])
             for name, folder in folders.items() for init in (ROOT / folder).rglob("__init__.py")}
    assert found == set(setuptools["packages"])
