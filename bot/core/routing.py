"""Routing: which team channel handles a classified post."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.core.classify import Classifier
from bot.core.flags import detect_flags
from bot.core.posts import Category, Classification, Post


class UnknownAccountError(LookupError):
    """A post named an account the desk does not have."""


@dataclass(frozen=True)
class RoutingTable:
    """Per account, the channel for each category (a `default` entry catches the rest)."""

    routes: Mapping[str, Mapping[str, str]]

    def channel_for(self, account: str, category: Category) -> str:
        """The channel that handles `category` on `account`."""
        try:
            channels = self.routes[account]
        except KeyError:
            raise UnknownAccountError(account) from None
        channel = channels.get(category.value) or channels.get("default")
        if channel is None:
            raise LookupError(f"account {account!r} has no channel for {category.value}")
        return channel


@dataclass(frozen=True)
class Triage:
    """A post with its classification and destination channel."""

    post: Post
    classification: Classification
    channel: str


NO_TEXT_RULE = "nothing to classify: flagged with a link only (add its words or a category)"


def triage(
    post: Post,
    *,
    classifier: Classifier,
    routing: RoutingTable,
    category: Category | None = None,
) -> Triage:
    """Classify a post (or take the category a person chose) and choose its channel."""
    if category is not None:
        classification = Classification(
            category, "category chosen by the person who flagged it", detect_flags(post.text)
        )
    elif not post.text.strip():
        classification = Classification(classifier.default_category, NO_TEXT_RULE)
    else:
        classification = classifier.classify(post)
    return Triage(
        post=post,
        classification=classification,
        channel=routing.channel_for(post.account, classification.category),
    )
