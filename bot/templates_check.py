"""`commsbot templates check`: render every reply template as it would be published.

Each template (and its short form) is rendered for every account that can use it, on every
network the account is on (and `other`), with realistic sample data: once with long names
and dates filled in, once with none of them known. Syntax errors, undefined variables,
sandbox escapes, templates that fail to render and replies over a network's limit are
reported one per line, naming the file; so are choice rules naming templates that do not
exist, accounts without the fallback and deletion reasons nothing explains.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from bot.config import DeskConfig
from bot.core.posts import Category, Network
from bot.core.replies import (
    COMMON,
    SHORT_SUFFIX,
    TEMPLATE_SUFFIX,
    Fallback,
    ReplyBook,
    ReplyContext,
    ReplyTemplateError,
    Situation,
)

# Sample values as long as real ones are likely to be, so a reply that fits here fits.
_REFERENCE = "ANY-2026-001234"
_LONGEST_DATE = date(2026, 9, 30)  # "Wednesday 30 September": the longest day and month
SAMPLES: tuple[tuple[str, dict[str, Any]], ...] = (
    (
        "names and dates known",
        {
            "author_first_name": "Christabel",
            "officer_first_name": "Maximilian",
            "due": _LONGEST_DATE,
            "back_on": _LONGEST_DATE,
        },
    ),
    ("nothing known", {}),
)


@dataclass(frozen=True)
class TemplateProblem:
    """One thing wrong with the reply templates, naming the file and where it shows."""

    file: Path
    message: str
    line: int | None = None
    where: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        place = f"{_shown(self.file)}: line {self.line}" if self.line else _shown(self.file)
        suffix = f" ({'; '.join(self.where)})" if self.where else ""
        return f"{place}: {self.message}{suffix}"


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class _Found:
    """Problems gathered so far, each once, with every place it showed."""

    def __init__(self, everywhere: int) -> None:
        self._places: dict[tuple[Path, int | None, str], list[str]] = {}
        self._everywhere = everywhere
        # The longest over-length result per file and network, and where it showed.
        self._over: dict[tuple[Path, Network], tuple[int, int, str, list[str]]] = {}

    def over(
        self, file: Path, network: Network, *, length: int, limit: int, advice: str, where: str
    ) -> None:
        worst, _, _, places = self._over.get((file, network), (0, limit, advice, []))
        if where not in places:
            places.append(where)
        self._over[(file, network)] = (max(worst, length), limit, advice, places)

    def add(self, file: Path, message: str, *, line: int | None = None, where: str = "") -> None:
        places = self._places.setdefault((file, line, message), [])
        if where and where not in places:
            places.append(where)

    def problems(self) -> list[TemplateProblem]:
        """Each problem once, over-length results last."""
        places = dict(self._places)
        for (file, network), (length, limit, advice, where) in self._over.items():
            message = (
                f"over the {network.value} limit: {length} of {limit} characters at the "
                f"longest, {length - limit} too many: {advice}"
            )
            places[(file, None, message)] = where
        return [
            TemplateProblem(
                file=file,
                message=message,
                line=line,
                where=(
                    ("every account on every network",)
                    if len(found_at) == self._everywhere > 1
                    else _grouped(found_at)
                ),
            )
            for (file, line, message), found_at in places.items()
        ]


def _grouped(places: list[str]) -> tuple[str, ...]:
    """ "council on x", "council on facebook" -> "council on x, facebook"."""
    by_account: dict[str, list[str]] = {}
    for place in places:
        account, _, network = place.partition(" on ")
        by_account.setdefault(account, []).append(network)
    return tuple(f"{account} on {', '.join(networks)}" for account, networks in by_account.items())


def check_reply_book(
    book: ReplyBook,
    *,
    networks: Mapping[str, Collection[Network]],
    deletion_reasons: Collection[str],
    rules_file: Path,
) -> list[TemplateProblem]:
    """Every problem with the reply templates of `book` for these accounts and networks."""
    found = _Found(everywhere=sum(len({*nets, Network.OTHER}) for nets in networks.values()))
    if not (book.directory / COMMON).is_dir():
        found.add(book.directory / COMMON, "missing: the templates every account uses go here")
        return found.problems()
    for folder in book.folders():
        if folder != COMMON and folder not in networks:
            found.add(
                book.directory / folder,
                f"no account called {folder!r} in desk.yaml "
                f"(accounts: {', '.join(sorted(networks))})",
            )
    broken = set()
    for file in book.files():
        error = book.syntax_problem(file)
        if error is not None:
            broken.add(file)
            found.add(file, error.message, line=error.line)
        elif file.name.endswith(SHORT_SUFFIX + TEMPLATE_SUFFIX):
            full = file.with_name(
                file.name.replace(SHORT_SUFFIX + TEMPLATE_SUFFIX, TEMPLATE_SUFFIX)
            )
            if not full.is_file() and not any(
                (book.directory / other / full.name).is_file() for other in book.folders()
            ):
                found.add(file, f"a short form of {full.name}, which does not exist")
    for account, account_networks in networks.items():
        for network in dict.fromkeys((*account_networks, Network.OTHER)):
            _render_all(book, account=account, network=network, broken=broken, found=found)
    _check_rules(
        book,
        networks=networks,
        deletion_reasons=deletion_reasons,
        found=found,
        rules_file=rules_file,
    )
    return found.problems()


def _render_all(
    book: ReplyBook, *, account: str, network: Network, broken: set[Path], found: _Found
) -> None:
    """Render every template `account` can use on `network` with each sample."""
    where = f"{account} on {network.value}"
    for name in sorted(book.names(account)):
        if book.file(account, name) in broken:
            continue
        for _label, values in SAMPLES:
            context = ReplyContext(account=account, network=network, reference=_REFERENCE, **values)
            try:
                suggestion = book.suggest_template(name, context)
            except ReplyTemplateError as exc:
                if exc.file not in broken:
                    found.add(exc.file, exc.message, line=exc.line, where=where)
                break
            if suggestion.fits:
                continue
            if suggestion.fallback is Fallback.SHORT_FORM_TOO_LONG:
                file = book.file(account, name + SHORT_SUFFIX)
                advice = "shorten the short form"
            else:
                file = book.file(account, name)
                advice = f"shorten it or add a short form {name}{SHORT_SUFFIX}{TEMPLATE_SUFFIX}"
            found.over(
                file,
                network,
                length=suggestion.length,
                limit=suggestion.limit,
                advice=advice,
                where=where,
            )


def _check_rules(
    book: ReplyBook,
    *,
    networks: Mapping[str, Collection[Network]],
    deletion_reasons: Collection[str],
    found: _Found,
    rules_file: Path,
) -> None:
    """Rules name real templates, every account has the fallback, every deletion is explained."""
    everywhere = set().union(*(book.names(account) for account in networks))
    for index, rule in enumerate(book.table.rules):
        for template in rule.templates:
            if template not in everywhere:
                found.add(
                    rules_file,
                    f"rules.{index}.use: no template {template!r} in {_shown(book.directory)}",
                )
    for account in networks:
        available = book.names(account)
        if not any(template in available for template in book.table.fallback):
            found.add(
                rules_file,
                f"fallback.use: none of {', '.join(book.table.fallback)} is available to "
                f"{account!r}, so some of its themes would get no suggestion",
            )
        for reason in deletion_reasons:
            situation = Situation(
                category=Category.MODERATION,
                account=account,
                network=next(iter(networks[account]), Network.OTHER),
                deletion_reason=reason,
            )
            candidates = book.choose(situation)
            explaining = {
                rule.name for rule in book.table.rules if reason in (rule.deletion_reasons or ())
            }
            if not candidates or candidates[0].rule not in explaining:
                found.add(
                    rules_file,
                    f"deletion reason {reason!r}: no rule with a template for {account!r} "
                    "explains it to the poster",
                )


def check_templates(config: DeskConfig, templates_dir: Path) -> list[TemplateProblem]:
    """Every problem with the reply templates under `templates_dir` for this configuration."""
    book = config.reply_book(templates_dir)
    if book is None or config.replies is None:
        return []
    if not book.directory.is_dir():
        return [TemplateProblem(file=book.directory, message="missing: no reply templates")]
    return check_reply_book(
        book,
        networks={key: list(account.networks) for key, account in config.desk.accounts.items()},
        deletion_reasons=list(config.replies.deletion_reasons),
        rules_file=config.directory / "replies.yaml",
    )


def report_templates(
    config: DeskConfig, *, templates_dir: Path | None, out: TextIO, err: TextIO
) -> int:
    """Check the reply templates, print what is wrong one line each; 1 if anything is."""
    if config.replies is None:
        print(
            f"warning: {config.directory / 'replies.yaml'} is missing: no replies are suggested",
            file=err,
        )
        return 0
    if templates_dir is None:
        from bot.runtime import StartupError, find_templates_dir

        try:
            templates_dir = find_templates_dir()
        except StartupError as exc:
            print(f"templates: {exc}", file=err)
            return 1
    problems = check_templates(config, templates_dir)
    for problem in problems:
        print(problem, file=err)
    directory = _shown(Path(templates_dir) / "replies")
    if problems:
        print(f"{directory}: {len(problems)} problem(s)", file=err)
        return 1
    book = config.reply_book(templates_dir)
    count = len(set().union(*(book.names(key) for key in config.desk.accounts))) if book else 0
    print(f"{directory}: OK: {count} reply templates fit every network of every account", file=out)
    return 0


def cmd_templates_check(args: argparse.Namespace) -> int:
    """`commsbot templates check`."""
    config = args.load_config_of(args)
    if config is None:
        return 1
    templates_dir = Path(args.templates_dir) if args.templates_dir else None
    return report_templates(config, templates_dir=templates_dir, out=sys.stdout, err=sys.stderr)


def add_templates_command(
    sub: argparse._SubParsersAction,
    *,
    load_config_of: Callable[[argparse.Namespace], DeskConfig | None],
) -> None:
    """Register `commsbot templates check` on the CLI's subcommands; `load_config_of(args)`
    is the configuration the options name, or None once its problems are printed."""
    templates = sub.add_parser(
        "templates",
        help="work with the suggested-reply templates",
        description="Work with the suggested-reply templates in templates/replies.",
    )
    actions = templates.add_subparsers(dest="templates_command", required=True, metavar="ACTION")
    check = actions.add_parser(
        "check",
        help="render every reply template for every account and network; list problems",
        description="Render every reply template for every account and network it serves and "
        "list each that fails, uses a contact the account lacks, or is too long.",
    )
    check.add_argument(
        "--templates-dir", help="templates directory (default: the one commsbot runs with)"
    )
    check.set_defaults(func=cmd_templates_check, load_config_of=load_config_of)
