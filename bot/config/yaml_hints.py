"""Where things are in a YAML file, to say config problems in plain language.

Problems name an entry of a list by its name and line ("rule 'foi-request' (line 42)") rather
than by a zero-based position, and a `#channel` written without quotes (which YAML reads as a
comment, leaving the value empty) is pointed out with the fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import yaml

# libyaml when PyYAML was built with it (the wheels are): parsing the shipped rules with the
# pure-Python loader takes about a second, several times over for the hints below.
LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Path = tuple[str | int, ...]


def load(text: str) -> Any:
    """The data in a YAML text (safe types only)."""
    return yaml.load(text, Loader=LOADER)


@lru_cache(maxsize=16)
def _compose(text: str) -> yaml.Node | None:
    """The node tree of a YAML text, parsed once for all the hints (nothing changes it)."""
    return yaml.compose(text, Loader=LOADER)


# What an entry of a list is called in a problem, by the key of the list.
_ENTRY_NAMES = {
    "rules": "rule",
    "intake": "trigger",
    "levels": "level",
    "thresholds": "threshold",
    "closure_days": "closure day",
    "not_bank_holidays": "day",
}
# A value that YAML read as a comment: `#` then a name, right after `key:` or `- `.
_HASH_VALUE = re.compile(r"^\s*#([A-Za-z0-9][\w.-]*)")
# `[#a, #b]` or `{urgent: #a}`: a comment inside a flow collection breaks the YAML.
_HASH_IN_FLOW = re.compile(r"[\[{,]\s*#[A-Za-z0-9]|:\s+#[A-Za-z0-9][\w-]*\s*[,}\]]")


def key_lines(text: str) -> dict[Path, int]:
    """The line (from 1) where each key and each list entry starts, by its path."""
    found: dict[Path, int] = {}
    try:
        root = _compose(text)
    except yaml.YAMLError:
        return found
    stack: list[tuple[Path, yaml.Node]] = [((), root)] if root is not None else []
    while stack:
        path, node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, key.value)
                found[child] = key.start_mark.line + 1
                stack.append((child, value))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                found[(*path, index)] = item.start_mark.line + 1
                stack.append(((*path, index), item))
    return found


def duplicate_keys(text: str) -> dict[Path, list[int]]:
    """Keys given more than once in one mapping, with the line (from 1) of each time.

    YAML keeps only the last, so a second `urgent:` route or a second source of the same
    name silently replaces the first.
    """
    found: dict[Path, list[int]] = {}
    try:
        root = _compose(text)
    except yaml.YAMLError:
        return found
    seen: set[int] = set()
    stack: list[tuple[Path, yaml.Node]] = [((), root)] if root is not None else []
    while stack:
        path, node = stack.pop()
        if id(node) in seen:  # an alias of a node already walked
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            lines: dict[str, list[int]] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value != "<<":
                    lines.setdefault(key.value, []).append(key.start_mark.line + 1)
                stack.append(((*path, key.value), value))
            for name, where in lines.items():
                if len(where) > 1:
                    found[(*path, name)] = where
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(((*path, index), item) for index, item in enumerate(node.value))
    return dict(sorted(found.items(), key=lambda item: item[1]))


def duplicate_hint(lines: list[int]) -> str:
    """What to say about a key given more than once."""
    where = ", ".join(map(str, lines[:-1])) + f" and {lines[-1]}"
    return (
        f"given {'twice' if len(lines) == 2 else f'{len(lines)} times'} (lines {where}); "
        "YAML keeps only the last, so the others are ignored: keep one"
    )


def unquoted_hashes(text: str) -> dict[Path, str]:
    """Keys and list entries left empty because a `#name` after them was read as a comment,
    with that name as written (`#comms-urgent`)."""
    found: dict[Path, str] = {}
    try:
        root = _compose(text)
    except yaml.YAMLError:
        return found
    lines = text.splitlines()

    def after(mark: yaml.Mark, skip: str) -> str | None:
        rest = lines[mark.line][mark.column :] if mark.line < len(lines) else ""
        rest = rest.lstrip()
        if not rest.startswith(skip):
            return None
        match = _HASH_VALUE.match(rest[len(skip) :])
        return f"#{match.group(1)}" if match else None

    def empty(node: yaml.Node) -> bool:
        return isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null") and not node.value

    stack: list[tuple[Path, yaml.Node]] = [((), root)] if root is not None else []
    while stack:
        path, node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, key.value)
                if empty(value) and (written := after(key.end_mark, ":")):
                    found[child] = written
                stack.append((child, value))
        elif isinstance(node, yaml.SequenceNode) and not node.flow_style:
            for index, item in enumerate(node.value):
                start = item.start_mark
                line = lines[start.line] if start.line < len(lines) else ""
                if empty(item) and (match := re.match(r"^\s*-\s+#([A-Za-z0-9][\w.-]*)", line)):
                    found[(*path, index)] = f"#{match.group(1)}"
                stack.append(((*path, index), item))
    return found


def unquoted_hint(written: str) -> str:
    """What to say about a `#name` YAML read as a comment."""
    return (
        f"is empty: YAML reads {written} after it as a comment. Put the channel in quotes: "
        f'"{written}"'
    )


def flow_hash_hint(text: str, first_line: int, last_line: int) -> str | None:
    """A hint for a YAML error caused by `#name` inside [...] or {...}, if that is the cause."""
    lines = text.splitlines()[max(first_line - 1, 0) : last_line]
    if any(_HASH_IN_FLOW.search(line) for line in lines):
        return (
            "a # inside [...] or {...} starts a comment in YAML: put each channel in quotes, "
            'e.g. ["#comms-urgent", "#fire-control-urgent"]'
        )
    return None


def readable_key(loc: Path, data: Any, lines: Mapping[Path, int]) -> str:
    """A problem's key for people: list entries by their name (or number from 1) and line,
    e.g. `rule 'foi-request' (line 42).any` rather than `rules.7.any`."""
    parts: list[str] = []
    node = data
    for depth, part in enumerate(loc):
        if not (isinstance(part, int) and isinstance(node, list) and parts):
            parts.append(str(part))
            node = node.get(part) if isinstance(node, dict) else None
            continue
        entry = node[part] if 0 <= part < len(node) else None
        list_key = parts.pop()
        noun = _ENTRY_NAMES.get(list_key) or f"{list_key} entry"
        name = entry.get("name") if isinstance(entry, dict) else None
        label = f"{noun} {name!r}" if isinstance(name, str) else f"{noun} {part + 1}"
        line = lines.get(tuple(loc[: depth + 1]))
        parts.append(f"{label} (line {line})" if line else label)
        node = entry
    return ".".join(parts)


def parse_key(key: str) -> Path:
    """A dotted key such as `rules.3.when.account` as a path, list positions as numbers."""
    return tuple(int(part) if part.isdigit() else part for part in key.split("."))
