"""`commsbot evaluate-themes`: measure the grouping on a themes corpus with gold theme ids."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.config import DeskConfig
from bot.core.themes import ThemeSettings
from bot.core.themes_eval import GoldPost, ThemeEvaluation, evaluate_grouping
from bot.intake import validate_item

# The packaged corpora (copied byte for byte from the corpus writers' files).
CORPUS_DIR = Path(__file__).resolve().parent / "corpus"


class CorpusError(ValueError):
    """A themes corpus line that cannot be used; says which line and why."""


def read_corpus(
    lines: Collection[str] | IO[str],
    *,
    accounts: Mapping[str, Collection[str]],
    max_text_chars: int = 20_000,
) -> list[GoldPost]:
    """The posts of a themes corpus (JSON Lines with `label` and `theme`); CorpusError if bad."""
    posts: list[GoldPost] = []
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not valid JSON: {exc.msg}")
            continue
        item = validate_item(
            data, index=number - 1, line=number, accounts=accounts, max_text_chars=max_text_chars
        )
        label, theme = data.get("label"), data.get("theme")
        if item.post is None:
            problems.extend(f"line {number}: {e.field}: {e.message}" for e in item.errors)
        elif not isinstance(label, str) or not label or not isinstance(theme, str) or not theme:
            problems.append(f"line {number}: needs text fields 'label' and 'theme'")
        else:
            scenario = data.get("scenario")
            posts.append(
                GoldPost(
                    post=item.post,
                    category=label,
                    theme=theme,
                    scenario=scenario if isinstance(scenario, str) else None,
                )
            )
    if problems:
        raise CorpusError("; ".join(problems[:20]))
    return posts


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def print_table(result: ThemeEvaluation, *, title: str, out: IO[str]) -> None:
    """Show the figures as a table."""
    console = Console(file=out, width=100)
    table = Table(title=escape(title))
    for heading in ("measure", "precision", "recall", "F1"):
        table.add_column(heading)
    for name, scores in (
        ("pairwise", result.pairwise),
        ("B-cubed", result.bcubed),
        ("B-cubed, conversational posts", result.conversational_bcubed),
    ):
        table.add_row(
            name, _percent(scores.precision), _percent(scores.recall), _percent(scores.f1)
        )
    console.print(table)
    rules = Table(title="Individual cases, incidents, repeats")
    rules.add_column("check")
    rules.add_column("result")
    merged = ", ".join(f"{k}: {v}" for k, v in result.wrongly_merged.items()) or "none"
    rules.add_row(
        f"individual posts wrongly merged (of {result.individual_posts})",
        f"{result.wrongly_merged_total} ({merged})",
    )
    for name, handling in (
        ("incidents kept whole", result.incidents_kept_whole),
        ("incident reports with their incident", result.incident_reports_grouped),
        ("repeated spam kept as one case", result.repeats_kept_whole),
        ("people in danger raised on their own", result.people_in_danger_raised),
    ):
        rules.add_row(name, f"{handling.correct} of {handling.total}")
    rules.add_row("raised on their own but in the crowd", str(result.raised_but_gold_in_crowd))
    console.print(rules)
    console.print(
        f"{result.posts} posts: {result.gold_themes} gold themes, "
        f"{result.predicted_themes} predicted"
    )


def evaluate_command(
    config: DeskConfig,
    path: str,
    *,
    output_format: str,
    show_mistakes: bool,
    out: IO[str],
    err: IO[str],
    settings: ThemeSettings | None = None,
) -> int:
    """Run the evaluation on a corpus file and print it; 2 if the file cannot be used."""
    try:
        with open(path, encoding="utf-8") as source:
            gold = read_corpus(
                source,
                accounts=config.desk.networks_by_account(),
                max_text_chars=config.desk.intake.max_text_chars,
            )
    except OSError as exc:
        print(f"cannot read {path}: {exc.strerror}", file=err)
        return 2
    except CorpusError as exc:
        print(f"{path}: {exc}", file=err)
        return 2
    result = evaluate_grouping(gold, settings=settings or config.themes)
    if output_format == "json":
        data: dict[str, Any] = {"corpus": path, **result.to_dict()}
        if show_mistakes:
            data["mistakes"] = list(result.mistakes)
        print(json.dumps(data, indent=2), file=out)
    else:
        print_table(result, title=f"Theme grouping on {path}", out=out)
        if show_mistakes:
            for mistake in result.mistakes:
                print(json.dumps(mistake), file=out)
    return 0
