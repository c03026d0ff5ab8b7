"""The README is the newcomer's path and docs/ the reference: every relative link in them must lead
to a file (and heading) that exists, and the README must stay short enough to read."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
README_MAX_LINES = 250
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*(```|~~~)")


def prose(text: str) -> list[str]:
    """The lines outside fenced code blocks (a link in a code sample is not a link)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, -1, -2 on repeats."""
    seen: dict[str, int] = {}
    for line in prose(path.read_text()):
        if not line.startswith("#"):
            continue
        slug = re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        count = seen.get(slug, -1) + 1
        seen[slug] = count
        if count:
            seen[f"{slug}-{count}"] = 0
    return set(seen)


def broken_links(page: Path) -> list[str]:
    """Each relative link of `page` whose file, or heading in a Markdown file, does not exist."""
    broken = []
    for line in prose(page.read_text()):
        for target in LINK.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
                continue
            name, _, anchor = target.partition("#")
            path = (page.parent / name).resolve() if name else page
            if not path.exists():
                broken.append(f"{target} (no such file)")
            elif anchor and path.suffix == ".md" and anchor not in anchors(path):
                broken.append(f"{target} (no such heading)")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPO)))
def test_every_relative_link_leads_to_a_file_that_exists(page):
    assert broken_links(page) == []


def test_the_readme_is_under_250_lines():
    assert len((REPO / "README.md").read_text().splitlines()) < README_MAX_LINES


def test_the_readme_links_every_reference_page():
    linked = {Path(target.partition("#")[0]).name for line in prose((REPO / "README.md").read_text())
              for target in LINK.findall(line)}
    assert sorted(page.name for page in PAGES[1:] if page.name not in linked) == []


def test_the_check_finds_a_missing_file_and_a_missing_heading(tmp_path):
    (tmp_path / "other.md").write_text("# Other page\n\n## A `code` heading (with punctuation)\n")
    page = tmp_path / "page.md"
    page.write_text("# Page\n[ok](other.md#a-code-heading-with-punctuation) [self](#page) [web](https://example.org)\n"
                    "[gone](missing.md) [bad anchor](other.md#nope)\n```\n[in code](ignored.md)\n```\n")
    assert broken_links(page) == ["missing.md (no such file)", "other.md#nope (no such heading)"]



def sections(page: str) -> dict[str, str]:
    """The text under each `## `harness COMMAND`` heading of docs/cli.md, keyed by the command."""
    parts = re.split(r"^## `(harness [a-z -]+?)`.*$", page, flags=re.M)
    return {"harness": parts[0], **dict(zip(parts[1::2], parts[2::2]))}


def own_options(parser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings
            if option.startswith("--") and option != "--help"}


def parsers(parser) -> list:
    """The parser and every subparser below it."""
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += parsers(sub)
    return found


def undocumented(parser, page: str, command: str = "harness", everywhere: set[str] | None = None) -> list[str]:
    """Each option missing from its command's section (a subcommand without its own section is
    looked up in its parent's, as `export tensorboard` in `export`), and each command without one.
    An option every (sub)command takes may be documented once, in the top section."""
    text, missing = sections(page), []
    if everywhere is None:
        everywhere = set.intersection(*(own_options(p) for p in parsers(parser)))
        missing += [f"harness {option} (every command)" for option in sorted(everywhere)
                    if option not in text["harness"]]
    options = sorted(own_options(parser) - everywhere)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                missing += undocumented(sub, page, f"{command} {name}", everywhere)
    if not options:  # only subcommands (harness import): they have the sections
        return missing
    names = [command] + ([command.rsplit(" ", 1)[0]] if command.count(" ") > 1 else [])
    where = next((text[name] for name in names if name in text), None)
    if where is None:
        return missing + [f"{command}: no section"]
    return missing + [f"{command} {option}" for option in options if option not in where]


def test_cli_md_documents_every_command_and_option_in_its_section():
    from harness.cli import build_parser
    assert undocumented(build_parser(), (REPO / "docs" / "cli.md").read_text()) == []


def test_the_cli_check_finds_an_undocumented_option():
    parser = argparse.ArgumentParser(prog="harness")
    parser.add_argument("--config")
    commands = parser.add_subparsers()
    commands.add_parser("run").add_argument("--fast")
    commands.add_parser("gc").add_argument("--target")
    page = "# cli\n--config --target\n## `harness run`\n--slow\n"
    assert undocumented(parser, page) == ["harness run --fast", "harness gc: no section"]
    for each in (parser, *parsers(parser)[1:]):
        each.add_argument("--verbose")
    assert undocumented(parser, page)[0] == "harness --verbose (every command)"
    assert "harness run --verbose" not in undocumented(parser, page + "--verbose\n")
