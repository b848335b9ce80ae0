"""A file of a tool's items (a CSV export, JSON or NDJSON), read one item at a time.

Reading streams: memory stays flat however long the file. CSV rows become flat objects, with
dotted column names (`author.handle`) made nested, so one mapping serves both the tool's
webhook and its export.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from bot.config.sources_model import SourceModel
from bot.intake import BodyError
from bot.sources.mapping import items_in
from bot.triage import CountingReader, iter_records

CSV = "csv"
JSON = "json"


@dataclass(frozen=True)
class FileItem:
    """One item of a file: where it is, and what it holds or why it cannot be read."""

    index: int
    line: int | None
    where: str
    data: Any
    error: str | None = None


class _CountingBytes(io.RawIOBase):
    """A binary stream that counts the bytes read from it, for the progress bar."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._source.read(len(buffer))
        buffer[: len(chunk)] = chunk
        self.consumed += len(chunk)
        return len(chunk)


def file_format(name: str, given: str | None = None) -> str:
    """The format of a file: as given, else csv for a .csv name, else JSON or NDJSON."""
    if given is not None:
        return given
    return CSV if name.lower().endswith(".csv") else JSON


def nested(row: dict[str | None, Any]) -> dict[str, Any]:
    """A CSV row as an object: empty cells left out, `a.b` columns as {"a": {"b": ...}}."""
    found: dict[str, Any] = {}
    for column, cell in row.items():
        if column is None or cell is None or (isinstance(cell, str) and not cell.strip()):
            continue
        parts = column.strip().split(".")
        target = found
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = cell
    return found


def _check_columns(columns: list[str] | None) -> list[str]:
    if not columns:
        raise BodyError("the CSV file has no header row naming its columns")
    names = [column.strip() for column in columns]
    for name in names:
        if any(other.startswith(name + ".") for other in names):
            raise BodyError(
                f"column {name!r} and a column under it ({name}.…) cannot both be given"
            )
    return names


class ItemReader:
    """The items of one file, and how far through it reading has gone (in bytes)."""

    def __init__(self, source: IO[bytes], *, fmt: str, tool: SourceModel) -> None:
        self._source = source
        self._format = fmt
        self._tool = tool
        self._bytes: _CountingBytes | None = None
        self._text: CountingReader | None = None

    @property
    def consumed(self) -> int:
        """Bytes read so far."""
        counter = self._bytes or self._text
        return counter.consumed if counter is not None else 0

    def __iter__(self) -> Iterator[FileItem]:
        if self._format == CSV:
            yield from self._csv_items()
        else:
            yield from self._json_items()

    def _csv_items(self) -> Iterator[FileItem]:
        self._bytes = _CountingBytes(self._source)
        text = io.TextIOWrapper(io.BufferedReader(self._bytes), encoding="utf-8-sig", newline="")
        try:
            rows = csv.DictReader(text)
            _check_columns(list(rows.fieldnames or []))
            for index, row in enumerate(rows):
                line = rows.line_num
                yield FileItem(index, line, f"line {line}", nested(row))
        except UnicodeDecodeError:
            raise BodyError(
                f"the file is not UTF-8 text (near byte {self._bytes.consumed})"
            ) from None
        except csv.Error as exc:
            raise BodyError(f"not valid CSV: {exc}") from None

    def _json_items(self) -> Iterator[FileItem]:
        self._text = CountingReader(self._source)
        index = 0
        for record in iter_records(self._text):
            place = f"line {record.line}" if record.line is not None else f"item {record.index + 1}"
            if record.error is not None or self._tool.items_path is None:
                yield FileItem(index, record.line, place, record.data, record.error)
                index += 1
                continue
            try:
                found = items_in(record.data, self._tool)
            except BodyError as exc:
                yield FileItem(index, record.line, place, None, str(exc))
                index += 1
                continue
            for number, item in enumerate(found, 1):
                yield FileItem(index, record.line, f"{place}, item {number}", item)
                index += 1
