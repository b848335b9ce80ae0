"""`commsbot train`: fit the second opinion on the shipped corpora and the desk's corrections.

Reads only: the development corpora shipped with commsbot (`TRAINING_CORPORA` in
bot/corpus) and the desk's re-categorisations under `<data_dir>/labels/*.jsonl`. The
held-out corpora are never read here. Training is deterministic: the same examples give the
same model. Nothing is downloaded.
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
from typing import Any

from bot.core.posts import Category
from bot.learning.features import LATEST, post_features
from bot.learning.model import LinearModel, ModelInfo, model_path

LABELS_DIR = "labels"
# The development corpora (two independent writers) the shipped model and `commsbot train`
# learn from. The held-out corpora (heldout*.jsonl) are only ever scored.
TRAINING_CORPORA = ("dev.jsonl", "dev2.jsonl")
_DIGITS = 4  # significant digits kept in the exported numbers (enough: see tests/learning)
# Chosen by cross-validation on the development corpora (README, "The learned second opinion").
REGULARISATION = 20.0
CALIBRATION_FOLDS = 5
PRUNE_FROM = 200


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


def _softmax_log_loss(scores: Any, gold: Any, temperature: float) -> float:
    """Mean negative log-likelihood of the gold classes when scores are divided by T."""
    import numpy as np

    scaled = scores / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    log_total = np.log(np.exp(scaled).sum(axis=1))
    return float(np.mean(log_total - scaled[np.arange(len(gold)), gold]))


def _fit(texts: list[list[str]], labels: list[str], *, min_df: int) -> tuple[Any, Any]:
    """TF-IDF and logistic regression fitted on feature lists; deterministic."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    vectoriser = TfidfVectorizer(
        analyzer=_identity, sublinear_tf=True, norm="l2", smooth_idf=True, min_df=min_df
    )
    matrix = vectoriser.fit_transform(texts)
    model = LogisticRegression(
        C=REGULARISATION, solver="newton-cg", max_iter=1000, class_weight="balanced"
    )
    model.fit(matrix, labels)
    return vectoriser, model


def _identity(features: list[str]) -> list[str]:
    return features


def calibrate(
    texts: list[list[str]], labels: list[str], *, min_df: int
) -> tuple[float, dict[str, float]]:
    """The temperature that makes cross-validated confidences honest, and the log losses.

    The model is fitted on four fifths of the examples and scores the rest, five times;
    the temperature minimises the log loss of those held-out scores. With fewer than five
    posts of some category, the scores are left as they are (temperature 1).
    """
    import numpy as np
    from scipy.optimize import minimize_scalar  # type: ignore[import-untyped]
    from sklearn.model_selection import StratifiedKFold  # type: ignore[import-untyped]

    if min(Counter(labels).values()) < CALIBRATION_FOLDS:
        return 1.0, {}
    folds = CALIBRATION_FOLDS
    classes = sorted(set(labels))
    gold = np.array([classes.index(label) for label in labels])
    scores = np.zeros((len(labels), len(classes)))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for train_rows, test_rows in splitter.split(np.zeros(len(labels)), gold):
        vectoriser, model = _fit(
            [texts[i] for i in train_rows], [labels[i] for i in train_rows], min_df=min_df
        )
        fold_scores = model.decision_function(vectoriser.transform([texts[i] for i in test_rows]))
        for column, name in enumerate(model.classes_):
            scores[test_rows, classes.index(name)] = fold_scores[:, column]
    best = minimize_scalar(
        lambda t: _softmax_log_loss(scores, gold, t), bounds=(0.05, 5.0), method="bounded"
    )
    temperature = round(float(best.x), 3)
    return temperature, {
        "folds": float(folds),
        "log_loss_uncalibrated": round(_softmax_log_loss(scores, gold, 1.0), 4),
        "log_loss_calibrated": round(_softmax_log_loss(scores, gold, temperature), 4),
    }


def train(examples: Iterable[Example], *, now: datetime, sources: dict[str, int]) -> LinearModel:
    """Fit TF-IDF and multinomial logistic regression, calibrated by cross-validation.

    The same examples give the same model. Features seen in only one post are left out once
    the corpus is large enough (they triple the model file for no measured gain).
    """
    usable = [e for e in examples if e.category is not Category.UNSORTED and e.text.strip()]
    counts = Counter(e.category for e in usable)
    if len(counts) < 3:
        raise TrainingError(
            f"need labelled posts of at least 3 categories to train, found {len(counts)}"
        )
    texts = [
        post_features(e.text, account=e.account, network=e.network, kind=e.kind) for e in usable
    ]
    labels = [e.category.value for e in usable]
    min_df = 2 if len(usable) >= PRUNE_FROM else 1
    temperature, calibration = calibrate(texts, labels, min_df=min_df)
    vectoriser, model = _fit(texts, labels, min_df=min_df)
    names = vectoriser.get_feature_names_out()
    coef = model.coef_ / temperature
    weights: dict[str, list[float]] = {}
    for column, name in enumerate(names):
        row = [float(coef[k][column]) for k in range(len(model.classes_))]
        weights[str(name)] = [_round(vectoriser.idf_[column]), *(_round(v) for v in row)]
    return LinearModel(
        classes=[Category(value) for value in model.classes_],
        intercept=[_round(float(v) / temperature) for v in model.intercept_],
        weights=dict(sorted(weights.items())),
        info=ModelInfo(
            trained_at=now,
            corpus_size=len(usable),
            sources=sources,
            features=LATEST,
            temperature=temperature,
            calibration=calibration,
        ),
    )


def model_text(model: LinearModel) -> str:
    """The stored form of a model: JSON, one feature a line, the same bytes for the same model."""
    data = model.to_json()
    weights = data.pop("weights")
    head = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    rows = ",\n".join(
        f"{json.dumps(name, ensure_ascii=False)}:{json.dumps(row, separators=(',', ':'))}"
        for name, row in weights.items()
    )
    return head[:-1] + ',"weights":{\n' + rows + "\n}}\n"


def write_model(model: LinearModel, path: Path) -> Path:
    """Store the model at `path` atomically: a crash leaves the old model or the new."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".model.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(model_text(model))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_model(model: LinearModel, data_dir: Path) -> Path:
    """Store the model under `data_dir`, where the bot and the commands look for it."""
    return write_model(model, model_path(data_dir))


def shipped_examples() -> list[Example]:
    """The labelled posts of every shipped development corpus, in a fixed order."""
    return [example for name in TRAINING_CORPORA for example in read_corpus(shipped_corpus(name))]


def train_from(data_dir: Path, *, now: datetime, corpus: Path | None = None) -> LinearModel:
    """Train on the shipped development corpora (or `corpus`) plus the desk's corrections."""
    shipped = list(read_corpus(corpus)) if corpus is not None else shipped_examples()
    desk = list(read_desk_labels(data_dir))
    return train(
        [*shipped, *desk],
        now=now,
        sources={"shipped_corpus": len(shipped), "desk_labels": len(desk)},
    )
