"""Routing: unsorted posts, risk to life at night, and what a second opinion may change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bot.core.classify import Classifier, Rule
from bot.core.opinion import SecondOpinionPolicy, with_second_opinion
from bot.core.posts import Author, Category, Classification, Network, Opinion, Post
from bot.core.routing import RoutingTable, triage

U, SAR, FOI = Category.URGENT, Category.SUBJECT_ACCESS, Category.FOI
MOD, COMP, ENQ, GEN, UNSORTED = (
    Category.MODERATION,
    Category.COMPLAINT,
    Category.ENQUIRY,
    Category.GENERAL,
    Category.UNSORTED,
)

ROUTES = RoutingTable(
    routes={
        "council": {"urgent": "#urgent", "enquiry": "#enquiries", "default": "#desk"},
        "fire": {"urgent": "#control", "unsorted": "#needs-a-human", "default": "#fire"},
    },
    round_the_clock=frozenset({"#control", "#duty"}),
    duty_channel="#duty",
)


def post(text: str, account: str = "council") -> Post:
    return Post(
        id="1",
        network=Network.X,
        account=account,
        author=Author(handle="@someone"),
        text=text,
        posted_at=datetime(2026, 11, 21, 2, 0, tzinfo=UTC),
    )


def test_unsorted_goes_to_the_unsorted_channel_else_the_enquiry_channel() -> None:
    assert ROUTES.channel_for("fire", UNSORTED) == "#needs-a-human"
    assert ROUTES.channel_for("council", UNSORTED) == "#enquiries"


@pytest.mark.parametrize(
    ("account", "category", "also"),
    [
        ("council", U, ("#duty",)),  # #urgent is a 9-5 channel: the duty channel sees it too
        ("fire", U, ()),  # fire control is watched round the clock
        ("council", FOI, ()),
    ],
)
def test_urgent_posts_also_go_where_someone_watches_at_night(
    account: str, category: Category, also: tuple[str, ...]
) -> None:
    channel = ROUTES.channel_for(account, category)
    assert ROUTES.also_for(category, channel) == also


@dataclass
class FixedOpinion:
    """A second opinion that always says the same."""

    said: Opinion

    def opinion(self, post: Post) -> Opinion:
        return self.said


POLICY = SecondOpinionPolicy(raise_at=0.6, show_at=0.4)


# (rules' category, model's opinion, confidence, category after, opinion kept)
RAISES = [
    (ENQ, U, 0.9, U, True),  # raised to urgent
    (UNSORTED, SAR, 0.7, SAR, True),  # raised to a statutory route
    (COMP, FOI, 0.61, FOI, True),
    (FOI, U, 0.8, U, True),  # statutory raised to urgent
    (U, GEN, 0.99, U, True),  # never lowered; its view is shown
    (FOI, SAR, 0.95, FOI, True),  # statutory to statutory is not a raise
    (SAR, ENQ, 0.9, SAR, True),
    (ENQ, U, 0.5, ENQ, True),  # not sure enough to raise, sure enough to show
    (ENQ, U, 0.3, ENQ, False),  # not shown at all
    (ENQ, COMP, 0.99, ENQ, True),  # other routes are never changed, only shown
    (ENQ, ENQ, 0.99, ENQ, False),  # agreement adds nothing
]


@pytest.mark.parametrize(("rules", "model", "confidence", "after", "kept"), RAISES)
def test_the_second_opinion_raises_and_never_lowers(
    rules: Category, model: Category, confidence: float, after: Category, kept: bool
) -> None:
    before = Classification(rules, "some-rule: matched")
    result = with_second_opinion(before, Opinion(model, confidence), policy=POLICY)
    assert result.category is after
    assert (result.opinion is not None) is kept
    if after is not rules:
        assert result.rule.startswith(f"second opinion: {after.value}")
        assert "some-rule" in result.rule


def test_triage_asks_the_second_opinion_and_routes_the_raise() -> None:
    classifier = Classifier([Rule(name="bins", category=COMP, any_terms=("bins",))])
    model = FixedOpinion(Opinion(U, 0.9))
    result = triage(
        post("bins, and I can't go on"),
        classifier=classifier,
        routing=ROUTES,
        second_opinion=model,
        policy=POLICY,
    )
    assert result.classification.category is U
    assert (result.channel, result.also) == ("#urgent", ("#duty",))


def test_a_category_chosen_by_a_person_is_not_second_guessed() -> None:
    classifier = Classifier([Rule(name="bins", category=COMP, any_terms=("bins",))])
    result = triage(
        post("bins"),
        classifier=classifier,
        routing=ROUTES,
        category=GEN,
        second_opinion=FixedOpinion(Opinion(U, 0.99)),
        policy=POLICY,
    )
    assert result.classification.category is GEN and result.classification.opinion is None


def test_unsorted_posts_can_also_go_to_the_duty_channel() -> None:
    cautious = RoutingTable(
        routes=ROUTES.routes,
        round_the_clock=ROUTES.round_the_clock,
        duty_channel="#duty",
        unsorted_to_duty=True,
    )
    assert cautious.also_for(UNSORTED, "#enquiries") == ("#duty",)
    assert ROUTES.also_for(UNSORTED, "#enquiries") == ()
