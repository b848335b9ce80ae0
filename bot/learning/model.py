"""The second opinion at run time: a linear model exported as JSON, applied in pure Python.

Loading never unpickles anything: the file holds numbers and words only, and a file that is
not what commsbot wrote is refused with a message naming it. commsbot ships a model trained
on its own corpora (`bot/learning/second_opinion.json`), used until `commsbot train` stores
one in the data directory.
"""

from __future__ import annotations

import json
import math
import operator
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from bot.core.posts import Category, Opinion, Post
from bot.learning.features import FEATURE_VERSIONS, post_features

FORMAT = "commsbot-second-opinion/2"
# Files written by earlier commsbots: read with the features they were trained on.
_FORMATS = {"commsbot-second-opinion/1": 1, FORMAT: None}
MODEL_DIR = "model"
MODEL_FILE = "second_opinion.json"
SHIPPED_MODEL = "second_opinion.json"


class ModelError(Exception):
    """A stored model cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class ModelInfo:
    """When a model was trained, on how many labelled posts, and how it was calibrated."""

    trained_at: datetime
    corpus_size: int
    sources: dict[str, int]
    features: int = 1
    # Scores were divided by this before the softmax so that "80% sure" is right about 80%
    # of the time in cross-validation (already folded into the weights).
    temperature: float = 1.0
    calibration: dict[str, float] = field(default_factory=dict)


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
                post.text,
                account=post.account,
                network=post.network.value,
                kind=post.kind.value,
                version=self.info.features,
            )
        )
        weights = self.weights
        values: list[float] = []
        rows: list[list[float]] = []
        for feature, count in counts.items():
            row = weights.get(feature)
            if row is not None:
                values.append((1.0 + math.log(count)) * row[0] if count > 1 else row[0])
                rows.append(row)
        norm = math.sqrt(math.fsum(value * value for value in values)) or 1.0
        # One column per class after the idf: each class's score is a dot product.
        columns = list(zip(*rows, strict=True))[1:] if rows else []
        scores = [
            bias + sum(map(operator.mul, values, column)) / norm
            for bias, column in zip(self.intercept, columns, strict=True)
        ] or list(self.intercept)
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
            "features": self.info.features,
            "trained_at": self.info.trained_at.isoformat(),
            "corpus_size": self.info.corpus_size,
            "sources": self.info.sources,
            "temperature": self.info.temperature,
            "calibration": self.info.calibration,
            "classes": [c.value for c in self.classes],
            "intercept": self.intercept,
            "weights": self.weights,
        }

    @classmethod
    def from_json(cls, data: Any, *, where: str) -> LinearModel:
        """A model from its exported form; ModelError if it is not one."""
        if not isinstance(data, dict) or data.get("format") not in _FORMATS:
            raise ModelError(f"{where}: not a commsbot model (expected format {FORMAT})")
        try:
            features = _FORMATS[data["format"]] or int(data["features"])
            if features not in FEATURE_VERSIONS:
                raise ValueError(f"unknown feature version {features}")
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
                features=features,
                temperature=float(data.get("temperature", 1.0)),
                calibration={str(k): float(v) for k, v in data.get("calibration", {}).items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelError(f"{where}: damaged model file ({exc})") from None
        if not classes:
            raise ModelError(f"{where}: damaged model file (no categories)")
        width = len(classes) + 1
        if len(intercept) != len(classes) or any(len(row) != width for row in weights.values()):
            raise ModelError(f"{where}: damaged model file (rows of the wrong length)")
        return cls(classes=classes, intercept=intercept, weights=weights, info=info)


def model_path(data_dir: Path) -> Path:
    """Where `commsbot train` stores the model under a data directory."""
    return Path(data_dir) / MODEL_DIR / MODEL_FILE


def shipped_model_path() -> Path:
    """The model file shipped inside the package, trained on the shipped corpora."""
    return Path(str(resources.files("bot.learning").joinpath(SHIPPED_MODEL)))


def load_model(path: Path) -> LinearModel:
    """The model stored at `path`; ModelError if it cannot be read."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the model ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ModelError(f"{path}: damaged model file (not UTF-8 at byte {exc.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except (ValueError, RecursionError) as exc:  # too deep, or a number too long to read
        raise ModelError(f"{path}: not valid JSON ({exc or 'nested too deeply'})") from None
    return LinearModel.from_json(data, where=str(path))


def load_trained(data_dir: Path) -> LinearModel | None:
    """The model `commsbot train` stored in a data directory, or None if there is none."""
    path = model_path(data_dir)
    if not path.exists():
        return None
    return load_model(path)


def load_second_opinion(data_dir: Path) -> LinearModel | None:
    """The data directory's trained model, else the shipped one (None if it is missing)."""
    trained = load_trained(data_dir)
    if trained is not None:
        return trained
    shipped = shipped_model_path()
    return load_model(shipped) if shipped.is_file() else None
