"""`commsbot train`: fit the second opinion on the shipped corpus and the desk's corrections.

Reads only: the corpus shipped with commsbot (bot/corpus/dev.jsonl) and the desk's
re-categorisations under `<data_dir>/labels/*.jsonl`. Training is deterministic: the same
examples give the same model. Nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

from bot.core.posts import Category
from bot.learning.features import post_features
from bot.learning.model import LinearModel, ModelInfo, model_path

LABELS_DIR = "labels"
_DIGITS = 6  # significant digits kept in the exported numbers


class TrainingError(Exception):
    """The examples cannot train a model; the message says why."""


@dataclass(frozen=True)
class Example:
    """One labelled post."""

    text: str
    account: str
    network: str
    kind: str
    category: Category


def shipped_corpus(name: str = "dev.jsonl") -> Path:
    """The path of a corpus file shipped inside the package (bot/corpus)."""
    return Path(str(resources.files("bot.corpus").joinpath(name)))


def read_corpus(path: Path) -> Iterator[Example]:
    """Labelled posts from a corpus file (one JSON object per line with a `label`)."""
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                yield Example(
                    text=str(data["text"]),
                    account=str(data["account"]),
                    network=str(data.get("network", "other")),
                    kind=str(data.get("kind", "post")),
                    category=Category(data["label"]),
                )
            except (json.JSONDecodeError, KeyError, ValueError, TypeError) as exc:
                raise TrainingError(f"{path}: line {number}: not a labelled post ({exc})") from None


def read_desk_labels(data_dir: Path) -> Iterator[Example]:
    """The desk's re-categorisations: `<data_dir>/labels/*.jsonl`, files in name order.

    Each line is {"text", "account", "network", "kind", "old_category", "new_category",
    "at", "by"}. Read without the running bot's lock: the files are only ever appended to.
    A line that is cut short (being written now) or not a correction is skipped.
    """
    directory = Path(data_dir) / LABELS_DIR
    if not directory.is_dir():
        return
    for path in sorted(directory.glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    data = json.loads(line)
                    category = Category(data["new_category"])
                    example = Example(
                        text=str(data["text"]),
                        account=str(data["account"]),
                        network=str(data.get("network", "other")),
                        kind=str(data.get("kind", "post")),
                        category=category,
                    )
                except (json.JSONDecodeError, KeyError, ValueError, TypeError):
                    continue
                if category is not Category.UNSORTED and example.text.strip():
                    yield example


def _round(value: float) -> float:
    return float(f"{value:.{_DIGITS}g}")


def train(examples: Iterable[Example], *, now: datetime, sources: dict[str, int]) -> LinearModel:
    """Fit TF-IDF and multinomial logistic regression; the same examples give the same model."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    usable = [e for e in examples if e.category is not Category.UNSORTED and e.text.strip()]
    counts = Counter(e.category for e in usable)
    if len(counts) < 3:
        raise TrainingError(
            f"need labelled posts of at least 3 categories to train, found {len(counts)}"
        )
    vectoriser = TfidfVectorizer(
        analyzer=lambda features: features, sublinear_tf=True, norm="l2", smooth_idf=True
    )
    matrix = vectoriser.fit_transform(
        [post_features(e.text, account=e.account, network=e.network, kind=e.kind) for e in usable]
    )
    model = LogisticRegression(C=20.0, max_iter=5000, class_weight="balanced")
    model.fit(matrix, [e.category.value for e in usable])
    names = vectoriser.get_feature_names_out()
    weights: dict[str, list[float]] = {}
    for column, name in enumerate(names):
        row = [float(model.coef_[k][column]) for k in range(len(model.classes_))]
        if max(abs(v) for v in row) < 1e-4:
            continue
        weights[str(name)] = [_round(vectoriser.idf_[column]), *(_round(v) for v in row)]
    return LinearModel(
        classes=[Category(value) for value in model.classes_],
        intercept=[_round(float(v)) for v in model.intercept_],
        weights=dict(sorted(weights.items())),
        info=ModelInfo(trained_at=now, corpus_size=len(usable), sources=sources),
    )


def save_model(model: LinearModel, data_dir: Path) -> Path:
    """Store the model under `data_dir` atomically: a crash leaves the old model or the new."""
    path = model_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".model.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(model.to_json(), handle, ensure_ascii=False, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def train_from(data_dir: Path, *, now: datetime, corpus: Path | None = None) -> LinearModel:
    """Train on the shipped dev corpus (or `corpus`) plus the desk's corrections."""
    shipped = list(read_corpus(corpus or shipped_corpus()))
    desk = list(read_desk_labels(data_dir))
    return train(
        [*shipped, *desk],
        now=now,
        sources={"shipped_corpus": len(shipped), "desk_labels": len(desk)},
    )
