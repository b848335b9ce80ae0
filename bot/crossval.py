"""Cross-validation of triage on the development corpora: `python -m bot.learning.crossval`.

The second opinion is scored on posts it was not trained on: the development posts are
split into five folds, a model is trained (exactly as `commsbot train` trains) on four and
triage scored on the fifth, five times; and, closer to posts by a stranger, a model is
trained on one writer's corpus and scored on the other's. The rules were written while
reading these corpora, so the rules' own figures here are optimistic; the held-out corpora
(`commsbot evaluate --summary`) are the honest measure. Only development corpora are read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from bot.config import DeskConfig, load_config
from bot.core.opinion import SecondOpinionPolicy, with_second_opinion
from bot.core.posts import Category, Classification, Opinion, Post
from bot.evaluate import Evaluation
from bot.learning.train import TRAINING_CORPORA, Example, shipped_corpus, train
from bot.triage import Record, validated

_NOW = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Labelled:
    """One development post with its gold category, tags and the corpus it came from."""

    post: Post
    gold: Category
    tags: frozenset[str]
    corpus: str

    def example(self) -> Example:
        """The post as a training example."""
        return Example(
            text=self.post.text,
            account=self.post.account,
            network=self.post.network.value,
            kind=self.post.kind.value,
            category=self.gold,
        )


def read_labelled(path: Path, config: DeskConfig) -> Iterator[Labelled]:
    """The labelled posts of a corpus file, validated as the intake validates them."""
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            data = json.loads(line)
            item = validated(Record(number - 1, number, data), config)
            if item.post is None:
                raise ValueError(f"{path}: line {number}: not a valid post")
            tags = frozenset(str(tag) for tag in data.get("tags") or ())
            yield Labelled(item.post, Category(data["label"]), tags, Path(path).name)


def folds_of(posts: Sequence[Labelled], folds: int) -> list[int]:
    """A fold number for each post: every category dealt round the folds in turn."""
    assigned = [0] * len(posts)
    seen: dict[Category, int] = {}
    for index, labelled in enumerate(posts):
        turn = seen.get(labelled.gold, 0)
        assigned[index] = turn % folds
        seen[labelled.gold] = turn + 1
    return assigned


def out_of_fold(posts: Sequence[Labelled], *, folds: int = 5) -> list[dict[Category, float]]:
    """Each post's probabilities from a model trained on the other folds."""
    fold = folds_of(posts, folds)
    found: list[dict[Category, float]] = [{} for _ in posts]
    for held in range(folds):
        model = train(
            [p.example() for p, f in zip(posts, fold, strict=True) if f != held],
            now=_NOW,
            sources={},
        )
        for index, labelled in enumerate(posts):
            if fold[index] == held:
                found[index] = model.probabilities(labelled.post)
    return found


def across_writers(posts: Sequence[Labelled]) -> list[dict[Category, float]]:
    """Each post's probabilities from a model trained only on the other writers' corpora."""
    found: list[dict[Category, float]] = [{} for _ in posts]
    for corpus in sorted({p.corpus for p in posts}):
        model = train([p.example() for p in posts if p.corpus != corpus], now=_NOW, sources={})
        for index, labelled in enumerate(posts):
            if labelled.corpus == corpus:
                found[index] = model.probabilities(labelled.post)
    return found


def decide(
    classification: Classification,
    likely: dict[Category, float] | None,
    policy: SecondOpinionPolicy,
) -> Category:
    """The category triage gives a post, from the rules and (if any) the model's view."""
    if likely is None:
        return classification.category
    first = max(likely, key=likely.__getitem__)
    return with_second_opinion(
        classification, Opinion(first, likely[first]), policy=policy, probabilities=likely
    ).category


def score(
    posts: Sequence[Labelled],
    rules: Sequence[Classification],
    likely: Sequence[dict[Category, float]] | None,
    policy: SecondOpinionPolicy,
) -> dict[str, Any]:
    """The evaluation summary (as `commsbot evaluate` reports it) for these decisions."""
    evaluation = Evaluation(keep_misses=0, texts=False)
    for index, labelled in enumerate(posts):
        predicted = decide(rules[index], None if likely is None else likely[index], policy)
        evaluation.add(gold=labelled.gold, predicted=predicted, tags=labelled.tags)
    summary = evaluation.summary()
    summary["opinion_to_moderation"] = summary["figures"]["opinion_or_criticism_to_moderation"]
    return summary


def _line(name: str, summary: dict[str, Any], out: IO[str]) -> None:
    figures = summary["figures"]
    print(
        f"  {name:<34} accuracy {figures['accuracy']:.3f}  urgent {figures['urgent_recall']:.3f}"
        f"  SAR {figures['subject_access_recall']:.3f}  FOI {figures['foi_recall']:.3f}"
        f"  unsorted {summary['unsorted']:>3}  opinion->moderation "
        f"{summary['opinion_to_moderation']}",
        file=out,
    )


def main(argv: list[str] | None = None) -> int:
    """Print cross-validated figures for the rules alone and with the second opinion."""
    parser = argparse.ArgumentParser(prog="python -m bot.learning.crossval")
    parser.add_argument("--config-dir", default="config")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    config = load_config(Path(args.config_dir))
    posts = [
        labelled
        for name in TRAINING_CORPORA
        for labelled in read_labelled(shipped_corpus(name), config)
    ]
    rules = [config.classifier.classify(labelled.post) for labelled in posts]
    policy = config.second_opinion
    out = sys.stdout
    print(f"{len(posts)} development posts ({', '.join(TRAINING_CORPORA)})", file=out)
    for name, likely in (
        (f"{args.folds}-fold", out_of_fold(posts, folds=args.folds)),
        ("trained on the other writer", across_writers(posts)),
    ):
        print(f"{name}:", file=out)
        _line("rules alone (rules seen in writing)", score(posts, rules, None, policy), out)
        _line("model alone", score(posts, [_unsorted] * len(posts), likely, _ALONE), out)
        _line("rules + second opinion", score(posts, rules, likely, policy), out)
    return 0


_unsorted = Classification(Category.UNSORTED, "no rules")
# The model on its own: it chooses every post's category.
_ALONE = SecondOpinionPolicy(
    raise_at=1.0,
    urgent_at=1.0,
    choose_at={category: 0.0 for category in Category if category is not Category.UNSORTED},
)


if __name__ == "__main__":
    raise SystemExit(main())
