"""The second opinion at run time: a linear model exported as JSON, applied in pure Python.

Loading never unpickles anything: the file holds numbers and words only, and a file that is
not what commsbot wrote is refused with a message naming it.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.core.posts import Category, Opinion, Post
from bot.learning.features import post_features

FORMAT = "commsbot-second-opinion/1"
MODEL_DIR = "model"
MODEL_FILE = "second_opinion.json"


class ModelError(Exception):
    """A stored model cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class ModelInfo:
    """When a model was trained and on how many labelled posts."""

    trained_at: datetime
    corpus_size: int
    sources: dict[str, int]


class LinearModel:
    """Multinomial logistic regression over TF-IDF features, from its exported numbers."""

    def __init__(
        self,
        *,
        classes: list[Category],
        intercept: list[float],
        weights: dict[str, list[float]],
        info: ModelInfo,
    ) -> None:
        self.classes = classes
        self.intercept = intercept
        # feature -> [idf, weight for each class]
        self.weights = weights
        self.info = info

    def probabilities(self, post: Post) -> dict[Category, float]:
        """How likely each category is for `post`, summing to 1."""
        counts = Counter(
            post_features(
                post.text, account=post.account, network=post.network.value, kind=post.kind.value
            )
        )
        known = [
            (self.weights[f], (1.0 + math.log(n)) * self.weights[f][0])
            for f, n in counts.items()
            if f in self.weights
        ]
        norm = math.sqrt(sum(value * value for _, value in known)) or 1.0
        scores = list(self.intercept)
        for row, value in known:
            scaled = value / norm
            scores = [
                score + scaled * weight for score, weight in zip(scores, row[1:], strict=True)
            ]
        top = max(scores)
        exps = [math.exp(score - top) for score in scores]
        total = sum(exps)
        return {category: e / total for category, e in zip(self.classes, exps, strict=True)}

    def opinion(self, post: Post) -> Opinion:
        """The most likely category and its probability."""
        probabilities = self.probabilities(post)
        category = max(probabilities, key=probabilities.__getitem__)
        return Opinion(category=category, confidence=probabilities[category])

    def to_json(self) -> dict[str, Any]:
        """The exported form, as stored."""
        return {
            "format": FORMAT,
            "trained_at": self.info.trained_at.isoformat(),
            "corpus_size": self.info.corpus_size,
            "sources": self.info.sources,
            "classes": [c.value for c in self.classes],
            "intercept": self.intercept,
            "weights": self.weights,
        }

    @classmethod
    def from_json(cls, data: Any, *, where: str) -> LinearModel:
        """A model from its exported form; ModelError if it is not one."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ModelError(f"{where}: not a commsbot model (expected format {FORMAT})")
        try:
            classes = [Category(value) for value in data["classes"]]
            intercept = [float(value) for value in data["intercept"]]
            weights = {
                str(feature): [float(value) for value in row]
                for feature, row in data["weights"].items()
            }
            info = ModelInfo(
                trained_at=datetime.fromisoformat(data["trained_at"]),
                corpus_size=int(data["corpus_size"]),
                sources={str(k): int(v) for k, v in data.get("sources", {}).items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelError(f"{where}: damaged model file ({exc})") from None
        width = len(classes) + 1
        if len(intercept) != len(classes) or any(len(row) != width for row in weights.values()):
            raise ModelError(f"{where}: damaged model file (rows of the wrong length)")
        return cls(classes=classes, intercept=intercept, weights=weights, info=info)


def model_path(data_dir: Path) -> Path:
    """Where `commsbot train` stores the model under a data directory."""
    return Path(data_dir) / MODEL_DIR / MODEL_FILE


def load_model(path: Path) -> LinearModel:
    """The model stored at `path`; ModelError if it cannot be read."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the model ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    return LinearModel.from_json(data, where=str(path))


def load_second_opinion(data_dir: Path) -> LinearModel | None:
    """The trained model of a data directory, or None when none has been trained yet."""
    path = model_path(data_dir)
    if not path.exists():
        return None
    return load_model(path)
