"""Jupyter notebooks -> the console text their code cells printed, for the Keras-log importer.

nbformat reads every notebook version (v3 and v4 are converted to v4); of each code cell, the
`stream` outputs (stdout and stderr, as Keras prints to stdout) are joined in cell order. Their
`\\r`, `\\b` and ANSI codes are left for keras_log.render, as a terminal would see them.
"""

from __future__ import annotations

import dataclasses
import json
import warnings

import nbformat

from ..errors import UsageError


@dataclasses.dataclass
class CellText:
    index: int                     # 1-based position among all the notebook's cells
    execution_count: int | None    # the `In [n]` Jupyter showed
    text: str

    @property
    def label(self) -> str:
        return f"cell {self.index}" + (f" (In [{self.execution_count}])" if self.execution_count else "")


def looks_like_notebook(raw: bytes, name: str) -> bool:
    return name.endswith(".ipynb") or raw.lstrip()[:1] == b"{" and b'"cells"' in raw[:65536]


def stream_texts(raw: str, name: str) -> list[CellText]:
    """Each code cell's stream output; a file that is not a notebook is one UsageError line."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbformat warns about missing ids, old minor versions
            notebook = nbformat.reads(raw, as_version=4)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, json.JSONDecodeError) as error:
        raise UsageError(f"{name} is not a readable Jupyter notebook ({type(error).__name__}: "
                         f"{str(error).splitlines()[0][:160] if str(error) else 'no detail'})") from None
    cells = []
    for index, cell in enumerate(notebook.get("cells", []), start=1):
        if cell.get("cell_type") != "code":
            continue
        parts = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                text = output.get("text", "")
                parts.append("".join(text) if isinstance(text, list) else str(text))
        if parts:
            count = cell.get("execution_count")
            cells.append(CellText(index, count if isinstance(count, int) else None, "".join(parts)))
    return cells
