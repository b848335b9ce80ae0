"""`commsbot import`: a tool's export (last month's inbox) stored as history.

Each item goes through the source's mapping and the intake validation, is classified and
routed as the desk would, and is stored with `Store.import_history`: nothing is sent to
Slack, and a post already stored is a duplicate. The file is read as a stream and stored in
batches, so memory stays flat however long the file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

from bot.config import DeskConfig
from bot.config.sources_model import SourceModel
from bot.core.opinion import SecondOpinion
from bot.core.posts import Classification, Post
from bot.core.routing import triage
from bot.intake import FieldError
from bot.sources.files import FileItem, ItemReader
from bot.sources.mapping import checked_item
from bot.storage import Store

BATCH_SIZE = 5000
# Invalid items are listed one by one in the summary up to this many; all are counted.
LISTED_INVALID = 20


@dataclass
class ImportSummary:
    """What an import did: posts added, posts already stored, items that were not posts."""

    imported: int = 0
    duplicates: int = 0
    invalid: int = 0
    invalid_at: list[str] = field(default_factory=list)

    @property
    def read(self) -> int:
        """Items read from the file."""
        return self.imported + self.duplicates + self.invalid


Record = tuple[Post, Classification, str, datetime]


def import_items(
    reader: ItemReader,
    *,
    tool: SourceModel,
    config: DeskConfig,
    store: Store,
    second_opinion: SecondOpinion | None = None,
    on_invalid: Callable[[FileItem, tuple[FieldError, ...]], None] = lambda item, errors: None,
    on_batch: Callable[[ImportSummary], None] = lambda summary: None,
    batch_size: int = BATCH_SIZE,
) -> ImportSummary:
    """Store every valid item of `reader` as history; report each invalid one as it is met."""
    summary = ImportSummary()
    accounts = config.desk.networks_by_account()
    routing = config.routing
    batch: list[Record] = []

    def store_batch() -> None:
        added = store.import_history(batch)
        summary.imported += added
        summary.duplicates += len(batch) - added
        batch.clear()
        on_batch(summary)

    for item in reader:
        if item.error is not None:
            checked_errors: tuple[FieldError, ...] = (FieldError("", item.error),)
            post = None
        else:
            checked, _ = checked_item(
                item.data,
                tool,
                index=item.index,
                line=item.line,
                accounts=accounts,
                max_text_chars=config.desk.intake.max_text_chars,
            )
            post, checked_errors = checked.post, checked.errors
        if post is None:
            summary.invalid += 1
            if len(summary.invalid_at) < LISTED_INVALID:
                summary.invalid_at.append(item.where)
            on_invalid(item, checked_errors)
            continue
        result = triage(
            post,
            classifier=config.classifier,
            routing=routing,
            second_opinion=second_opinion,
            policy=config.second_opinion,
        )
        batch.append((post, result.classification, result.channel, post.posted_at))
        if len(batch) >= batch_size:
            store_batch()
    if batch:
        store_batch()
    return summary


def progress_bar(console: Console, *, total_bytes: int | None, enabled: bool) -> Progress:
    """The import's progress bar on `console`: how far through the file, and the counts."""
    return Progress(
        TextColumn("import"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn(
            "{task.fields[imported]} new, {task.fields[duplicates]} already stored, "
            "{task.fields[invalid]} invalid"
        ),
        console=console,
        transient=True,
        auto_refresh=False,
        disable=not enabled,
    )


def run_import(
    source: IO[bytes],
    *,
    fmt: str,
    tool: SourceModel,
    config: DeskConfig,
    store: Store,
    err: IO[str],
    progress: bool,
    total_bytes: int | None,
    second_opinion: SecondOpinion | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportSummary:
    """Import a file, with a progress bar on `err` when `progress`, listing invalid items."""
    reader = ItemReader(source, fmt=fmt, tool=tool)
    console = Console(file=err, force_terminal=progress or None)
    with progress_bar(console, total_bytes=total_bytes, enabled=progress) as bar:
        task = bar.add_task("import", total=total_bytes, imported=0, duplicates=0, invalid=0)

        def on_batch(summary: ImportSummary) -> None:
            bar.update(
                task,
                completed=reader.consumed,
                imported=summary.imported,
                duplicates=summary.duplicates,
                invalid=summary.invalid,
            )
            bar.refresh()

        def on_invalid(item: FileItem, errors: tuple[FieldError, ...]) -> None:
            for error in errors:
                name = f"{error.field}: " if error.field else ""
                bar.console.print(
                    f"{item.where}: {name}{error.message}",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )

        return import_items(
            reader,
            tool=tool,
            config=config,
            store=store,
            second_opinion=second_opinion,
            on_invalid=on_invalid,
            on_batch=on_batch,
            batch_size=batch_size,
        )
