"""The desk: the application service that takes posts in and places them in themes.

It joins the pure core (classification, routing, themes) to storage. It hands over data and
never builds a Slack message: the store records what changed, and the Slack edge renders
each theme's messages from the stored state when it sends them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from bot.config import DeskConfig
from bot.core.flagging import parse_flag, post_from_flag
from bot.core.opinion import SecondOpinion
from bot.core.posts import Category, Post
from bot.core.routing import Triage, triage
from bot.learning import load_second_opinion
from bot.storage import PostToAccept, Store
from bot.storage.clockwork import SweepOutcome

# The one-off message that tells the alerts channel what could not be delivered.
UNDELIVERABLE = "undeliverable"
# The daily digest reads at most this many themes, and lists this many per channel.
DIGEST_LIMIT = 2000
DIGEST_PER_CHANNEL = 25


@dataclass(frozen=True)
class Intake:
    """The outcome of offering one post to the desk, with the theme it is in."""

    status: Literal["accepted", "duplicate"]
    key: str
    triage: Triage
    theme: str | None = None


class Desk:
    """Takes posts in: classifies, routes, and stores each placed in a theme."""

    def __init__(
        self,
        *,
        config: DeskConfig,
        store: Store,
        on_queued: Callable[[], None] = lambda: None,
        second_opinion: SecondOpinion | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.routing = config.routing
        self._on_queued = on_queued
        # Called with the themes posts were placed in (suggested replies refresh them).
        self.on_placed: Callable[[tuple[str, ...], datetime], None] = lambda refs, now: None
        # The model `commsbot train` stored in the data directory, if any: the bot starts
        # without one.
        self.second_opinion = (
            second_opinion if second_opinion is not None else load_second_opinion(store.data_dir)
        )

    def flag(self, argument: str, *, flagged_by: str, now: datetime) -> Intake:
        """Take a post a member of staff flagged with `/comms flag <argument>`."""
        request = parse_flag(
            argument,
            accounts=self.config.desk.accounts.keys(),
            default_account=self.config.desk.default_account,
        )
        post = post_from_flag(request, flagged_by=flagged_by, now=now)
        return self.take(post, now=now, category=request.category)

    def mark_answered(self, ref: str, *, by: str | None, now: datetime) -> None:
        """Theme `ref` is answered (its reply was published or marked posted): its reminders
        and escalations stop. KeyError if there is no such theme."""
        self.store.mark_theme_answered(ref, by=by, now=now)
        self._on_queued()

    def sweep_clocks(self, *, now: datetime) -> SweepOutcome:
        """Queue the reminders and escalation DMs due at `now` (each once)."""
        outcome = self.store.sweep_clocks(now=now)
        if outcome.reminders or outcome.escalation_dms:
            self._on_queued()
        return outcome

    def escalate(self, ref: str, *, target: str, note: str | None, by: str, now: datetime) -> None:
        """Escalate theme `ref` by hand to a role or a person; they are told at once."""
        self.store.escalate(ref, target=target, note=note, by=by, now=now)
        self.sweep_clocks(now=now)

    def daily_digest(self, *, now: datetime) -> int:
        """Queue, for each channel, what is due today and what is overdue, once a day; how
        many channels (0 when it was already sent today)."""
        calendar = self.config.clocks.calendar
        today = calendar.local_date(now)
        rows: dict[str, list[dict[str, Any]]] = {}
        themes, _ = self.store.waiting_themes(limit=DIGEST_LIMIT)
        for stored in themes:
            clock = stored.clock
            if clock is None or calendar.local_date(clock.due_at) > today:
                break  # by due date: the rest are due later
            channel = stored.theme.channel_names[0]
            rows.setdefault(channel, []).append(
                {
                    "ref": stored.theme.ref,
                    "title": stored.theme.title,
                    "due": clock.due_at.astimezone(calendar.zone).strftime("%H:%M"),
                    "overdue": clock.due_at <= now,
                    "owner": stored.theme.owner,
                }
            )
        if not rows:
            return 0
        queued = self.store.queue_daily_digest(
            day=today,
            channels={
                channel: {"channel": channel, "rows": found[:DIGEST_PER_CHANNEL]}
                for channel, found in rows.items()
            },
            now=now,
        )
        if not queued:
            return 0  # already sent today (the job ran again after a restart)
        self._on_queued()
        return len(rows)

    def report_undeliverable(
        self, *, channel: str, what: Mapping[str, Any], error: str, now: datetime
    ) -> None:
        """Tell the alerts channel that something could not be delivered to `channel`, and why.

        `what` says what it was: `{"theme": "T-0042"}` for a theme's view, or
        `{"message": <kind>}` (and `post` for one an earlier commsbot rendered).
        """
        alerts = self.config.desk.alerts_channel
        if alerts is None or channel == alerts:
            return  # nowhere to report, or the alerts channel is itself what failed
        self.store.queue_message(
            channel=alerts,
            kind=UNDELIVERABLE,
            data={"channel": channel, "what": dict(what), "error": error},
            now=now,
        )
        self._on_queued()

    def triage(self, post: Post, *, category: Category | None = None) -> Triage:
        """Classify and route a post without storing anything."""
        return triage(
            post,
            classifier=self.config.classifier,
            routing=self.routing,
            category=category,
            second_opinion=self.second_opinion,
            policy=self.config.second_opinion,
        )

    def channels_for(self, account: str, category: Category) -> tuple[str, ...]:
        """Where a post of `category` on `account` is shown: its channel, then any that also
        see it (a duty channel): what re-categorising a post or theme moves it to."""
        channel = self.routing.channel_for(account, category)
        return (channel, *self.routing.also_for(category, channel))

    def take(self, post: Post, *, now: datetime, category: Category | None = None) -> Intake:
        """Accept a post: on disk, placed in a theme, before this returns."""
        return self._take([(post, category)], now=now)[0]

    def take_all(self, posts: list[Post], *, now: datetime) -> list[Intake]:
        """Accept a batch of posts: all on disk in their themes before this returns.

        One durable write per file touched rather than several per post, so a large batch
        from a monitoring tool is answered quickly. Results are in the order of `posts`.
        """
        return self._take([(post, None) for post in posts], now=now)

    def _offer(self, post: Post, *, now: datetime, category: Category | None) -> PostToAccept:
        """Triage a post and say what storing it takes: its routing and breach count."""
        result = self.triage(post, category=category)
        breaches = None
        if result.classification.category is Category.MODERATION:
            # Counted once per post, so a repeat or a retry after a crash adds nothing.
            breaches = self.store.record_breach(
                account=post.account, author=post.author.handle, post_key=post.key, now=now
            )
        return PostToAccept(
            post, result.classification, result.channel, tuple(result.also), breaches
        )

    def _take(self, posts: list[tuple[Post, Category | None]], *, now: datetime) -> list[Intake]:
        offers = [self._offer(post, now=now, category=category) for post, category in posts]
        outcomes = self.store.accept_posts(offers, now=now) if offers else []
        if any(outcome.status == "accepted" for outcome in outcomes):
            self._on_queued()
            placed = (o.theme for o in outcomes if o.status == "accepted" and o.theme)
            self.on_placed(tuple(dict.fromkeys(placed)), now)
        return [
            Intake(
                status=outcome.status,
                key=outcome.key,
                triage=Triage(
                    post=offer.post,
                    classification=offer.classification,
                    channel=offer.channel,
                    also=offer.also,
                ),
                theme=outcome.theme,
            )
            for outcome, offer in zip(outcomes, offers, strict=True)
        ]
