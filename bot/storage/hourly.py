"""Documents of one kind in files by UTC hour, each file holding a bounded number."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from tinydb.table import Table

from bot.storage.docs import DAY, HOUR, hour_of
from bot.storage.files import Files


class HourlyFiles:
    """Documents of one kind in files by UTC hour, at most `capacity` to a file.

    An hour's first file is `YYYY/MM/DD/HH.json`; once full it continues in `HH.1.json`,
    `HH.2.json` and so on. A file's path under `root` without `.json` is its *part*, which is
    what the index records.
    """

    def __init__(self, root: Path, *, table: str, capacity: int, files: Files) -> None:
        self.root = root
        self.table_name = table
        self.capacity = capacity
        self._files = files
        self._newest: tuple[datetime, int] | None = None  # last hour written, its newest file

    def forget(self) -> None:
        """Forget which file was newest; it is looked up again."""
        self._newest = None

    @staticmethod
    def part(hour: datetime, number: int) -> str:
        """The part name of an hour's `number`-th file."""
        return f"{hour:%Y/%m/%d/%H}" + (f".{number}" if number else "")

    def path(self, part: str) -> Path:
        """The file of a part."""
        return self.root / f"{part}.json"

    def table(self, part: str) -> Table:
        """A part's table, opened (and kept open) for writing."""
        return self._files.db(self.path(part)).table(self.table_name)

    def documents(self, part: str) -> list[Mapping[str, Any]]:
        """A part's documents, read without keeping the file open."""
        return self._files.documents(self.path(part), self.table_name)

    def parts(self, hour: datetime) -> list[str]:
        """The files of one hour that exist, oldest first."""
        found: list[str] = []
        while True:
            part = self.part(hour, len(found))
            if not self.path(part).exists():
                return found
            found.append(part)

    def parts_between(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, str]]:
        """(hour, part) for each file whose hour overlaps [start, end), oldest first."""
        hour = hour_of(start)
        while hour < end:
            if not (self.root / f"{hour:%Y/%m/%d}").is_dir():
                hour = hour.replace(hour=0) + DAY
                continue
            for part in self.parts(hour):
                yield hour, part
            hour += HOUR

    def part_for(self, instant: datetime) -> str:
        """The file a new document of `instant` goes into: its hour's newest, unless full."""
        hour = hour_of(instant)
        if self._newest is not None and self._newest[0] == hour:
            number = self._newest[1]
        else:
            number = max(len(self.parts(hour)) - 1, 0)
        if len(self.table(self.part(hour, number))) >= self.capacity:
            number += 1
        self._newest = (hour, number)
        return self.part(hour, number)

    def fill(
        self, hour: datetime, docs: list[dict[str, Any]]
    ) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """Split one hour's new documents into (part, batch): the newest file's room first."""
        self._newest = None
        existing = self.parts(hour)
        number = max(len(existing) - 1, 0)
        room = self.capacity - (len(self.documents(existing[-1])) if existing else 0)
        while docs:
            if room <= 0:
                number, room = number + 1, self.capacity
            batch, docs = docs[:room], docs[room:]
            room -= len(batch)
            yield self.part(hour, number), batch
