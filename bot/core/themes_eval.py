"""Measuring a grouping against a themes corpus with gold theme ids.

Figures:
  - pairwise precision/recall/F1 over pairs of posts put in one theme (gold vs predicted);
  - B-cubed precision/recall/F1 (per post: how much of its predicted theme is in its gold
    theme, and how much of its gold theme it was put with), averaged over posts;
  - posts of individual categories (statutory, urgent, moderation, unknown) wrongly merged:
    put in a theme with any post outside their gold theme. Must be 0;
  - incidents: gold incident themes (two or more reports of one emergency) kept whole, and
    reports grouped with their incident; repeats likewise;
  - people in danger: reports the gold set apart from an incident, and whether each was
    raised on its own; and posts raised on their own that the gold put in the crowd.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.core.posts import Post
from bot.core.themes import (
    ConversationSimilarity,
    Placed,
    ThemeSettings,
    place_in_order,
)


@dataclass(frozen=True)
class GoldPost:
    """A post of a themes corpus with its gold category and gold theme id."""

    post: Post
    category: str
    theme: str
    scenario: str | None = None


@dataclass(frozen=True)
class Scores:
    """Precision, recall and their harmonic mean."""

    precision: float
    recall: float
    f1: float

    @classmethod
    def of(cls, precision: float, recall: float) -> Scores:
        """Scores from precision and recall (F1 is 0 when both are)."""
        total = precision + recall
        return cls(precision, recall, 2 * precision * recall / total if total else 0.0)


@dataclass(frozen=True)
class Handling:
    """How many of some gold items the grouping handled as the rules demand."""

    total: int
    correct: int


@dataclass(frozen=True)
class ThemeEvaluation:
    """Every figure of one evaluation run."""

    posts: int
    gold_themes: int
    predicted_themes: int
    pairwise: Scores
    bcubed: Scores
    conversational_bcubed: Scores
    wrongly_merged: dict[str, int]
    individual_posts: int
    incidents_kept_whole: Handling
    incident_reports_grouped: Handling
    repeats_kept_whole: Handling
    people_in_danger_raised: Handling
    raised_but_gold_in_crowd: int
    mistakes: tuple[dict[str, Any], ...] = field(default=(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (without the list of mistakes)."""
        data = asdict(self)
        data.pop("mistakes")
        return data

    @property
    def wrongly_merged_total(self) -> int:
        """Individual-category posts merged with posts outside their gold theme."""
        return sum(self.wrongly_merged.values())


def pairwise_scores(gold: Sequence[str], predicted: Sequence[str]) -> Scores:
    """Precision and recall over the pairs of posts that share a theme."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted must label the same posts")
    both = Counter(zip(gold, predicted, strict=True))
    gold_sizes, predicted_sizes = Counter(gold), Counter(predicted)

    def pairs(sizes: Counter[Any]) -> int:
        return sum(n * (n - 1) // 2 for n in sizes.values())

    together = pairs(both)
    predicted_pairs, gold_pairs = pairs(predicted_sizes), pairs(gold_sizes)
    precision = together / predicted_pairs if predicted_pairs else 1.0
    recall = together / gold_pairs if gold_pairs else 1.0
    return Scores.of(precision, recall)


def bcubed_scores(
    gold: Sequence[str], predicted: Sequence[str], *, only: Sequence[bool] | None = None
) -> Scores:
    """B-cubed precision and recall, averaged over posts (or over the posts marked in `only`)."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted must label the same posts")
    both = Counter(zip(gold, predicted, strict=True))
    gold_sizes, predicted_sizes = Counter(gold), Counter(predicted)
    chosen = [i for i in range(len(gold)) if only is None or only[i]]
    if not chosen:
        return Scores.of(1.0, 1.0)
    precision = sum(both[(gold[i], predicted[i])] / predicted_sizes[predicted[i]] for i in chosen)
    recall = sum(both[(gold[i], predicted[i])] / gold_sizes[gold[i]] for i in chosen)
    return Scores.of(precision / len(chosen), recall / len(chosen))


def _kept_whole(groups: dict[str, list[int]], predicted: Sequence[str]) -> Handling:
    """Gold groups whose posts all share one predicted theme holding nothing else."""
    members: dict[str, int] = Counter(predicted)
    correct = 0
    for indices in groups.values():
        refs = {predicted[i] for i in indices}
        if len(refs) == 1 and members[next(iter(refs))] == len(indices):
            correct += 1
    return Handling(total=len(groups), correct=correct)


def _grouped_with_majority(groups: dict[str, list[int]], predicted: Sequence[str]) -> Handling:
    """Posts of gold groups that sit in their group's most common predicted theme."""
    total = correct = 0
    for indices in groups.values():
        counts = Counter(predicted[i] for i in indices)
        top = max(counts.values())
        total += len(indices)
        correct += top
    return Handling(total=total, correct=correct)


def evaluate_grouping(
    gold_posts: Sequence[GoldPost],
    *,
    settings: ThemeSettings,
    similarity: ConversationSimilarity | None = None,
) -> ThemeEvaluation:
    """Group `gold_posts` (categories as given) and measure the result against the gold themes."""
    placed = place_in_order(
        [(g.post, g.category) for g in gold_posts], settings=settings, similarity=similarity
    )
    return measure(gold_posts, placed, settings=settings)


def measure(
    gold_posts: Sequence[GoldPost], placed: Sequence[Placed], *, settings: ThemeSettings
) -> ThemeEvaluation:
    """The figures for a grouping already made (`placed[i]` is the placement of post i)."""
    gold = [g.theme for g in gold_posts]
    predicted = [p.ref for p in placed]
    conversational = [g.category in settings.conversational_categories for g in gold_posts]
    gold_members: dict[str, list[int]] = defaultdict(list)
    predicted_members: dict[str, list[int]] = defaultdict(list)
    for index, (g, p) in enumerate(zip(gold, predicted, strict=True)):
        gold_members[g].append(index)
        predicted_members[p].append(index)

    wrongly_merged: Counter[str] = Counter()
    individual = 0
    mistakes: list[dict[str, Any]] = []
    for index, item in enumerate(gold_posts):
        if item.category in settings.conversational_categories:
            continue
        individual += 1
        strangers = [j for j in predicted_members[predicted[index]] if gold[j] != gold[index]]
        if strangers:
            wrongly_merged[item.category] += 1
            mistakes.append(
                {"problem": "wrongly_merged", "id": item.post.id, "ref": predicted[index]}
            )

    def all_in(indices: list[int], categories: frozenset[str]) -> bool:
        return all(gold_posts[i].category in categories for i in indices)

    incidents = {
        theme: indices
        for theme, indices in gold_members.items()
        if len(indices) > 1 and all_in(indices, settings.incident_categories)
    }
    repeats = {
        theme: indices
        for theme, indices in gold_members.items()
        if len(indices) > 1 and all_in(indices, settings.repeat_categories)
    }
    incident_scenarios = {
        (gold_posts[indices[0]].post.account, gold_posts[indices[0]].scenario)
        for indices in incidents.values()
    }
    in_danger = [
        indices[0]
        for indices in gold_members.values()
        if len(indices) == 1
        and gold_posts[indices[0]].category in settings.incident_categories
        and (gold_posts[indices[0]].post.account, gold_posts[indices[0]].scenario)
        in incident_scenarios
    ]
    raised = sum(
        1
        for i in in_danger
        if placed[i].placement.raise_individually and len(predicted_members[predicted[i]]) == 1
    )
    for i in in_danger:
        if not placed[i].placement.raise_individually:
            mistakes.append({"problem": "not_raised", "id": gold_posts[i].post.id})
    in_crowd = {i for indices in incidents.values() for i in indices}
    raised_in_crowd = sum(1 for i in in_crowd if placed[i].placement.raise_individually)

    for theme, indices in sorted(gold_members.items()):
        if not all(conversational[i] for i in indices):
            continue
        refs = sorted({predicted[i] for i in indices})
        if len(refs) > 1:
            mistakes.append({"problem": "split", "gold": theme, "refs": refs})
    for ref, indices in sorted(predicted_members.items()):
        themes = sorted({gold[i] for i in indices})
        if len(themes) > 1:
            mistakes.append({"problem": "merged", "ref": ref, "gold": themes})

    return ThemeEvaluation(
        posts=len(gold_posts),
        gold_themes=len(gold_members),
        predicted_themes=len(predicted_members),
        pairwise=pairwise_scores(gold, predicted),
        bcubed=bcubed_scores(gold, predicted),
        conversational_bcubed=bcubed_scores(gold, predicted, only=conversational),
        wrongly_merged=dict(sorted(wrongly_merged.items())),
        individual_posts=individual,
        incidents_kept_whole=_kept_whole(incidents, predicted),
        incident_reports_grouped=_grouped_with_majority(incidents, predicted),
        repeats_kept_whole=_kept_whole(repeats, predicted),
        people_in_danger_raised=Handling(total=len(in_danger), correct=raised),
        raised_but_gold_in_crowd=raised_in_crowd,
        mistakes=tuple(mistakes),
    )
