"""Posts written to stall the classifier: the longest text intake accepts, in shapes that
make a backtracking regex explode (runs of line breaks, spaces, dashes, punctuation).

This is a hang guard, not a measurement: a regex that backtracks quadratically took close to
a minute on one of these posts, while every rule and detector together take a fraction of a
second on all of them. The figures are printed by benchmarks/bench_hostile_posts.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.config.desk_model import IntakeModel
from bot.core.posts import Author, Kind, Network, Post
from tests.core.test_classify import SHIPPED

LONGEST = IntakeModel().max_text_chars


def _fill(unit: str, *, head: str = "x", tail: str = "?") -> str:
    body = unit * ((LONGEST - len(head) - len(tail)) // len(unit))
    return head + body + tail


# Each holds the words a rule's prefilter looks for, placed where they cannot match early.
HOSTILE = {
    "line breaks, then a question mark": _fill("\n", tail="?what"),
    "line breaks after a full stop": _fill("\n", head=".", tail="?how"),
    "line breaks and spaces": _fill("\n ", tail="?where"),
    "a greeting, then line breaks": _fill("\n", head="hello", tail="?when"),
    "a dashed word never followed by dot com": _fill("a-", head="com dot ", tail=""),
    "a dashed word never followed by a shop": _fill("a-", head="shop/ ", tail=".sh"),
    "spaces after 'see my'": _fill(" ", head="can I see my", tail=". records"),
    "repeated digits": _fill("12 ", tail=""),
}


def _post(text: str) -> Post:
    return Post(
        id="hostile",
        network=Network.X,
        account="council",
        author=Author(handle="@someone"),
        text=text,
        posted_at=datetime(2026, 11, 20, 9, 14, tzinfo=UTC),
        kind=Kind.POST,
    )


@pytest.mark.timeout(60)
def test_the_longest_hostile_posts_are_classified_without_stalling() -> None:
    for name, text in HOSTILE.items():
        assert len(text) <= LONGEST, name
        result = SHIPPED.classify(_post(text))
        assert result.rule, name
