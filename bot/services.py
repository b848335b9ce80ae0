"""The running bot's parts, handed to listeners, web handlers and jobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.config import DeskConfig
from bot.core.calendar import local_day_bounds
from bot.core.people import Membership, NamedOnly
from bot.core.templating import TemplateRenderer
from bot.desk import Desk
from bot.home import HomeViewers
from bot.replies_desk import ReplyDesk
from bot.storage import OutboxStats, Store


def utcnow() -> datetime:
    """The current instant in UTC (the one place the edge reads the clock)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class DeskStatus:
    """A snapshot of the desk for the App Home tab and /healthz."""

    posts_today: int
    outbox: OutboxStats
    accounts: dict[str, str]
    routes: dict[str, dict[str, str]]


@dataclass
class Services:
    """Everything a listener, web handler or scheduled job needs."""

    config: DeskConfig
    store: Store
    renderer: TemplateRenderer
    desk: Desk
    clock: Callable[[], datetime] = utcnow
    # Who is one of a set of people (desk members, admins): user groups resolved through
    # Slack by the runtime; without Slack, named users only.
    people: Membership = field(default_factory=NamedOnly)
    home: HomeViewers = field(default_factory=HomeViewers)  # who to show changes to
    replies: ReplyDesk | None = None  # suggested replies (None without replies.yaml)

    def desk_status(self) -> DeskStatus:
        """What the desk looks like now."""
        now = self.clock()
        accounts = self.config.desk.accounts
        day_start, day_end = local_day_bounds(now, self.config.zone)
        # Running totals, read without the store's lock: opening the Home tab never slows
        # intake, however busy the day.
        return DeskStatus(
            posts_today=self.store.posts_received_between(day_start, day_end),
            outbox=self.store.outbox_stats(now),
            accounts={key: account.name for key, account in accounts.items()},
            routes={key: dict(routes) for key, routes in self.desk.routing.routes.items()},
        )
