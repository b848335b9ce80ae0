"""Slack event ids already handled, by UTC hour (`events/YYYYMMDDHH.json`), pruned after a day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tinydb import Query

from bot.storage.docs import HOUR, hour_of, iso, utc
from bot.storage.files import Files

# Slack retries an unacknowledged event after about a minute and again after five.
RETRY_HOURS = 2


class EventIds:
    """Which Slack events were handled, so Slack's retries are ignored."""

    def __init__(self, directory: Path, files: Files) -> None:
        self.directory = directory
        self._files = files

    def _path(self, hour: datetime) -> Path:
        return self.directory / f"{hour:%Y%m%d%H}.json"

    def handled(self, event_id: str, *, now: datetime) -> bool:
        """Whether an event id was recorded as handled within Slack's retry window."""
        hour = hour_of(utc(now))
        for back in range(RETRY_HOURS + 1):
            path = self._path(hour - back * HOUR)
            if back and not path.exists():
                continue
            if self._files.db(path).table("events").contains(Query().event_id == event_id):
                return True
        return False

    def record(self, event_id: str, *, now: datetime) -> None:
        """Record an event id as handled (one write), so Slack's retries are ignored."""
        self._files.db(self._path(hour_of(utc(now)))).table("events").insert(
            {"event_id": event_id, "seen_at": iso(now)}
        )

    def first_sighting(self, event_id: str, *, now: datetime) -> bool:
        """True the first time an event id is seen; records it so retries are ignored."""
        if self.handled(event_id, now=now):
            return False
        self.record(event_id, now=now)
        return True

    def prune(self, *, older_than: timedelta, now: datetime) -> int:
        """Forget handled event ids older than `older_than`; how many were forgotten."""
        cutoff_hour = hour_of(utc(now - older_than))
        removed = 0
        for path in sorted(self.directory.glob("*.json")):
            hour = datetime.strptime(path.stem, "%Y%m%d%H").replace(tzinfo=UTC)
            if hour >= cutoff_hour:
                continue
            removed += len(self._files.documents(path, "events"))
            self._files.drop(path)
            path.unlink()
        return removed
