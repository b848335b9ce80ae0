"""Routing: which team channel handles a classified post."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.core.classify import Classifier
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


def triage(post: Post, *, classifier: Classifier, routing: RoutingTable) -> Triage:
    """Classify a post and choose its channel."""
    classification = classifier.classify(post)
    return Triage(
        post=post,
        classification=classification,
        channel=routing.channel_for(post.account, classification.category),
    )
