"""The learned second opinion: trained deterministically, stored as JSON, loaded safely."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.posts import Author, Category, Kind, Network, Post
from bot.learning import ModelError, load_second_opinion
from bot.learning.features import post_features
from bot.learning.model import (
    LinearModel,
    load_model,
    load_trained,
    model_path,
    shipped_model_path,
)
from bot.learning.train import (
    TRAINING_CORPORA,
    Example,
    TrainingError,
    model_text,
    read_corpus,
    read_desk_labels,
    save_model,
    shipped_corpus,
    train,
    train_from,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def example(text: str, category: Category) -> Example:
    return Example(text=text, account="council", network="x", kind="comment", category=category)


SMALL = [
    example("bins not collected again this week", Category.COMPLAINT),
    example("my bin was missed for the third time", Category.COMPLAINT),
    example("when is the tip open on sunday", Category.ENQUIRY),
    example("what time does the library open", Category.ENQUIRY),
    example("how many potholes were reported last year", Category.FOI),
    example("how much did the council spend on consultants", Category.FOI),
    example("i can't go on, nobody will miss me", Category.URGENT),
    example("going to the bridge tonight, goodbye", Category.URGENT),
]


def post(text: str) -> Post:
    return Post(
        id="1",
        network=Network.X,
        account="council",
        author=Author(handle="@a"),
        text=text,
        posted_at=NOW,
        kind=Kind.COMMENT,
    )


def test_training_is_deterministic_and_records_date_and_size() -> None:
    first = train(SMALL, now=NOW, sources={"shipped_corpus": 8})
    second = train(list(SMALL), now=NOW, sources={"shipped_corpus": 8})
    assert first.to_json() == second.to_json()
    assert first.info.trained_at == NOW and first.info.corpus_size == 8


def test_the_model_learns_the_examples() -> None:
    model = train(SMALL, now=NOW, sources={})
    assert (
        model.opinion(post("nobody will miss me, going to the bridge")).category is Category.URGENT
    )
    assert model.opinion(post("when does the tip open")).category is Category.ENQUIRY
    probabilities = model.probabilities(post("bins"))
    assert sum(probabilities.values()) == pytest.approx(1.0)


def test_a_stored_model_loads_as_json_and_gives_the_same_answers(tmp_path: Path) -> None:
    model = train(SMALL, now=NOW, sources={"shipped_corpus": 8})
    path = save_model(model, tmp_path)
    assert path == model_path(tmp_path)
    stored = json.loads(path.read_text())
    assert stored["format"] == "commsbot-second-opinion/2" and stored["features"] == 2
    loaded = load_second_opinion(tmp_path)
    assert loaded is not None
    text = post("how much was spent on the bins last year")
    assert loaded.probabilities(text) == pytest.approx(model.probabilities(text))
    assert loaded.info.corpus_size == 8


def test_without_a_trained_model_the_bot_uses_the_shipped_one(tmp_path: Path) -> None:
    assert load_trained(tmp_path) is None
    model = load_second_opinion(tmp_path)
    assert model is not None
    assert model.info.sources == {"shipped_corpus": 1409, "desk_labels": 0}
    trained = train(SMALL, now=NOW, sources={"shipped_corpus": 8})
    save_model(trained, tmp_path)
    preferred = load_second_opinion(tmp_path)
    assert preferred is not None and preferred.info.corpus_size == 8


def test_a_model_from_an_earlier_commsbot_still_reads_posts_as_it_was_trained(
    tmp_path: Path,
) -> None:
    # Format 1 had no stems: its features must stay the ones it was trained on.
    old = {
        "format": "commsbot-second-opinion/1",
        "trained_at": "2026-01-01T00:00:00+00:00",
        "corpus_size": 2,
        "classes": ["complaint", "urgent"],
        "intercept": [0.0, 0.0],
        "weights": {"w:collected": [1.0, 2.0, -2.0], "s:collect": [1.0, -9.0, 9.0]},
    }
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    model = load_model(path)
    assert model.info.features == 1
    assert "s:collect" not in post_features(
        "bins not collected", account="council", network="x", kind="post", version=1
    )
    assert model.opinion(post("bins not collected")).category is Category.COMPLAINT


def test_confidences_are_calibrated_by_cross_validation() -> None:
    examples = SMALL * 3
    model = train(examples, now=NOW, sources={})
    assert model.info.calibration["folds"] == 5.0
    assert (
        model.info.calibration["log_loss_calibrated"]
        <= model.info.calibration["log_loss_uncalibrated"]
    )
    # Too few posts of a category to hold some out: the scores are left as they are.
    assert train(SMALL, now=NOW, sources={}).info.temperature == 1.0


def test_the_stored_form_is_the_same_bytes_for_the_same_model(tmp_path: Path) -> None:
    model = train(SMALL, now=NOW, sources={"shipped_corpus": 8})
    first = save_model(model, tmp_path / "a").read_bytes()
    second = save_model(train(list(SMALL), now=NOW, sources={"shipped_corpus": 8}), tmp_path / "b")
    assert first == second.read_bytes() == model_text(model).encode()
    assert json.loads(first) == model.to_json()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"format": "pickle"}', "not a commsbot model"),
        ('{"format": "commsbot-second-opinion/1", "classes": ["urgent"]}', "damaged model"),
        (
            '{"format": "commsbot-second-opinion/1", "trained_at": "2026-01-01T00:00:00+00:00",'
            ' "corpus_size": 1, "classes": ["urgent", "foi"], "intercept": [0, 0],'
            ' "weights": {"w:x": [1, 2]}}',
            "rows of the wrong length",
        ),
        # Each of these stopped start-up with a traceback instead of naming the file.
        ("\udcff{}", "not UTF-8"),
        ("[" * 100_000, "not valid JSON"),
        (
            '{"format": "commsbot-second-opinion/1", "trained_at": "2026-01-01T00:00:00+00:00",'
            ' "corpus_size": 1, "classes": [], "intercept": [], "weights": {}}',
            "no categories",
        ),
    ],
)
def test_a_damaged_model_is_refused_naming_the_file(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "model.json"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    with pytest.raises(ModelError, match=message) as caught:
        load_model(path)
    assert str(path) in str(caught.value)


def test_desk_corrections_are_read_and_broken_lines_skipped(tmp_path: Path) -> None:
    labels = tmp_path / "labels"
    labels.mkdir()
    good = {
        "text": "I want everything you hold on me",
        "account": "council",
        "network": "x",
        "kind": "comment",
        "old_category": "complaint",
        "new_category": "subject_access",
        "at": "2026-11-30T10:00:00+00:00",
        "by": "U123",
    }
    (labels / "2026-11.jsonl").write_text(
        json.dumps(good)
        + "\n"
        + '{"text": "cut sh'
        + "\n"
        + json.dumps(good | {"new_category": "x"})
        + "\n"
    )
    found = list(read_desk_labels(tmp_path))
    assert found == [
        Example(
            text=good["text"],
            account="council",
            network="x",
            kind="comment",
            category=Category.SUBJECT_ACCESS,
        )
    ]


def test_train_from_uses_the_shipped_corpus_and_the_desks_corrections(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        "\n".join(
            json.dumps({"text": e.text, "account": "council", "label": e.category.value})
            for e in SMALL
        )
    )
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.jsonl").write_text(
        json.dumps({"text": "hello", "account": "council", "new_category": "general"}) + "\n"
    )
    model = train_from(tmp_path, now=NOW, corpus=corpus)
    assert model.info.sources == {"shipped_corpus": 8, "desk_labels": 1}
    assert Category.GENERAL in model.classes


def test_too_few_categories_cannot_train() -> None:
    with pytest.raises(TrainingError, match="at least 3 categories"):
        train(SMALL[:4], now=NOW, sources={})


def test_the_shipped_corpora_are_packaged_and_labelled() -> None:
    sizes = {
        name: len(list(read_corpus(shipped_corpus(name))))
        for name in ("dev.jsonl", "dev2.jsonl", "heldout.jsonl", "heldout2.jsonl")
    }
    assert sizes == {
        "dev.jsonl": 538,
        "dev2.jsonl": 871,
        "heldout.jsonl": 402,
        "heldout2.jsonl": 543,
    }
    assert TRAINING_CORPORA == ("dev.jsonl", "dev2.jsonl")  # the held-out ones never train
    for name in TRAINING_CORPORA:
        corpus = list(read_corpus(shipped_corpus(name)))
        counts = {c: sum(e.category is c for e in corpus) for c in Category}
        assert all(counts[c] >= 40 for c in Category if c is not Category.UNSORTED), counts
    assert isinstance(LinearModel, type)


def test_the_shipped_model_is_what_training_on_the_shipped_corpora_gives(
    tmp_path: Path,
) -> None:
    """Rebuild it with `python -m bot.learning.ship` after changing corpora or training."""
    fresh = train_from(tmp_path, now=NOW).to_json()
    shipped = load_model(shipped_model_path()).to_json()
    assert shipped_model_path().read_text(encoding="utf-8").count("\n") > len(shipped["weights"])
    for key in ("format", "features", "corpus_size", "sources", "classes", "temperature"):
        assert shipped[key] == fresh[key], key
    assert shipped["weights"].keys() == fresh["weights"].keys()
    # Equal to the printed digits; a different BLAS may move the last one.
    assert shipped["intercept"] == pytest.approx(fresh["intercept"], rel=1e-3, abs=1e-4)
    for feature, row in fresh["weights"].items():
        assert shipped["weights"][feature] == pytest.approx(row, rel=1e-3, abs=1e-4), feature
