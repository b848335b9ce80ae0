"""The audit trail: what commsbot did and who asked, by UTC hour (`audit/YYYY/MM/DD/HH.json`)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.storage.docs import DAY, iso, start_of
from bot.storage.files import Files
from bot.storage.hourly import HourlyFiles

PER_FILE = 250


class AuditLog:
    """Appends entries to the current hour's file, 250 to a file."""

    def __init__(self, root: Path, files: Files) -> None:
        self.files = HourlyFiles(root, table="audit", capacity=PER_FILE, files=files)

    def forget(self) -> None:
        """Look the newest file up again on the next write."""
        self.files.forget()

    @staticmethod
    def entry(action: str, now: datetime, details: dict[str, Any]) -> dict[str, Any]:
        """One entry: when, what, and the details that have a value."""
        return {"at": iso(now), "action": action} | {
            k: v for k, v in details.items() if v is not None
        }

    def record(self, action: str, *, now: datetime, **details: Any) -> None:
        """Append one entry."""
        self.files.table(self.files.part_for(now)).insert(self.entry(action, now, details))

    def day(self, day: date) -> list[dict[str, Any]]:
        """The entries of one UTC day, oldest first."""
        start = start_of(day)
        return [
            copy.deepcopy(dict(doc))
            for _, part in self.files.parts_between(start, start + DAY)
            for doc in self.files.documents(part)
        ]

    def between(self, start: date, end: date) -> Iterator[dict[str, Any]]:
        """Entries from `start` to `end` inclusive, oldest first."""
        day = start
        while day <= end:
            yield from self.day(day)
            day += timedelta(days=1)
