"""The desk: the application service that takes posts in and hands them to the outbox.

It joins the pure core (classification, routing, templates) to storage; Slack delivery
happens later, from the outbox.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.config import DeskConfig
from bot.core.flagging import parse_flag, post_from_flag
from bot.core.opinion import SecondOpinion
from bot.core.posts import Category, Classification, Flag, FlagHit, Post
from bot.core.routing import Triage, triage
from bot.core.templating import TemplateRenderer
from bot.learning import load_second_opinion
from bot.slack.messages import routed_post_message, undeliverable_message
from bot.storage import PostToAccept, Store, post_from_doc


@dataclass(frozen=True)
class Intake:
    """The outcome of offering one post to the desk."""

    status: Literal["accepted", "duplicate"]
    key: str
    triage: Triage


class Desk:
    """Takes posts in: classifies, routes, stores durably and queues the Slack message."""

    def __init__(
        self,
        *,
        config: DeskConfig,
        store: Store,
        renderer: TemplateRenderer,
        on_queued: Callable[[], None] = lambda: None,
        second_opinion: SecondOpinion | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.renderer = renderer
        self.routing = config.routing
        self._on_queued = on_queued
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

    def report_undeliverable(
        self, *, channel: str, post_key: str | None, error: str, now: datetime
    ) -> None:
        """Tell the alerts channel that a message could not be delivered, and why."""
        alerts = self.config.desk.alerts_channel
        if alerts is None or channel == alerts:
            return  # nowhere to report, or the alerts channel is itself what failed
        text, blocks = undeliverable_message(
            self.renderer, channel=channel, post_key=post_key, error=error
        )
        self.store.queue_message(channel=alerts, text=text, blocks=blocks, now=now)
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

    def take(self, post: Post, *, now: datetime, category: Category | None = None) -> Intake:
        """Accept a post: on disk with its queued Slack message before this returns."""
        return self._take([(post, category)], now=now)[0]

    def _offer(
        self, post: Post, *, now: datetime, category: Category | None
    ) -> tuple[PostToAccept, Triage]:
        """Triage a post and build what storing it takes: its message and routing."""
        result = self.triage(post, category=category)
        desk = self.config.desk
        breaches = None
        if result.classification.category is Category.MODERATION:
            # Counted once per post, so a repeat or a retry after a crash adds nothing.
            breaches = self.store.record_breach(
                account=post.account, author=post.author.handle, post_key=post.key, now=now
            )
        message = routed_post_message(
            self.renderer,
            post=post,
            classification=result.classification,
            account_name=self.config.account(post.account).name,
            zone=self.config.zone,
            mask_personal_data_in_text=desk.personal_data.mask_in_slack,
            channel=result.channel,
            also=result.also,
            breaches=breaches,
            suggest_block_after=desk.moderation.suggest_block_after,
        )
        if result.also and self.store.get_post_record(post.key) is None:
            # Risk to life also goes where someone watches at night. Queued before the post
            # is accepted: a crash in between sends this copy again rather than never.
            for channel in result.also:
                self.store.queue_message(
                    channel=channel, text=message[0], blocks=message[1], now=now
                )
        return PostToAccept(post, result.classification, result.channel, message), result

    def rebuild_outbox(self, *, now: datetime) -> int:
        """Queue again the message of every post never delivered whose message was lost
        (a damaged outbox file was quarantined). Returns how many were queued."""
        messages = []
        for doc in self.store.posts_to_requeue():
            post = post_from_doc(doc)
            classification = Classification(
                category=Category(doc["category"]),
                rule=doc["rule"],
                flags=tuple(
                    FlagHit(Flag(name), reason)
                    for name, reason in zip(doc["flags"], doc["flag_reasons"], strict=False)
                ),
            )
            message = routed_post_message(
                self.renderer,
                post=post,
                classification=classification,
                account_name=self.config.account(post.account).name,
                zone=self.config.zone,
            )
            messages.append((doc["key"], doc["channel"], message))
        self.store.requeue(messages, now=now)
        if messages:
            self._on_queued()
        return len(messages)

    def take_all(self, posts: list[Post], *, now: datetime) -> list[Intake]:
        """Accept a batch of posts: all on disk with their Slack messages before this returns.

        One durable write per file touched rather than several per post, so a large batch
        from a monitoring tool is answered quickly. Results are in the order of `posts`.
        """
        return self._take([(post, None) for post in posts], now=now)

    def _take(self, posts: list[tuple[Post, Category | None]], *, now: datetime) -> list[Intake]:
        offers: list[PostToAccept] = []
        results: list[Triage] = []
        for post, category in posts:
            offer, result = self._offer(post, now=now, category=category)
            offers.append(offer)
            results.append(result)
        outcomes = self.store.accept_posts(offers, now=now) if offers else []
        if any(outcome.status == "accepted" for outcome in outcomes):
            self._on_queued()
        return [
            Intake(status=outcome.status, key=outcome.key, triage=result)
            for outcome, result in zip(outcomes, results, strict=True)
        ]
