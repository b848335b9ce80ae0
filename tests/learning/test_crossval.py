"""Cross-validation of triage on the development corpora: folds, decisions and figures."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.config import load_config
from bot.core.opinion import SecondOpinionPolicy
from bot.core.posts import Author, Category, Classification, Kind, Network, Post
from bot.crossval import Labelled, decide, folds_of, read_labelled, score
from bot.learning.train import shipped_corpus
from tests.conftest import CONFIG_DIR

U = Category.URGENT
COMP = Category.COMPLAINT
GEN = Category.GENERAL
UNSORTED = Category.UNSORTED


def labelled(gold: Category, *, tags: frozenset[str] = frozenset()) -> Labelled:
    post = Post(
        id="1",
        network=Network.X,
        account="council",
        author=Author(handle="@a"),
        text="words",
        posted_at=datetime(2026, 1, 1, tzinfo=UTC),
        kind=Kind.POST,
    )
    return Labelled(post=post, gold=gold, tags=tags, corpus="dev.jsonl")


def test_every_category_is_dealt_round_the_folds() -> None:
    posts = [labelled(U)] * 6 + [labelled(COMP)] * 4
    folds = folds_of(posts, 3)
    assert folds == [0, 1, 2, 0, 1, 2, 0, 1, 2, 0]


def test_triage_is_scored_as_the_bot_would_decide() -> None:
    posts = [labelled(U), labelled(COMP), labelled(GEN, tags=frozenset({"opinion"}))]
    rules = [
        Classification(COMP, "complaint: matched"),
        Classification(COMP, "complaint: matched"),
        Classification(UNSORTED, "default: no rule matched"),
    ]
    likely = [{U: 0.2, COMP: 0.8}, {COMP: 0.9, U: 0.1}, {GEN: 0.7, COMP: 0.3}]
    policy = SecondOpinionPolicy(raise_at=0.5, urgent_at=0.15, choose_at={GEN: 0.5})
    assert decide(rules[0], likely[0], policy) is U
    assert decide(rules[0], None, policy) is COMP
    alone = score(posts, rules, None, policy)
    assert (alone["correct"], alone["unsorted"]) == (1, 1)
    both = score(posts, rules, likely, policy)
    assert both["correct"] == 3 and both["figures"]["urgent_recall"] == 1.0
    assert both["opinion_to_moderation"] == 0


def test_the_development_corpora_read_as_the_intake_reads_them() -> None:
    config = load_config(CONFIG_DIR)
    posts = list(read_labelled(shipped_corpus("dev2.jsonl"), config))
    assert len(posts) == 871
    assert {p.corpus for p in posts} == {"dev2.jsonl"}
    assert all(p.gold is not UNSORTED for p in posts)
