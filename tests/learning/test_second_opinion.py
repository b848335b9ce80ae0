"""The learned second opinion: trained deterministically, stored as JSON, loaded safely."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.posts import Author, Category, Kind, Network, Post
from bot.learning import ModelError, load_second_opinion
from bot.learning.model import LinearModel, load_model, model_path
from bot.learning.train import (
    Example,
    TrainingError,
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
    assert json.loads(path.read_text())["format"] == "commsbot-second-opinion/1"
    loaded = load_second_opinion(tmp_path)
    assert loaded is not None
    text = post("how much was spent on the bins last year")
    assert loaded.probabilities(text) == pytest.approx(model.probabilities(text))
    assert loaded.info.corpus_size == 8


def test_the_bot_starts_without_a_model(tmp_path: Path) -> None:
    assert load_second_opinion(tmp_path) is None


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
    ],
)
def test_a_damaged_model_is_refused_naming_the_file(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "model.json"
    path.write_text(content)
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
    dev = list(read_corpus(shipped_corpus("dev.jsonl")))
    held_out = list(read_corpus(shipped_corpus("heldout.jsonl")))
    assert len(dev) + len(held_out) >= 600
    for corpus in (dev,):
        counts = {c: sum(e.category is c for e in corpus) for c in Category}
        assert all(counts[c] >= 40 for c in Category if c is not Category.UNSORTED), counts
    assert isinstance(LinearModel, type)
