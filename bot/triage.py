"""`commsbot triage`: a dry run of classification and routing over a file of posts."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from bot.config import DeskConfig
from bot.core.routing import Triage, triage
from bot.intake import BodyError, Item, parse_body

# Show a progress bar from this many posts on (and only when stderr is a terminal).
PROGRESS_FROM = 500


@dataclass(frozen=True)
class TriageRow:
    """One input post's dry-run result, or its errors."""

    item: Item
    result: Triage | None

    def as_json(self) -> dict[str, Any]:
        """The `--format jsonl` line for this post."""
        assert self.result is not None
        post, classification = self.result.post, self.result.classification
        return {
            "id": post.id,
            "network": post.network.value,
            "account": post.account,
            "category": classification.category.value,
            "channel": self.result.channel,
            "theme": None,
            "flags": classification.flag_names,
            "rule": classification.rule,
        }


def where(item: Item) -> str:
    """How to point a person at an item: its line, or its position in a JSON array."""
    return f"line {item.line}" if item.line is not None else f"item {item.index + 1}"


def run_triage(config: DeskConfig, raw: bytes, *, progress: bool) -> Iterator[TriageRow]:
    """Classify and route every post in `raw` (JSON array or NDJSON), yielding in input order."""
    items = parse_body(
        raw,
        accounts=config.desk.networks_by_account(),
        max_text_chars=config.desk.intake.max_text_chars,
    )
    routing = config.routing
    with Progress(
        TextColumn("triage"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=not progress or len(items) < PROGRESS_FROM,
    ) as bar:
        task = bar.add_task("triage", total=len(items))
        for item in items:
            result = None
            if item.post is not None:
                result = triage(item.post, classifier=config.classifier, routing=routing)
            bar.advance(task)
            yield TriageRow(item, result)


def triage_command(
    config: DeskConfig, source: IO[bytes], *, output_format: str, out: IO[str], err: IO[str]
) -> int:
    """Run the dry run and print it; exit status 1 if any post was invalid."""
    try:
        raw = source.read()
        stderr_console = Console(file=err)
        rows = run_triage(config, raw, progress=stderr_console.is_terminal)
        invalid = 0
        table_rows: list[TriageRow] = []
        for row in rows:
            if row.result is None:
                invalid += 1
                for error in row.item.errors:
                    field = f"{error.field}: " if error.field else ""
                    print(f"{where(row.item)}: {field}{error.message}", file=err)
                continue
            if output_format == "jsonl":
                print(json.dumps(row.as_json(), ensure_ascii=False), file=out)
            else:
                table_rows.append(row)
    except BodyError as exc:
        print(f"error: {exc}", file=err)
        return 1
    if output_format == "table":
        _print_table(table_rows, out=out)
    if invalid:
        print(f"{invalid} invalid post(s) skipped; the rest were triaged", file=err)
    return 1 if invalid else 0


def _print_table(rows: list[TriageRow], *, out: IO[str]) -> None:
    console = Console(file=out, width=max(Console(file=out).width, 120))
    table = Table(title=f"Dry-run triage of {len(rows)} post(s)", show_lines=False)
    for heading in ("where", "id", "account", "category", "channel", "flags", "rule"):
        table.add_column(heading, overflow="fold")
    for row in rows:
        data = row.as_json()
        # Values come from the input file: escape them so rich shows them literally.
        table.add_row(
            where(row.item),
            escape(data["id"]),
            escape(data["account"]),
            data["category"],
            escape(data["channel"]),
            ", ".join(data["flags"]),
            escape(data["rule"]),
        )
    console.print(table)
    counts = Counter(row.as_json()["category"] for row in rows)
    summary = ", ".join(f"{category}: {n}" for category, n in counts.most_common())
    console.print(f"By category: {summary or 'nothing'}")
