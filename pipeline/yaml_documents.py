"""Reviewed YAML documents (rules, sharing agreements): read safely, and every problem found
in them located by file and line, so that a reviewer sees them all at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import yaml

from pipeline.errors import ScreeningError


@dataclass(frozen=True, slots=True)
class Problem:
    source: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.reason}"


class DocumentsRefused(ScreeningError):
    """A set of documents with problems; each names its file and line."""

    what: ClassVar[str] = "documents"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"{self.what} refused, {count}:\n" + "\n".join(map(str, problems)))


def read_text(path: Path, problems: list[Problem]) -> str | None:
    """The file as UTF-8 text, or None with the problem recorded: unreadable, or the line of
    its first byte that is not UTF-8 (a list saved as Latin-1, say)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(str(path), None, f"cannot read: {exc.strerror or exc}"))
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        reason = f"not UTF-8 text: byte 0x{data[exc.start]:02x}; save the file as UTF-8"
        problems.append(Problem(str(path), line, reason))
        return None


def read_mapping(
    path: Path, problems: list[Problem], not_a_mapping: str
) -> tuple[Mapping[str, Any], yaml.Node] | None:
    """The file's mapping and its YAML node (for lines), or None with the problem recorded:
    unreadable, not YAML, aliases that expand too far, or ``not_a_mapping`` at the top."""
    text = read_text(path, problems)
    if text is None:
        return None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        expansion = alias_expansion(node)
        if expansion is not None:
            problems.append(Problem(str(path), *expansion))
            return None
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        problems.append(Problem(str(path), line, f"not valid YAML: {reason}"))
        return None
    if not isinstance(document, dict) or node is None:
        problems.append(Problem(str(path), 1, not_a_mapping))
        return None
    return document, node


# Anchors and aliases may share a fragment, but a file whose aliases expand into more nodes
# than this (a "billion laughs") would take the loader hours and gigabytes: it is refused.
MAX_EXPANDED_NODES = 100_000


class _AliasLoop(Exception):
    pass


def alias_expansion(root: yaml.Node | None) -> tuple[int, str] | None:
    """The line and reason if aliases make the document huge or make it contain itself."""
    if not isinstance(root, yaml.MappingNode):
        return None
    sizes: dict[int, int] = {}
    for key, value in root.value:
        try:
            size = _expanded_size(value, sizes, set())
        except _AliasLoop:
            return key.start_mark.line + 1, f"`{key.value}` contains itself through a YAML alias"
        if size > MAX_EXPANDED_NODES:
            return (
                key.start_mark.line + 1,
                f"`{key.value}` expands through YAML aliases to more than "
                f"{MAX_EXPANDED_NODES:,} values",
            )
    return None


def _expanded_size(node: yaml.Node, sizes: dict[int, int], open_nodes: set[int]) -> int:
    """Nodes in ``node`` once every alias is copied out; each shared node is counted once."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    if id(node) in open_nodes:
        raise _AliasLoop
    open_nodes.add(id(node))
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, sizes, open_nodes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            size += _expanded_size(key, sizes, open_nodes)
            size += _expanded_size(value, sizes, open_nodes)
    open_nodes.discard(id(node))
    sizes[id(node)] = size
    return size


def checked_date(
    document: Mapping[str, Any], key: str, problem: Any, required: bool = False
) -> date | None:
    value = document.get(key)
    if value is None:
        if required:
            problem([key], f"`{key}` is a date (YYYY-MM-DD)")
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    problem([key], f"`{key}` is a date (YYYY-MM-DD); {value!r} is not")
    return None


def line_of(node: yaml.Node | None, path: list[str | int]) -> int | None:
    """The line of the deepest YAML node that ``path`` reaches (1-based)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for segment in path:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode) and isinstance(segment, str):
            for key, value in node.value:
                if key.value == segment:
                    child, line = value, key.start_mark.line + 1
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(segment, int)
            and segment < len(node.value)
        ):
            child = node.value[segment]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line
