"""`commsbot deadline KIND --received WHEN`: when something is due, and why."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from bot.config import ConfigError, DeskConfig, load_config
from bot.core.deadlines import Deadline, parse_received

TEMPLATE = "cli/deadline.j2"


def add_parser(
    sub: argparse._SubParsersAction, *, config_dir: Callable[[argparse.Namespace], Path]
) -> None:
    """Register the `deadline` subcommand; `config_dir` finds the config for parsed args."""
    parser = sub.add_parser(
        "deadline",
        help="when is something received at WHEN due, and why",
        description=(
            "Print when a post or request received at WHEN is due: an ISO 8601 date-time "
            "with its offset on the first line, then which days were not counted and why."
        ),
    )
    parser.add_argument(
        "kind",
        metavar="KIND",
        help="foi, eir, subject_access (or sar), theme, urgent, or another category",
    )
    parser.add_argument(
        "--received",
        required=True,
        metavar="WHEN",
        help="ISO 8601 date or date-time, e.g. 2026-12-04 or 2026-12-04T16:30; "
        "local to the desk's time zone unless it has an offset",
    )
    parser.set_defaults(func=functools.partial(cmd_deadline, config_dir=config_dir))


def cmd_deadline(
    args: argparse.Namespace, *, config_dir: Callable[[argparse.Namespace], Path]
) -> int:
    """Load the config and answer one `commsbot deadline` question."""
    from bot.runtime import StartupError, find_templates_dir

    try:
        config = load_config(config_dir(args))
        templates = find_templates_dir()
    except (ConfigError, StartupError) as exc:
        print(f"commsbot deadline: {exc}", file=sys.stderr)
        return 2
    # A reader that stops early (`| head -1` for the due moment alone) is handled by main.
    return deadline_command(
        config,
        kind=args.kind,
        received=args.received,
        templates=templates,
        out=sys.stdout,
        err=sys.stderr,
    )


def deadline_command(
    config: DeskConfig, *, kind: str, received: str, templates: Path, out: IO[str], err: IO[str]
) -> int:
    """Print the due moment and its explanation; 2 (with a message) for a bad KIND or WHEN."""
    try:
        key = config.clocks.rules.kind(kind)
        when = parse_received(received, zone=config.zone)
        deadline = config.clocks.deadline(key, received_at=when.at)
    except ValueError as exc:
        print(f"commsbot deadline: {exc}", file=err)
        return 2
    explanation = explain(config, deadline=deadline, date_only=when.date_only, templates=templates)
    out.write(f"{deadline.due_local(config.zone).isoformat()}\n{explanation}\n")
    out.flush()
    return 0


def explain(config: DeskConfig, *, deadline: Deadline, date_only: bool, templates: Path) -> str:
    """The plain-text explanation of how `deadline` was worked out."""
    env = Environment(
        loader=FileSystemLoader(str(templates)),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["trusted"] = Markup
    return (
        env.get_template(TEMPLATE)
        .render(
            deadline=deadline,
            zone=config.zone,
            hours=config.clocks.calendar.hours,
            date_only=date_only,
        )
        .strip()
    )
