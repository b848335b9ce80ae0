"""The learned second opinion, as the core sees it: a protocol and the rule for using it.

The model itself lives outside the core (bot/learning); the core only asks it for an
`Opinion` and decides, by a fixed policy, what the opinion may change: it may raise a post
to urgent or to a statutory route, and never lower one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from bot.core.posts import Category, Classification, Opinion, Post

# Routes a second opinion may raise a post to, most serious first.
RAISES_TO = (Category.URGENT, Category.SUBJECT_ACCESS, Category.FOI)


class SecondOpinion(Protocol):
    """Anything that can give a category and a confidence for a post."""

    def opinion(self, post: Post) -> Opinion:
        """The category this model would choose for `post`, and how sure it is (0 to 1)."""
        ...


@dataclass(frozen=True)
class SecondOpinionPolicy:
    """How sure the second opinion must be to raise a post, or to be shown at all."""

    raise_at: float = 0.5
    show_at: float = 0.4


def _rank(category: Category) -> int:
    # Urgent outranks the statutory routes; FOI and subject access rank alike, since
    # moving between them is a correction, not a raise.
    if category is Category.URGENT:
        return 2
    return 1 if category in RAISES_TO else 0


def with_second_opinion(
    classification: Classification, opinion: Opinion, *, policy: SecondOpinionPolicy
) -> Classification:
    """The rules' classification with the second opinion applied: raise only, never lower."""
    if opinion.category is classification.category:
        return classification
    if opinion.confidence >= policy.raise_at and _rank(opinion.category) > _rank(
        classification.category
    ):
        return replace(
            classification,
            category=opinion.category,
            rule=(
                f"second opinion: {opinion.category.value} ({opinion.confidence:.0%} sure), "
                f"raised from {classification.category.value} ({classification.rule})"
            ),
            opinion=opinion,
        )
    if opinion.confidence >= policy.show_at:
        return replace(classification, opinion=opinion)
    return classification
