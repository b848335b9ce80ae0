"""Running totals for the Home tab and /healthz: counted as posts arrive, never recounted.

Posts received are counted in quarter-hour slots of UTC time (every time zone's midnight
falls on a quarter hour), for the last `KEPT` only: enough to answer "how many today" in any
zone without reading history. The counts live in memory; at start they are rebuilt from the
posts files of that period, which the start-up check reads anyway. Reading them takes only
this object's own lock, never the store's, so a busy Home tab cannot slow intake.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime, timedelta

from bot.storage.docs import utc

SLOT_SECONDS = 15 * 60
KEPT = timedelta(days=3)


def _slot(instant: datetime) -> int:
    return int(utc(instant).timestamp()) // SLOT_SECONDS


class RunningTotals:
    """Posts received per quarter hour over the last few days."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[int, int] = {}
        self._since: int | None = None  # first slot counted in full

    def reset(self, *, since: datetime, received: Iterable[datetime]) -> None:
        """Count again: every post received at or after `since` (a rebuild from the files)."""
        slots: dict[int, int] = {}
        # The first whole slot at or after `since` (the one it falls in may be partly read).
        first = -(-int(utc(since).timestamp()) // SLOT_SECONDS)
        for instant in received:
            slot = _slot(instant)
            if slot >= first:
                slots[slot] = slots.get(slot, 0) + 1
        with self._lock:
            self._slots = slots
            self._since = first

    def add(self, instant: datetime, count: int = 1) -> None:
        """Count `count` posts received at `instant`."""
        slot = _slot(instant)
        with self._lock:
            self._slots[slot] = self._slots.get(slot, 0) + count
            oldest = slot - int(KEPT.total_seconds()) // SLOT_SECONDS
            if self._since is None or self._since < oldest:
                self._since = oldest
                for old in [s for s in self._slots if s < oldest]:
                    del self._slots[old]

    def received_between(self, start: datetime, end: datetime) -> int | None:
        """Posts received in [start, end), or None if that reaches before what is counted.

        `start` and `end` are rounded down to their quarter hour.
        """
        first, last = _slot(start), _slot(end)
        with self._lock:
            if self._since is None or first < self._since:
                return None
            return sum(count for slot, count in self._slots.items() if first <= slot < last)
