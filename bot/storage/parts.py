"""The aggregates of one data directory, handed together to the write paths that span them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.storage.atomic import WriteBatch
from bot.storage.audit import AuditLog
from bot.storage.files import Files
from bot.storage.intents import Intents
from bot.storage.labels import LabelLog
from bot.storage.outbox import OneOffFiles
from bot.storage.posts import PostFiles
from bot.storage.themes import ThemeFiles
from bot.storage.totals import RunningTotals

if TYPE_CHECKING:
    from bot.storage.clockwork import Clockwork


@dataclass(frozen=True)
class Parts:
    """Every aggregate of the data directory. Used under the `Store`'s lock only."""

    batch: WriteBatch
    files: Files
    posts: PostFiles
    audit: AuditLog
    outbox: OneOffFiles
    themes: ThemeFiles
    labels: LabelLog
    intents: Intents
    totals: RunningTotals
    clockwork: Clockwork  # deadlines, reminders and escalations of open work

    def forget(self) -> None:
        """After a failed write: forget every cached file so the disk is read afresh."""
        self.files.forget()
        self.outbox.forget()
        self.posts.forget()
        self.audit.forget()
        self.themes.forget()
