"""The `commsbot` command line: serve, demo, check-config, triage, evaluate, train,
evaluate-themes, templates, deadline."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from dotenv import load_dotenv

from bot import __version__, backup_command, deadline_command
from bot.config import ConfigError, DeskConfig, load_config
from bot.templates_check import add_templates_command, report_templates


def _config_dir(args: argparse.Namespace) -> Path:
    return Path(args.config_dir or os.environ.get("COMMSBOT_CONFIG_DIR") or "config")


def _demo_config_dir(args: argparse.Namespace) -> Path:
    """The config to demo with: the one asked for, else ./config, else the shipped example."""
    from bot.settings import SHARE_DIR

    chosen = _config_dir(args)
    explicit = args.config_dir or os.environ.get("COMMSBOT_CONFIG_DIR")
    if not explicit and not chosen.is_dir() and (SHARE_DIR / "config").is_dir():
        return SHARE_DIR / "config"
    return chosen


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the bot for real."""
    from bot.learning import ModelError
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
    configure_logging(level=log_level(args.log_level), secrets=settings.secrets())
    try:
        return serve(settings)
    except ConfigError as exc:
        print(f"commsbot cannot start: {exc}", file=sys.stderr)
    except (StorageError, StartupError, OSError) as exc:
        print(f"commsbot cannot start: {exc}", file=sys.stderr)
    except ModelError as exc:
        print(f"commsbot cannot start: {exc} (train it again with commsbot train)", file=sys.stderr)
    return 2


def cmd_demo(args: argparse.Namespace) -> int:
    """Show the bot working against a local Slack stand-in."""
    from bot.demo.run import run_demo

    try:
        return run_demo(config_dir=_demo_config_dir(args), out=sys.stdout, verbose=args.verbose)
    except ConfigError as exc:
        print(f"commsbot demo cannot start: {exc}", file=sys.stderr)
        print("Run it from the commsbot checkout or pass --config-dir.", file=sys.stderr)
        return 2


def load_or_report(directory: Path) -> DeskConfig | None:
    """The configuration in `directory`, or None after printing every problem on stderr."""
    try:
        return load_config(directory)
    except ConfigError as exc:
        print(f"{directory}: {len(exc.problems)} problem(s)", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return None


def _load_config_of(args: argparse.Namespace) -> DeskConfig | None:
    """The configuration the options name, or None once its problems are printed."""
    return load_or_report(_config_dir(args))


def cmd_check_config(args: argparse.Namespace) -> int:
    """Validate the config directory and print every problem."""
    directory = _config_dir(args)
    config = load_or_report(directory)
    if config is None:
        return 1
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for name, source in config.sources.sources.items():
        if not os.environ.get(source.auth.secret_env, "").strip():
            print(
                f"warning: sources.yaml: sources.{name}.auth.secret_env: "
                f"{source.auth.secret_env} is not set here, so /intake/{name} is off until it "
                "is set where commsbot runs",
                file=sys.stderr,
            )
    accounts = config.desk.accounts
    print(
        f"{directory}: OK: {len(accounts)} account(s) ({', '.join(accounts)}), "
        f"{len(config.classifier.rules)} classification rule(s)"
    )
    status = report_templates(config, templates_dir=None, out=sys.stdout, err=sys.stderr)
    if args.slack:
        status = max(status, _check_slack(config))
    return status


def _check_slack(config) -> int:  # config: DeskConfig
    """Check the configuration against the Slack workspace of SLACK_BOT_TOKEN."""
    from bot.slack.client import listener_client
    from bot.slack.preflight import (
        SlackCheckError,
        check_slack,
        find_manifest,
        manifest_scopes,
        references,
    )

    token = os.environ.get("SLACK_BOT_TOKEN", "").strip()
    if not token:
        print(
            "cannot check Slack: SLACK_BOT_TOKEN is not set (the xoxb- bot token)", file=sys.stderr
        )
        return 2
    api_url = os.environ.get("SLACK_API_URL", "").strip() or None
    client = listener_client(token=token, base_url=api_url)
    manifest = find_manifest()
    try:
        report = check_slack(
            client,
            references(config),
            manifest=manifest_scopes(manifest) if manifest is not None else None,
        )
    except SlackCheckError as exc:
        print(f"cannot check Slack: {exc}", file=sys.stderr)
        return 2
    problems = report.problems
    warnings = len(report.findings) - len(problems)
    where = f" ({report.workspace})" if report.workspace else ""
    print(f"Slack{where}: {len(problems)} problem(s), {warnings} warning(s)")
    for finding in sorted(report.findings, key=lambda f: f.severity != "problem"):
        print(f"  {finding}", file=sys.stderr if finding.severity == "problem" else sys.stdout)
    return 1 if problems else 0


def _data_dir(args: argparse.Namespace) -> Path:
    return Path(getattr(args, "data_dir", None) or os.environ.get("COMMSBOT_DATA_DIR") or "data")


def _second_opinion(args: argparse.Namespace):  # -> LinearModel | None
    """The model `--model` names, none with `--no-model`, else the data directory's if any."""
    from bot.learning.model import load_model, load_second_opinion

    if args.no_model:
        return None
    if args.model:
        path = Path(args.model)
        model = load_model(path) if path.is_file() else load_second_opinion(path)
        if model is None:
            raise FileNotFoundError(f"no trained model in {path} (run commsbot train)")
    else:
        model = load_second_opinion(_data_dir(args))
    if model is not None:
        from bot.learning.model import model_path

        info = model.info
        shipped = not args.model and not model_path(_data_dir(args)).exists()
        which = "the model shipped with commsbot" if shipped else "model"
        print(
            f"second opinion: {which}, trained {info.trained_at:%Y-%m-%d %H:%M} UTC "
            f"on {info.corpus_size} posts",
            file=sys.stderr,
        )
    return model


def _open_input(name: str):  # -> tuple[IO[bytes], int | None] | None
    """The input file (or stdin for -) and its size, or None after saying why not."""
    if name == "-":
        return sys.stdin.buffer, None
    try:
        source = open(name, "rb")  # noqa: SIM115 - the caller closes it
    except OSError as exc:
        print(f"cannot read {name}: {exc.strerror}", file=sys.stderr)
        return None
    return source, os.fstat(source.fileno()).st_size


def _config_and_model(args: argparse.Namespace):  # -> tuple[DeskConfig, model] | None
    from bot.learning import ModelError

    try:
        config = load_config(_config_dir(args))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return None
    try:
        return config, _second_opinion(args)
    except (ModelError, FileNotFoundError) as exc:
        print(f"cannot use the model: {exc}", file=sys.stderr)
        return None


def _on_input(args: argparse.Namespace, run: Callable[..., int]) -> int:
    """Run `run(config, model, source, size)` on the input file `args.file` (stdin for -),
    with the configuration and second opinion loaded; 2 when any of them cannot be."""
    loaded = _config_and_model(args)
    if loaded is None:
        return 2
    config, model = loaded
    opened = _open_input(args.file)
    if opened is None:
        return 2
    source, size = opened
    try:
        return run(config, model, source, size)
    finally:
        if source is not sys.stdin.buffer:
            source.close()


def cmd_triage(args: argparse.Namespace) -> int:
    """Dry-run classification and routing on a file of posts."""
    from bot.triage import triage_command

    return _on_input(
        args,
        lambda config, model, source, size: triage_command(
            config,
            source,
            output_format=args.format,
            out=sys.stdout,
            err=sys.stderr,
            second_opinion=model,
            total_bytes=size,
        ),
    )


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Score triage on a labelled corpus."""
    from bot.evaluate import evaluate_command

    return _on_input(
        args,
        lambda config, model, source, _size: evaluate_command(
            config,
            source,
            output_format=args.format,
            out=sys.stdout,
            err=sys.stderr,
            second_opinion=model,
            keep_misses=0 if args.summary else args.misses,
            texts=not (args.no_texts or args.summary),
        ),
    )


def cmd_train(args: argparse.Namespace) -> int:
    """Train the second opinion and store it in the data directory."""
    from datetime import UTC, datetime

    from bot.learning.train import TrainingError, save_model, train_from

    data_dir = _data_dir(args)
    try:
        model = train_from(
            data_dir,
            now=datetime.now(UTC),
            corpus=Path(args.corpus) if args.corpus else None,
        )
    except (TrainingError, OSError) as exc:
        print(f"cannot train: {exc}", file=sys.stderr)
        return 1
    path = save_model(model, data_dir)
    sources = ", ".join(f"{name.replace('_', ' ')}: {n}" for name, n in model.info.sources.items())
    print(f"trained on {model.info.corpus_size} labelled posts ({sources}); saved to {path}")
    return 0


def _model_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--model",
        help="a trained model file, or a data directory holding one "
        "(default: the model in $COMMSBOT_DATA_DIR, if trained)",
    )
    group.add_argument("--no-model", action="store_true", help="rules alone, no second opinion")
    parser.add_argument("--data-dir", help="data directory (default: $COMMSBOT_DATA_DIR or ./data)")


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


def cmd_sources_test(args: argparse.Namespace) -> int:
    """Show what a sample payload of an intake source becomes, field by field."""
    from bot.sources.commands import find_source, sources_test
    from bot.sources.files import file_format

    def run(config: DeskConfig, model: Any, source: BinaryIO, _size: int | None) -> int:
        tool = find_source(config, args.name, sys.stderr)
        if tool is None:
            return 2
        return sources_test(
            config,
            tool,
            name=args.name,
            source=source,
            fmt=file_format(args.file, args.format),
            out=sys.stdout,
            second_opinion=model,
        )

    return _on_input(args, run)


def cmd_import(args: argparse.Namespace) -> int:
    """Load a tool's export into the data directory as history."""
    from rich.console import Console

    from bot.sources.commands import find_source, import_command

    loaded = _config_and_model(args)
    if loaded is None:
        return 2
    config, model = loaded
    tool = find_source(config, args.source, sys.stderr)
    if tool is None:
        return 2
    return import_command(
        config,
        tool,
        path=Path(args.file),
        fmt=args.format,
        data_dir=_data_dir(args),
        out=sys.stdout,
        err=sys.stderr,
        progress=Console(stderr=True).is_terminal,
        second_opinion=model,
    )


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def log_level(value: str) -> str:
    """A log level by name, any letter case; argparse reports anything else."""
    level = value.strip().upper()
    if level not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(
            f"unknown log level {value!r} (from --log-level or $COMMSBOT_LOG_LEVEL): "
            f"use one of {', '.join(LOG_LEVELS)}"
        )
    return level


def _global_options(parser: argparse.ArgumentParser, *, after_command: bool) -> None:
    """Options that work before or after the subcommand (`commsbot --config-dir D check-config`
    or `commsbot check-config --config-dir D`). After it they default to nothing, so a value
    given before is kept."""
    hide = {"default": argparse.SUPPRESS} if after_command else {}
    parser.add_argument(
        "--config-dir",
        help="configuration directory (default: $COMMSBOT_CONFIG_DIR or ./config)",
        **hide,  # type: ignore[arg-type]
    )
    parser.add_argument(
        "--log-level",
        type=log_level,
        metavar="LEVEL",
        help=f"{', '.join(LOG_LEVELS)} (default: $COMMSBOT_LOG_LEVEL or INFO)",
        **hide,  # type: ignore[arg-type]
    )


def _every_subparser(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every subcommand's parser, nested ones included."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                found += [child, *_every_subparser(child)]
    return found


def _serve_epilog() -> str:
    from bot.settings import ENVIRONMENT, ENVIRONMENT_NOTE

    width = max(len(variable.name) for variable in ENVIRONMENT)
    lines = [f"  {v.name:<{width}}  {v.meaning}" for v in ENVIRONMENT]
    return "environment variables:\n" + "\n".join(lines) + "\n\n" + ENVIRONMENT_NOTE


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="commsbot", description="Slack bot for a public body's social media desk."
    )
    parser.add_argument("--version", action="version", version=f"commsbot {__version__}")
    _global_options(parser, after_command=False)
    parser.set_defaults(log_level=os.environ.get("COMMSBOT_LOG_LEVEL") or "INFO")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help="run the bot (HTTP, or Socket Mode if SLACK_APP_TOKEN)",
        description="Run the bot: Slack requests at /slack/events (or over Socket Mode), "
        "posts at /intake and /intake/<source>, the health check at /healthz. Settings come "
        "from the environment (and .env); every missing or wrong one is named at start.",
        epilog=_serve_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser(
        "demo",
        help="see the bot work against a local Slack stand-in",
        description="Run the bot against a local stand-in of Slack and send it sample posts, "
        "to see where each would go. Needs no Slack workspace and changes nothing. Exit "
        "status 1 if a post did not reach the stand-in.",
    )
    demo.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also show the local addresses, HTTP answers, timings and whole threads",
    )
    demo.set_defaults(func=cmd_demo)

    check = sub.add_parser(
        "check-config",
        help="validate the configuration and list problems",
        description="Validate every file of the configuration directory and the reply "
        "templates, and list every problem with its file, key and fix. With --slack, also "
        "check the configuration against the Slack workspace. Exit status 1 on a problem.",
    )
    check.add_argument(
        "--slack",
        action="store_true",
        help="also check against Slack with SLACK_BOT_TOKEN (and SLACK_API_URL): channels "
        "exist and commsbot can post in them, officers exist, the token has the scopes needed",
    )
    check.set_defaults(func=cmd_check_config)

    tri = sub.add_parser(
        "triage",
        help="dry-run classification and routing on a file of posts",
        description="Classify and route each post of a file as the bot would, storing "
        "nothing: a table, or one JSON line per post. Exit status 1 if any post was invalid.",
    )
    tri.add_argument("file", help="posts as a JSON array or one JSON object per line; - for stdin")
    tri.add_argument("--format", choices=("table", "jsonl"), default="table")
    _model_options(tri)
    tri.set_defaults(func=cmd_triage)

    add_templates_command(sub, load_config_of=_load_config_of)
    deadline_command.add_parser(sub, config_dir=_config_dir)
    ev = sub.add_parser(
        "evaluate",
        help="score triage on labelled posts: precision, recall, confusion, misses",
        description="Triage a labelled corpus and report precision and recall per category, "
        "the confusion between categories and the worst misses.",
    )
    ev.add_argument("file", help="labelled posts (each with a `label`), JSON array or NDJSON")
    ev.add_argument("--format", choices=("table", "json"), default="table")
    ev.add_argument("--misses", type=int, default=10, help="how many worst misses to list")
    ev.add_argument("--no-texts", action="store_true", help="list misses without post texts")
    ev.add_argument(
        "--summary",
        action="store_true",
        help="figures only, no misses or texts (for a held-out set)",
    )
    _model_options(ev)
    ev.set_defaults(func=cmd_evaluate)

    tr = sub.add_parser(
        "train",
        help="train the second opinion on the shipped corpus and the desk's corrections",
        description="Train the learned second opinion and store it in the data directory, "
        "where the bot and triage find it.",
    )
    tr.add_argument("--data-dir", help="data directory (default: $COMMSBOT_DATA_DIR or ./data)")
    tr.add_argument("--corpus", help="a labelled corpus to train on instead of the shipped one")
    tr.set_defaults(func=cmd_train)
    evaluate = sub.add_parser(
        "evaluate-themes",
        help="measure theme grouping on a corpus with gold themes (JSONL)",
        description="Group a corpus with gold themes into themes and report pairwise and "
        "B-cubed precision, recall and F1, and the posts wrongly merged.",
    )
    evaluate.add_argument("file", help="posts with gold 'label' and 'theme', one per line")
    evaluate.add_argument("--format", choices=("table", "json"), default="table")
    evaluate.add_argument(
        "--mistakes", action="store_true", help="also list each split and wrong merge"
    )
    evaluate.set_defaults(func=cmd_evaluate_themes)

    sources = sub.add_parser(
        "sources",
        help="intake sources: see what a tool's payload becomes",
        description="Intake sources (sources.yaml) take monitoring tools' own JSON at "
        "POST /intake/<name>.",
    )
    sources_sub = sources.add_subparsers(dest="sources_command", required=True, metavar="ACTION")
    test = sources_sub.add_parser(
        "test",
        help="show what a sample payload becomes, field by field, storing nothing",
        description="Map a sample payload (as the tool sends it, JSON or NDJSON, or a CSV "
        "export) through an intake source: each field with the value found and what it "
        "became, then the post's validation errors or its category and channel. Nothing is "
        "stored. Exit status 1 if any item would be refused.",
    )
    test.add_argument("name", help="the source's name in sources.yaml")
    test.add_argument("file", help="a saved payload or export; - for stdin")
    test.add_argument("--format", choices=("json", "csv"), help="default: csv for *.csv")
    _model_options(test)
    test.set_defaults(func=cmd_sources_test)

    imp = sub.add_parser(
        "import",
        help="load a tool's export (CSV, JSON or NDJSON) as history, deduplicated",
        description="Load an export (last month's inbox, say) through an intake source's "
        "mapping into the data directory as history: classified and routed, never sent to "
        "Slack. Posts already stored are counted as duplicates, so an import can be run "
        "again. Stop the bot first: the import needs the data directory to itself. Exit "
        "status 1 if some items were invalid (they are listed by line), 2 if it could not run.",
    )
    imp.add_argument("file", help="the export: CSV (dotted column names nest) or JSON/NDJSON")
    imp.add_argument("--source", required=True, help="the intake source whose mapping to use")
    imp.add_argument("--format", choices=("json", "csv"), help="default: csv for *.csv")
    _model_options(imp)
    imp.set_defaults(func=cmd_import)
    backup_command.add_parsers(sub, data_dir=_data_dir)
    for child in _every_subparser(parser):
        _global_options(child, after_command=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `commsbot` console script."""
    load_dotenv(Path.cwd() / ".env", override=False)
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:
        # The reader stopped early (`commsbot triage posts.jsonl | head`): that is fine.
        # Point stdout at nothing so the interpreter's final flush does not fail too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
