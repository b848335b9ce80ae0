"""The learned second opinion, as the core sees it: a protocol and the rule for using it.

The model itself lives outside the core (bot/learning); the core only asks it how likely
each category is and decides, by a fixed policy, what the opinion may change:
- it may raise a post to urgent, or to a statutory route (FOI, subject access), and never
  lowers one. Urgent has its own, lower threshold: a false alarm costs someone a look, a
  missed risk can cost a life;
- for a post no rule was sure about (unsorted), it may choose one of the categories listed
  in `choose_at` when it is at least that sure, and says so on the post; below that the
  post stays unsorted for a person;
- otherwise it never changes a route, and is shown when it disagrees and is sure enough.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

from bot.core.posts import Category, Classification, Opinion, Post

# Routes a second opinion may raise a post to, most serious first.
RAISES_TO = (Category.URGENT, Category.SUBJECT_ACCESS, Category.FOI)
STATUTORY = (Category.SUBJECT_ACCESS, Category.FOI)


class SecondOpinion(Protocol):
    """Anything that can give a category and a confidence for a post."""

    def opinion(self, post: Post) -> Opinion:
        """The category this model would choose for `post`, and how sure it is (0 to 1)."""
        ...


@runtime_checkable
class GradedOpinion(Protocol):
    """A second opinion that also says how likely every category is."""

    def opinion(self, post: Post) -> Opinion:
        """The category this model would choose for `post`, and how sure it is (0 to 1)."""
        ...

    def probabilities(self, post: Post) -> Mapping[Category, float]:
        """How likely each category is for `post`, summing to 1."""
        ...


@dataclass(frozen=True)
class SecondOpinionPolicy:
    """How sure the second opinion must be to raise a post, choose one, or be shown.

    `raise_at` is for the statutory routes; `urgent_at` (when set) for urgent, compared with
    the probability of urgent even when the model thinks something else likelier;
    `choose_at` maps the categories the model may choose for an unsorted post to how sure
    it must be (empty: it never chooses).
    """

    raise_at: float = 0.5
    show_at: float = 0.4
    urgent_at: float | None = None
    choose_at: Mapping[Category, float] = field(default_factory=dict)


def probabilities_of(model: SecondOpinion, post: Post) -> dict[Category, float]:
    """Every category's probability if the model gives them, else only its first choice's."""
    if isinstance(model, GradedOpinion):
        return dict(model.probabilities(post))
    said = model.opinion(post)
    return {said.category: said.confidence}


def _rank(category: Category) -> int:
    # Urgent outranks the statutory routes; FOI and subject access rank alike, since
    # moving between them is a correction, not a raise.
    if category is Category.URGENT:
        return 2
    return 1 if category in RAISES_TO else 0


# How the rule of a post the model filed (no rule was sure) reads, after the model's view.
_CHOSEN = " — no rule was sure"


def decided_by_opinion(classification: Classification) -> str | None:
    """ "raised" when the second opinion raised the post above the rules' category, "chosen"
    when it filed a post no rule was sure of, None when the rules' category stands."""
    opinion = classification.opinion
    if opinion is None or opinion.category is not classification.category:
        return None
    return "chosen" if _CHOSEN in classification.rule else "raised"


def _raised(classification: Classification, opinion: Opinion) -> Classification:
    return replace(
        classification,
        category=opinion.category,
        rule=(
            f"second opinion: {opinion.category.value} ({opinion.confidence:.0%} sure), "
            f"raised from {classification.category.value} ({classification.rule})"
        ),
        opinion=opinion,
    )


def with_second_opinion(
    classification: Classification,
    opinion: Opinion,
    *,
    policy: SecondOpinionPolicy,
    probabilities: Mapping[Category, float] | None = None,
) -> Classification:
    """The rules' classification with the second opinion applied: raise only, never lower.

    `opinion` is the model's first choice; `probabilities`, when known, every category's.
    """
    likely = dict(probabilities) if probabilities else {opinion.category: opinion.confidence}
    rank = _rank(classification.category)
    urgent = likely.get(Category.URGENT, 0.0)
    urgent_at = policy.urgent_at if policy.urgent_at is not None else policy.raise_at
    if rank < 2 and urgent >= urgent_at:
        return _raised(classification, Opinion(Category.URGENT, urgent))
    statutory = max(STATUTORY, key=lambda category: likely.get(category, 0.0))
    if rank < 1 and likely.get(statutory, 0.0) >= policy.raise_at:
        return _raised(classification, Opinion(statutory, likely[statutory]))
    if opinion.category is classification.category:
        return classification
    choose_at = policy.choose_at.get(opinion.category)
    if (
        classification.category is Category.UNSORTED
        and choose_at is not None
        and opinion.confidence >= choose_at
    ):
        return replace(
            classification,
            category=opinion.category,
            rule=(
                f"second opinion: {opinion.category.value} ({opinion.confidence:.0%} sure)"
                f"{_CHOSEN} ({classification.rule})"
            ),
            opinion=opinion,
        )
    if opinion.confidence >= policy.show_at:
        return replace(classification, opinion=opinion)
    return classification
