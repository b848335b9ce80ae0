"""The `commsbot` command line: serve, demo, check-config, triage, evaluate-themes."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from dotenv import load_dotenv

from bot import __version__
from bot.config import ConfigError, load_config


def _config_dir(args: argparse.Namespace) -> Path:
    return Path(args.config_dir or os.environ.get("COMMSBOT_CONFIG_DIR") or "config")


def _demo_config_dir(args: argparse.Namespace) -> Path:
    """The config to demo with: the one asked for, else ./config, else the shipped example."""
    from bot.runtime import SHARE_DIR

    chosen = _config_dir(args)
    explicit = args.config_dir or os.environ.get("COMMSBOT_CONFIG_DIR")
    if not explicit and not chosen.is_dir() and (SHARE_DIR / "config").is_dir():
        return SHARE_DIR / "config"
    return chosen


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the bot for real."""
    from bot.logs import configure_logging
    from bot.runtime import StartupError, serve
    from bot.settings import SettingsError, load_settings
    from bot.storage import StorageError

    try:
        settings = load_settings(os.environ)
    except SettingsError as exc:
        print("commsbot cannot start:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    configure_logging(level=args.log_level, secrets=settings.secrets())
    try:
        return serve(settings)
    except ConfigError as exc:
        print(f"commsbot cannot start: {exc}", file=sys.stderr)
    except (StorageError, StartupError, OSError) as exc:
        print(f"commsbot cannot start: {exc}", file=sys.stderr)
    return 2


def cmd_demo(args: argparse.Namespace) -> int:
    """Show the bot working against a local Slack stand-in."""
    from bot.demo.run import run_demo

    try:
        return run_demo(config_dir=_demo_config_dir(args), out=sys.stdout)
    except ConfigError as exc:
        print(f"commsbot demo cannot start: {exc}", file=sys.stderr)
        print("Run it from the commsbot checkout or pass --config-dir.", file=sys.stderr)
        return 2


def cmd_check_config(args: argparse.Namespace) -> int:
    """Validate the config directory and print every problem."""
    directory = _config_dir(args)
    try:
        config = load_config(directory)
    except ConfigError as exc:
        print(f"{directory}: {len(exc.problems)} problem(s)", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    accounts = config.desk.accounts
    print(
        f"{directory}: OK: {len(accounts)} account(s) ({', '.join(accounts)}), "
        f"{len(config.classifier.rules)} classification rule(s)"
    )
    return 0


def cmd_triage(args: argparse.Namespace) -> int:
    """Dry-run classification and routing on a file of posts."""
    from bot.triage import triage_command

    try:
        config = load_config(_config_dir(args))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.file == "-":
        return triage_command(
            config, sys.stdin.buffer, output_format=args.format, out=sys.stdout, err=sys.stderr
        )
    try:
        source = open(args.file, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        print(f"cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    with source:
        return triage_command(
            config, source, output_format=args.format, out=sys.stdout, err=sys.stderr
        )


def cmd_evaluate_themes(args: argparse.Namespace) -> int:
    """Measure the theme grouping on a corpus with gold themes."""
    from bot.evaluate_themes import evaluate_command

    try:
        config = load_config(_config_dir(args))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    return evaluate_command(
        config,
        args.file,
        output_format=args.format,
        show_mistakes=args.mistakes,
        out=sys.stdout,
        err=sys.stderr,
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="commsbot", description="Slack bot for a public body's social media desk."
    )
    parser.add_argument("--version", action="version", version=f"commsbot {__version__}")
    parser.add_argument(
        "--config-dir", help="configuration directory (default: $COMMSBOT_CONFIG_DIR or ./config)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the bot (HTTP, or Socket Mode if SLACK_APP_TOKEN)")
    serve.add_argument("--log-level", default=os.environ.get("COMMSBOT_LOG_LEVEL", "INFO"))
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="see the bot work against a local Slack stand-in")
    demo.set_defaults(func=cmd_demo)

    check = sub.add_parser("check-config", help="validate the configuration and list problems")
    check.set_defaults(func=cmd_check_config)

    tri = sub.add_parser("triage", help="dry-run classification and routing on a file of posts")
    tri.add_argument("file", help="posts as a JSON array or one JSON object per line; - for stdin")
    tri.add_argument("--format", choices=("table", "jsonl"), default="table")
    tri.set_defaults(func=cmd_triage)

    evaluate = sub.add_parser(
        "evaluate-themes", help="measure theme grouping on a corpus with gold themes (JSONL)"
    )
    evaluate.add_argument("file", help="posts with gold 'label' and 'theme', one per line")
    evaluate.add_argument("--format", choices=("table", "json"), default="table")
    evaluate.add_argument(
        "--mistakes", action="store_true", help="also list each split and wrong merge"
    )
    evaluate.set_defaults(func=cmd_evaluate_themes)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `commsbot` console script."""
    load_dotenv(Path.cwd() / ".env", override=False)
    args = build_parser().parse_args(argv)
    return int(args.func(args))
