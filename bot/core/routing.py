"""Routing: which team channel handles a classified post, and who else must see it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.core.classify import Classifier
from bot.core.flags import detect_flags
from bot.core.opinion import (
    SecondOpinion,
    SecondOpinionPolicy,
    probabilities_of,
    with_second_opinion,
)
from bot.core.posts import Category, Classification, Opinion, Post


class UnknownAccountError(LookupError):
    """A post named an account the desk does not have."""


@dataclass(frozen=True)
class RoutingTable:
    """Per account, the channel for each category (a `default` entry catches the rest).

    `round_the_clock` are the channels someone watches 24 hours a day; an urgent post whose
    channel is not one of them also goes to `duty_channel`, so risk to life is never left
    only where nobody looks at night.
    """

    routes: Mapping[str, Mapping[str, str]]
    round_the_clock: frozenset[str] = field(default=frozenset())
    duty_channel: str | None = None
    unsorted_to_duty: bool = False

    def channel_for(self, account: str, category: Category) -> str:
        """The channel that handles `category` on `account`."""
        try:
            channels = self.routes[account]
        except KeyError:
            raise UnknownAccountError(account) from None
        channel = channels.get(category.value)
        if channel is None and category is Category.UNSORTED:
            channel = channels.get(Category.ENQUIRY.value)
        channel = channel or channels.get("default")
        if channel is None:
            raise LookupError(f"account {account!r} has no channel for {category.value}")
        return channel

    def also_for(self, category: Category, channel: str) -> tuple[str, ...]:
        """Channels that must also see a post of `category` routed to `channel`."""
        watched_category = category is Category.URGENT or (
            self.unsorted_to_duty and category is Category.UNSORTED
        )
        if (
            watched_category
            and channel not in self.round_the_clock
            and self.duty_channel is not None
            and self.duty_channel != channel
        ):
            return (self.duty_channel,)
        return ()


@dataclass(frozen=True)
class Triage:
    """A post with its classification, destination channel, and channels that also see it."""

    post: Post
    classification: Classification
    channel: str
    also: tuple[str, ...] = ()


NO_TEXT_RULE = "nothing to classify: flagged with a link only (add its words or a category)"


def triage(
    post: Post,
    *,
    classifier: Classifier,
    routing: RoutingTable,
    category: Category | None = None,
    second_opinion: SecondOpinion | None = None,
    policy: SecondOpinionPolicy | None = None,
) -> Triage:
    """Classify a post (or take the category a person chose) and choose its channels.

    A second opinion, when given, may raise the rules' category (never lower it), choose one
    for a post no rule was sure about, and is kept on the classification when it disagrees.
    """
    if category is not None:
        classification = Classification(
            category, "category chosen by the person who flagged it", detect_flags(post.text)
        )
    elif not post.text.strip():
        classification = Classification(classifier.default_category, NO_TEXT_RULE)
    else:
        classification = classifier.classify(post)
        if second_opinion is not None:
            likely = probabilities_of(second_opinion, post)
            first = max(likely, key=likely.__getitem__)
            classification = with_second_opinion(
                classification,
                Opinion(first, likely[first]),
                policy=policy or SecondOpinionPolicy(),
                probabilities=likely,
            )
    channel = routing.channel_for(post.account, classification.category)
    return Triage(
        post=post,
        classification=classification,
        channel=channel,
        also=routing.also_for(classification.category, channel),
    )
