"""Who has the App Home open, and whose Home to publish again after a change (debounced).

Pure bookkeeping with `now` passed in; the Slack edge (`bot.slack.home_refresh`) publishes.
A Home is published again only for someone who opened it within `recent`, at most once per
`debounce`: many changes in a burst give one `views.publish`, never a storm.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime, timedelta

RECENT = timedelta(minutes=30)
DEBOUNCE = timedelta(seconds=5)


class HomeViewers:
    """The people who opened the Home tab recently, and whose Home is out of date."""

    def __init__(self, *, recent: timedelta = RECENT, debounce: timedelta = DEBOUNCE) -> None:
        self.recent = recent
        self.debounce = debounce
        self._opened: dict[str, datetime] = {}
        self._published: dict[str, datetime] = {}
        self._pending: set[str] = set()
        self._lock = threading.Lock()

    def opened(self, user: str, *, now: datetime) -> None:
        """`user` opened the Home tab (and it was published for them) at `now`."""
        with self._lock:
            self._opened[user] = now
            self._published[user] = now
            self._pending.discard(user)

    def touched(self, users: Iterable[str], *, everyone: bool, now: datetime) -> None:
        """Something changed for `users` (for every recent viewer when `everyone`)."""
        with self._lock:
            for user, at in list(self._opened.items()):
                if now - at > self.recent:
                    del self._opened[user]
                    self._published.pop(user, None)
                    self._pending.discard(user)
            targets = set(self._opened) if everyone else set(users) & set(self._opened)
            self._pending |= targets

    def due(self, *, now: datetime) -> list[str]:
        """The people whose Home to publish now (each taken as published at `now`)."""
        with self._lock:
            ready = sorted(
                u for u in self._pending if now - self._published.get(u, now) >= self.debounce
            )
            for user in ready:
                self._pending.discard(user)
                self._published[user] = now
            return ready
