"""`commsbot evaluate`: how well triage does on a labelled corpus.

Streams the corpus (memory stays flat in its size), triages each post exactly as the bot
would, and reports per-category precision and recall, accuracy, the confusion matrix, the
figures the desk's targets are set on, and the worst misses with the rule that fired.
With `texts=False` no post text is kept or printed, for scoring a held-out set.
"""

from __future__ import annotations

import heapq
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any

from bot.config import DeskConfig
from bot.core.opinion import SecondOpinion
from bot.core.posts import Category
from bot.core.routing import triage
from bot.intake import BodyError
from bot.triage import CountingReader, iter_records, validated, where

CATEGORIES = [c for c in Category if c is not Category.UNSORTED]
PREDICTED = [*CATEGORIES, Category.UNSORTED]
STATUTORY = {Category.SUBJECT_ACCESS, Category.FOI}
# Targets from issue 6, checked on held-out posts.
TARGETS = {
    "urgent_recall": 0.95,
    "subject_access_recall": 0.9,
    "foi_recall": 0.9,
    "accuracy": 0.85,
    "opinion_or_criticism_to_moderation": 0,
}
_TEXT_LIMIT = 200


def severity(gold: Category, predicted: Category, tags: frozenset[str]) -> int:
    """How bad a miss is: missed risk to life first, then lost statutory clocks, then deletions."""
    if gold is Category.URGENT:
        return 100
    if gold in STATUTORY and predicted not in STATUTORY | {Category.URGENT}:
        return 80
    if predicted is Category.MODERATION:
        return 70 if tags & {"opinion", "criticism"} else 60
    if gold is Category.MODERATION:
        return 50
    if gold is Category.MEDIA:
        return 40
    if predicted is Category.UNSORTED:
        return 20
    return 10


@dataclass(frozen=True)
class Miss:
    """One post triage got wrong."""

    where: str
    id: str
    gold: Category
    predicted: Category
    rule: str
    severity: int
    text: str | None
    opinion: str | None


@dataclass
class Evaluation:
    """Running totals over a corpus; nothing per post is kept except the worst misses."""

    keep_misses: int = 10
    texts: bool = True
    confusion: Counter[tuple[Category, Category]] = field(default_factory=Counter)
    opinion_posts: int = 0
    opinion_to_moderation: int = 0
    invalid: list[str] = field(default_factory=list)
    _misses: list[tuple[int, int, Miss]] = field(default_factory=list)
    _seen: int = 0

    def add(
        self,
        *,
        gold: Category,
        predicted: Category,
        tags: frozenset[str],
        miss: Miss | None = None,
    ) -> None:
        """Count one post (with its miss, when triage got it wrong)."""
        self.confusion[gold, predicted] += 1
        if tags & {"opinion", "criticism"}:
            self.opinion_posts += 1
            self.opinion_to_moderation += predicted is Category.MODERATION
        self._seen += 1
        if miss is not None and self.keep_misses:
            entry = (miss.severity, -self._seen, miss)
            if len(self._misses) < self.keep_misses:
                heapq.heappush(self._misses, entry)
            else:
                heapq.heappushpop(self._misses, entry)

    @property
    def total(self) -> int:
        """How many labelled posts were scored."""
        return sum(self.confusion.values())

    @property
    def correct(self) -> int:
        """How many were routed to their gold category."""
        return sum(n for (gold, predicted), n in self.confusion.items() if gold is predicted)

    def recall(self, category: Category) -> float | None:
        """Share of posts labelled `category` that triage put there."""
        support = sum(n for (gold, _), n in self.confusion.items() if gold is category)
        return self.confusion[category, category] / support if support else None

    def precision(self, category: Category) -> float | None:
        """Share of posts triage put in `category` that belong there."""
        predicted = sum(n for (_, p), n in self.confusion.items() if p is category)
        return self.confusion[category, category] / predicted if predicted else None

    def worst_misses(self) -> list[Miss]:
        """The kept misses, worst first."""
        return [miss for _, _, miss in sorted(self._misses, reverse=True)]

    def summary(self) -> dict[str, Any]:
        """Every figure, as the `--format json` output."""
        total = self.total
        per_category = {}
        for category in CATEGORIES:
            support = sum(n for (g, _), n in self.confusion.items() if g is category)
            predicted = sum(n for (_, p), n in self.confusion.items() if p is category)
            per_category[category.value] = {
                "precision": _round(self.precision(category)),
                "recall": _round(self.recall(category)),
                "support": support,
                "predicted": predicted,
            }
        figures = {
            "accuracy": _round(self.correct / total) if total else None,
            "urgent_recall": _round(self.recall(Category.URGENT)),
            "subject_access_recall": _round(self.recall(Category.SUBJECT_ACCESS)),
            "foi_recall": _round(self.recall(Category.FOI)),
            "opinion_or_criticism_to_moderation": self.opinion_to_moderation,
        }
        return {
            "posts": total,
            "correct": self.correct,
            "unsorted": sum(n for (_, p), n in self.confusion.items() if p is Category.UNSORTED),
            "invalid": len(self.invalid),
            "opinion_or_criticism_posts": self.opinion_posts,
            "figures": figures,
            "targets": {name: _met(name, figures[name]) for name in TARGETS},
            "per_category": per_category,
            "confusion": {
                gold.value: {
                    predicted.value: self.confusion[gold, predicted] for predicted in PREDICTED
                }
                for gold in CATEGORIES
            },
            "worst_misses": [
                {
                    "where": miss.where,
                    "id": miss.id,
                    "label": miss.gold.value,
                    "predicted": miss.predicted.value,
                    "rule": miss.rule,
                    "second_opinion": miss.opinion,
                }
                | ({"text": miss.text} if miss.text is not None else {})
                for miss in self.worst_misses()
            ],
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _met(name: str, value: float | int | None) -> dict[str, Any]:
    target = TARGETS[name]
    if value is None:
        met = None
    elif name == "opinion_or_criticism_to_moderation":
        met = value <= target
    else:
        met = value >= target
    return {"target": target, "value": value, "met": met}


def evaluate_stream(
    config: DeskConfig,
    source: IO[bytes],
    *,
    second_opinion: SecondOpinion | None = None,
    keep_misses: int = 10,
    texts: bool = True,
) -> Evaluation:
    """Score triage on a labelled corpus read from `source` one post at a time."""
    evaluation = Evaluation(keep_misses=keep_misses, texts=texts)
    routing = config.routing
    for record in iter_records(CountingReader(source)):
        item = validated(record, config)
        data = record.data if isinstance(record.data, dict) else {}
        label = data.get("label")
        try:
            gold = Category(label) if isinstance(label, str) else None
        except ValueError:
            gold = None
        if item.post is None or gold is None or gold is Category.UNSORTED:
            evaluation.invalid.append(where(item))
            continue
        result = triage(
            item.post,
            classifier=config.classifier,
            routing=routing,
            second_opinion=second_opinion,
            policy=config.second_opinion,
        )
        classification = result.classification
        predicted = classification.category
        tags = frozenset(str(tag) for tag in data.get("tags") or () if isinstance(tag, str))
        miss = None
        if predicted is not gold:
            opinion = classification.opinion
            miss = Miss(
                where=where(item),
                id=item.post.id,
                gold=gold,
                predicted=predicted,
                rule=classification.rule,
                severity=severity(gold, predicted, tags),
                text=_short(item.post.text) if texts else None,
                opinion=(
                    None
                    if opinion is None
                    else f"{opinion.category.value} ({opinion.confidence:.0%})"
                ),
            )
        evaluation.add(gold=gold, predicted=predicted, tags=tags, miss=miss)
    return evaluation


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _TEXT_LIMIT else flat[: _TEXT_LIMIT - 1] + "…"


def _pct(value: float | None) -> str:
    return "  -  " if value is None else f"{value:5.2f}"


def render_table(summary: dict[str, Any], *, out: IO[str]) -> None:
    """The evaluation as text for a person."""
    figures = summary["figures"]
    print(
        f"{summary['posts']} labelled post(s), {summary['correct']} routed to their label, "
        f"{summary['unsorted']} left unsorted (counted wrong)",
        file=out,
    )
    print("", file=out)
    print(f"{'category':<16}{'precision':>10}{'recall':>8}{'posts':>7}{'routed':>8}", file=out)
    for name, row in summary["per_category"].items():
        print(
            f"{name:<16}{_pct(row['precision']):>10}{_pct(row['recall']):>8}"
            f"{row['support']:>7}{row['predicted']:>8}",
            file=out,
        )
    print("", file=out)
    print("Targets (issue 6, on held-out posts):", file=out)
    for name, check in summary["targets"].items():
        mark = "met" if check["met"] else ("-" if check["met"] is None else "MISSED")
        comparison = "<=" if name == "opinion_or_criticism_to_moderation" else ">="
        print(
            f"  {name:<36} {check['value']!s:>6}  (target {comparison} {check['target']})  {mark}",
            file=out,
        )
    print(
        f"  opinion/criticism posts: {summary['opinion_or_criticism_posts']}, "
        f"of which sent to moderation: {figures['opinion_or_criticism_to_moderation']}",
        file=out,
    )
    print("", file=out)
    columns = [p.value for p in PREDICTED]
    short = {c: c[:7] for c in columns}
    print("Confusion (rows: label, columns: routed to)", file=out)
    print(f"{'':<16}" + "".join(f"{short[c]:>8}" for c in columns), file=out)
    for gold, row in summary["confusion"].items():
        print(f"{gold:<16}" + "".join(f"{row[c]:>8}" for c in columns), file=out)
    misses = summary["worst_misses"]
    if misses:
        print("", file=out)
        print("Worst misses:", file=out)
        for miss in misses:
            opinion = f"; second opinion {miss['second_opinion']}" if miss["second_opinion"] else ""
            print(
                f"  {miss['where']} {miss['id']}: {miss['label']} routed as {miss['predicted']} "
                f"({miss['rule']}{opinion})",
                file=out,
            )
            if "text" in miss:
                print(f"      {miss['text']}", file=out)
    if summary["invalid"]:
        print(f"\n{summary['invalid']} item(s) were not labelled posts and were skipped", file=out)


def evaluate_command(
    config: DeskConfig,
    source: IO[bytes],
    *,
    output_format: str,
    out: IO[str],
    err: IO[str],
    second_opinion: SecondOpinion | None = None,
    keep_misses: int = 10,
    texts: bool = True,
) -> int:
    """Evaluate and print; exit status 1 if the input could not be read."""
    try:
        evaluation = evaluate_stream(
            config, source, second_opinion=second_opinion, keep_misses=keep_misses, texts=texts
        )
    except BodyError as exc:
        print(f"error: {exc}", file=err)
        return 1
    summary = evaluation.summary()
    for place in evaluation.invalid[:20]:
        print(f"{place}: not a valid labelled post, skipped", file=err)
    if output_format == "json":
        print(json.dumps(summary, indent=2), file=out)
    else:
        render_table(summary, out=out)
    return 0
