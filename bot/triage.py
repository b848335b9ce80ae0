"""`commsbot triage`: a dry run of classification and routing over a file of posts.

Input is streamed: one post is read, triaged and printed at a time, so memory stays flat
however long the file (NDJSON line by line, a JSON array element by element). With
`--format jsonl` each post also gets the reference of its theme, grouped in `posted_at`
order: the triaged posts go to a temporary file, are placed in that order, and are then
printed in input order, so memory holds only a few numbers per post.
"""

from __future__ import annotations

import codecs
import json
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from bot.config import DeskConfig
from bot.core.opinion import SecondOpinion
from bot.core.posts import Author, Kind, Network, Post
from bot.core.routing import Triage, triage
from bot.core.themes import GroupingRun, ThemeSettings
from bot.intake import BodyError, FieldError, Item, validate_item

# Show a progress bar for inputs from this many bytes on (and only when stderr is a terminal).
PROGRESS_FROM_BYTES = 256 * 1024
_CHUNK = 64 * 1024
_WHOLE_LIMIT = 1024 * 1024
# Widths of the table's columns; longer values are cut with "…" (the rule is never cut).
_COLUMNS = (("where", 11), ("id", 22), ("account", 8), ("category", 14), ("channel", 22))
_FLAGS_WIDTH = 24


@dataclass(frozen=True)
class Record:
    """One item of an input file before validation: where it was and what it held."""

    index: int
    line: int | None
    data: Any
    error: str | None = None


class CountingReader:
    """Reads a binary stream in chunks and counts the bytes read, for the progress bar."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self.consumed = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")()

    def read_text(self) -> str | None:
        """The next chunk as text, or None at the end."""
        chunk = self._source.read(_CHUNK)
        self.consumed += len(chunk)
        try:
            if not chunk:
                tail = self._decoder.decode(b"", final=True)
                return tail or None
            return self._decoder.decode(chunk)
        except UnicodeDecodeError:
            raise BodyError(f"input is not UTF-8 text (near byte {self.consumed})") from None


def iter_records(reader: CountingReader) -> Iterator[Record]:
    """The items of a JSON array, a single JSON object, or NDJSON, one at a time.

    An input that fits in the first megabyte is first tried as one JSON document, so a
    single post written over several lines is read as one; anything longer is streamed.
    """
    buffer = ""
    at_end = False
    while len(buffer) < _WHOLE_LIMIT:
        text = reader.read_text()
        if text is None:
            at_end = True
            break
        buffer += text
    if not buffer.strip():
        raise BodyError("input is empty: give one post, a JSON array of posts, or NDJSON")
    stripped = buffer.strip()
    if at_end and stripped.startswith("{"):
        try:
            whole = json.loads(stripped)
        except (ValueError, RecursionError):
            pass  # read again line by line, which says where it goes wrong
        else:
            yield Record(index=0, line=1, data=whole)
            return
    if stripped.startswith("["):
        yield from _array_records(reader, buffer.lstrip()[1:], at_end=at_end)
    else:
        yield from _line_records(reader, buffer, at_end=at_end)


def _array_records(reader: CountingReader, buffer: str, *, at_end: bool) -> Iterator[Record]:
    decoder = json.JSONDecoder()
    index = 0
    expect_item = True
    while True:
        buffer = buffer.lstrip()
        while not buffer and not at_end:
            text = reader.read_text()
            at_end = text is None
            buffer = (text or "").lstrip()
        if not buffer:
            raise BodyError("input starts like a JSON array but is not valid JSON (no closing ])")
        if buffer[0] == "]" and (index == 0 or not expect_item):
            if index == 0:
                raise BodyError("the array is empty: nothing to triage")
            return
        if not expect_item:
            if buffer[0] != ",":
                raise BodyError(f"input is not a valid JSON array (after item {index})")
            buffer, expect_item = buffer[1:], True
            continue
        try:
            data, end = decoder.raw_decode(buffer)
        except (ValueError, RecursionError) as exc:
            # Only a JSON error can be the item running on into the next chunk; a number
            # of more digits than Python reads, or nesting too deep, cannot.
            if not isinstance(exc, json.JSONDecodeError):
                raise BodyError(
                    f"input starts like a JSON array but item {index + 1} is not valid JSON "
                    f"({_unreadable(exc)})"
                ) from None
            text = None if at_end else reader.read_text()
            if text is None:
                raise BodyError(
                    f"input starts like a JSON array but item {index + 1} is not valid JSON"
                ) from None
            buffer += text
            continue
        yield Record(index=index, line=None, data=data)
        index += 1
        buffer, expect_item = buffer[end:], False


def _line_records(reader: CountingReader, buffer: str, *, at_end: bool) -> Iterator[Record]:
    number = 0
    pending = buffer
    while True:
        lines = pending.split("\n")
        pending = lines.pop()
        text = None if at_end else reader.read_text()
        if text is None:
            at_end = True
            lines.append(pending)
            pending = ""
        else:
            pending += text
        for line in lines:
            number += 1
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except (ValueError, RecursionError) as exc:
                yield Record(number - 1, number, None, f"not valid JSON: {_unreadable(exc)}")
                continue
            yield Record(number - 1, number, data)
        if at_end and not pending:
            return


def _unreadable(exc: ValueError | RecursionError) -> str:
    """Why a piece of JSON could not be read, in a few words."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)


def validated(record: Record, config: DeskConfig) -> Item:
    """The record checked as a post in the intake format."""
    if record.error is not None:
        return Item(record.index, record.line, errors=(FieldError("", record.error),))
    return validate_item(
        record.data,
        index=record.index,
        line=record.line,
        accounts=config.desk.networks_by_account(),
        max_text_chars=config.desk.intake.max_text_chars,
    )


@dataclass(frozen=True)
class TriageRow:
    """One input post's dry-run result, or its errors."""

    item: Item
    result: Triage | None

    def as_json(self) -> dict[str, Any]:
        """The `--format jsonl` line for this post."""
        assert self.result is not None
        post, classification = self.result.post, self.result.classification
        opinion = classification.opinion
        return {
            "id": post.id,
            "network": post.network.value,
            "account": post.account,
            "category": classification.category.value,
            "channel": self.result.channel,
            "also": list(self.result.also),
            "theme": None,
            "flags": classification.flag_names,
            "rule": classification.rule,
            "second_opinion": (
                None
                if opinion is None
                else {
                    "category": opinion.category.value,
                    "confidence": round(opinion.confidence, 3),
                }
            ),
        }


def where(item: Item) -> str:
    """How to point a person at an item: its line, or its position in a JSON array."""
    return f"line {item.line}" if item.line is not None else f"item {item.index + 1}"


def run_triage(
    config: DeskConfig,
    source: IO[bytes],
    *,
    progress: bool,
    second_opinion: SecondOpinion | None = None,
    total_bytes: int | None = None,
) -> Iterator[TriageRow]:
    """Classify and route every post in `source`, yielding in input order as it is read."""
    reader = CountingReader(source)
    routing = config.routing
    with Progress(
        TextColumn("triage"),
        BarColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=not progress or total_bytes is None or total_bytes < PROGRESS_FROM_BYTES,
    ) as bar:
        task = bar.add_task("triage", total=total_bytes)
        for record in iter_records(reader):
            item = validated(record, config)
            result = None
            if item.post is not None:
                result = triage(
                    item.post,
                    classifier=config.classifier,
                    routing=routing,
                    second_opinion=second_opinion,
                    policy=config.second_opinion,
                )
            bar.update(task, completed=reader.consumed)
            yield TriageRow(item, result)


def _cell(value: str, width: int) -> str:
    shown = "".join(char if char.isprintable() else " " for char in value)
    if len(shown) > width:
        shown = shown[: width - 1] + "…"
    return shown.ljust(width)


def _table_line(cells: list[str], flags: str, rule: str) -> str:
    parts = [_cell(value, width) for value, (_, width) in zip(cells, _COLUMNS, strict=True)]
    return " ".join([*parts, _cell(flags, _FLAGS_WIDTH), rule]).rstrip()


def _post_data(post: Post) -> dict[str, Any]:
    """What grouping needs of a post, as plain data for the temporary file."""
    return {
        "id": post.id,
        "network": post.network.value,
        "account": post.account,
        "author": post.author.handle,
        "text": post.text,
        "posted_at": post.posted_at.isoformat(),
        "kind": post.kind.value,
    }


def _post_back(data: dict[str, Any]) -> Post:
    return Post(
        id=data["id"],
        network=Network(data["network"]),
        account=data["account"],
        author=Author(handle=data["author"]),
        text=data["text"],
        posted_at=datetime.fromisoformat(data["posted_at"]),
        kind=Kind(data["kind"]),
    )


class _Grouped:
    """Triaged posts waiting for their theme: kept in a temporary file, not in memory."""

    def __init__(self, spill: IO[str]) -> None:
        self._file = spill
        self._order: list[tuple[float, int, int]] = []  # (posted_at, number, offset)

    def add(self, row: TriageRow, data: dict[str, Any]) -> None:
        assert row.result is not None
        post = row.result.post
        offset = self._file.tell()
        line = {"out": data, "post": _post_data(post), "category": data["category"]}
        self._file.write(json.dumps(line, ensure_ascii=False) + "\n")
        self._order.append((post.posted_at.timestamp(), len(self._order), offset))

    def print_all(self, settings: ThemeSettings, out: IO[str]) -> None:
        """Place every post in `posted_at` order, then print them in input order."""
        refs = [""] * len(self._order)
        run = GroupingRun(settings)
        for _, number, offset in sorted(self._order):
            self._file.seek(offset)
            line = json.loads(self._file.readline())
            refs[number] = run.place(_post_back(line["post"]), line["category"]).ref
        self._file.seek(0)
        for number, raw in enumerate(self._file):
            data = json.loads(raw)["out"]
            data["theme"] = refs[number]
            print(json.dumps(data, ensure_ascii=False), file=out)


def triage_command(
    config: DeskConfig,
    source: IO[bytes],
    *,
    output_format: str,
    out: IO[str],
    err: IO[str],
    second_opinion: SecondOpinion | None = None,
    total_bytes: int | None = None,
) -> int:
    """Run the dry run and print it as it goes; exit status 1 if any post was invalid."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spill:
        grouped = _Grouped(spill) if output_format == "jsonl" else None
        status = _triage_into(
            config,
            source,
            output_format=output_format,
            out=out,
            err=err,
            grouped=grouped,
            second_opinion=second_opinion,
            total_bytes=total_bytes,
        )
    return status


def _triage_into(
    config: DeskConfig,
    source: IO[bytes],
    *,
    output_format: str,
    out: IO[str],
    err: IO[str],
    grouped: _Grouped | None,
    second_opinion: SecondOpinion | None,
    total_bytes: int | None,
) -> int:
    stderr_console = Console(file=err)
    invalid = 0
    counts: Counter[str] = Counter()
    header = False
    try:
        rows = run_triage(
            config,
            source,
            progress=stderr_console.is_terminal,
            second_opinion=second_opinion,
            total_bytes=total_bytes,
        )
        for row in rows:
            if row.result is None:
                invalid += 1
                for error in row.item.errors:
                    field = f"{error.field}: " if error.field else ""
                    print(f"{where(row.item)}: {field}{error.message}", file=err)
                continue
            data = row.as_json()
            counts[data["category"]] += 1
            if grouped is not None:
                grouped.add(row, data)
                continue
            if not header:
                titles = [title for title, _ in _COLUMNS]
                print(_table_line(titles, "flags", "rule"), file=out)
                header = True
            channels = ", ".join([data["channel"], *data["also"]])
            cells = [where(row.item), data["id"], data["account"], data["category"], channels]
            print(_table_line(cells, ", ".join(data["flags"]), data["rule"]), file=out)
    except BodyError as exc:
        print(f"error: {exc}", file=err)
        return 1
    if grouped is not None:
        grouped.print_all(config.themes, out)
    if output_format == "table":
        summary = ", ".join(f"{category}: {n}" for category, n in counts.most_common())
        print(f"Triaged {counts.total()} post(s). By category: {summary or 'nothing'}", file=out)
    if invalid:
        print(f"{invalid} invalid post(s) skipped; the rest were triaged", file=err)
    return 1 if invalid else 0
