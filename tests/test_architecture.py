"""The import rule: the core is pure; Slack, TinyDB and APScheduler stay at their edges."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "bot"

# Which top-level modules each library may be imported from.
ALLOWED = {
    "slack_bolt": {"slack", "runtime", "demo", "fakeslack"},
    "slack_sdk": {"slack", "runtime", "demo", "fakeslack"},
    "tinydb": {"storage"},
    "apscheduler": {"scheduling"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_libraries_are_imported_only_at_their_edge(path: Path) -> None:
    area = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    for library in _imports(path) & ALLOWED.keys():
        assert area in ALLOWED[library], f"bot/{path.relative_to(PACKAGE)} imports {library}"


@pytest.mark.parametrize("path", sorted((PACKAGE / "core").rglob("*.py")), ids=lambda p: p.name)
def test_core_reads_no_clock_and_imports_no_edge(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert "datetime.now(" not in source and "time.time(" not in source
    edges = {"bot.slack", "bot.storage", "bot.scheduling", "bot.web", "bot.runtime"}
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            assert not any(node.module.startswith(edge) for edge in edges), node.module
