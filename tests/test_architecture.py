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


# Package layering: dependencies point down. Each area of `bot` may import only the areas
# listed for it (its own included). The core imports only the core; configuration the
# core; storage the core and configuration; the desk (the application: `desk`, `services`)
# those and the learned second opinion; the edges (Slack, the web server, the scheduler)
# the desk and below; only the top (runtime, the CLI and its commands, the demo) may import
# runtime or cli. The web server serves Slack's requests and checks their signatures with
# `bot.slack.verify` (which needs Bolt's request class): the one import across edges.
BELOW_DESK = {"core", "config", "storage", "learning", "intake", "settings", "logs"}
TOP = {
    "runtime",
    "cli",
    "__main__",
    "demo",
    "templates_check",
    "deadline_command",
    "backup_command",
}
LAYERS: dict[str, set[str]] = {
    "core": {"core"},
    "config": {"core", "config"},
    "storage": {"core", "config", "storage"},
    "learning": {"core", "learning"},
    "intake": {"core", "intake"},
    "settings": {"settings"},
    "logs": {"logs"},
    "corpus": set(),
    "fakeslack": {"fakeslack"},
    "desk": {"core", "config", "storage", "learning", "desk"},
    "home": {"home"},  # who has the App Home open: bookkeeping the Slack edge acts on
    "replies_desk": {"core", "config", "storage", "learning", "desk", "replies_desk"},
    "services": {
        "core",
        "config",
        "storage",
        "learning",
        "desk",
        "home",
        "replies_desk",
        "services",
    },
    "staff": {"core", "config", "storage", "learning", "desk", "staff"},
    "slack": BELOW_DESK | {"desk", "replies_desk", "services", "staff", "slack"},
    "web": BELOW_DESK | {"desk", "replies_desk", "services", "web", "slack", "sources"},
    "scheduling": BELOW_DESK | {"desk", "replies_desk", "services", "scheduling"},
    # Dry-run tools of the CLI: the core and configuration, never the running bot.
    "triage": {"core", "config", "learning", "intake", "triage"},
    "evaluate": {"core", "config", "learning", "intake", "triage", "evaluate"},
    "evaluate_themes": {"core", "config", "intake", "evaluate_themes"},
    "crossval": {"core", "config", "learning", "intake", "triage", "evaluate", "crossval"},
    # Intake sources: mapping other tools' payloads, `sources test` and `import`.
    "sources": {"core", "config", "intake", "settings", "storage", "triage", "sources"},
}


def _bot_imports(path: Path) -> set[str]:
    """The areas of `bot` a module imports (absolute imports; `bot.x.y` counts as `x`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "bot" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_every_area_has_a_layer() -> None:
    areas = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in MODULES}
    assert areas - {"__init__"} <= LAYERS.keys() | TOP


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_dependencies_point_down(path: Path) -> None:
    area = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    if area in TOP or area == "__init__":
        return
    wrong = _bot_imports(path) - LAYERS[area]
    assert not wrong, (
        f"bot/{path.relative_to(PACKAGE)} ({area}) imports bot.{', bot.'.join(sorted(wrong))}"
    )


def test_nothing_below_the_top_imports_runtime_or_cli() -> None:
    for path in MODULES:
        area = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if area not in TOP:
            assert not _bot_imports(path) & {"runtime", "cli"}, path
