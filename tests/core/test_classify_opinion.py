"""What the second opinion may change: raise to urgent or a statutory route, choose for an
unsorted post and say so, never lower a post, never re-file one the rules were sure of."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import yaml
from pydantic import ValidationError

from bot.config.rules_model import RulesFile
from bot.core.classify import Classifier, Rule
from bot.core.opinion import SecondOpinionPolicy, probabilities_of, with_second_opinion
from bot.core.posts import Author, Category, Classification, Kind, Network, Opinion, Post
from bot.core.routing import RoutingTable, triage
from tests.conftest import CONFIG_DIR

U = Category.URGENT
SAR = Category.SUBJECT_ACCESS
FOI = Category.FOI
MOD = Category.MODERATION
MEDIA = Category.MEDIA
COMP = Category.COMPLAINT
ENQ = Category.ENQUIRY
GEN = Category.GENERAL
UNSORTED = Category.UNSORTED

POLICY = SecondOpinionPolicy(
    raise_at=0.4,
    urgent_at=0.1,
    show_at=0.4,
    choose_at={COMP: 0.5, ENQ: 0.5, GEN: 0.5, MEDIA: 0.5, MOD: 0.9},
)


def likely(**chances: float) -> dict[Category, float]:
    """Probabilities for every category: the ones given, the rest shared out evenly."""
    given = {Category(name): chance for name, chance in chances.items()}
    rest = [c for c in Category if c is not UNSORTED and c not in given]
    left = max(0.0, 1.0 - sum(given.values()))
    return given | {c: left / len(rest) for c in rest}


def apply(rules: Category, chances: dict[Category, float]) -> Classification:
    first = max(chances, key=chances.__getitem__)
    return with_second_opinion(
        Classification(rules, "some-rule: matched"),
        Opinion(first, chances[first]),
        policy=POLICY,
        probabilities=chances,
    )


# (rules' category, the model's probabilities, category after)
TABLE = [
    # Urgent is raised on a small chance, even when the model thinks something else likelier.
    (COMP, likely(complaint=0.7, urgent=0.12), U),
    (GEN, likely(general=0.85, urgent=0.09), GEN),
    (UNSORTED, likely(enquiry=0.6, urgent=0.15), U),
    (FOI, likely(foi=0.6, urgent=0.3), U),
    # The statutory routes are raised to when the model is sure enough of one of them.
    (ENQ, likely(subject_access=0.45, enquiry=0.4), SAR),
    (COMP, likely(foi=0.35, complaint=0.5), COMP),
    (FOI, likely(subject_access=0.9), FOI),  # moving between the two is not a raise
    # Never lowered.
    (U, likely(general=0.99), U),
    (SAR, likely(enquiry=0.95), SAR),
    # An unsorted post: the model chooses a conversational category when sure enough...
    (UNSORTED, likely(complaint=0.82), COMP),
    (UNSORTED, likely(media=0.5), MEDIA),
    # ...and leaves it for a person when not.
    (UNSORTED, likely(general=0.45, enquiry=0.4), UNSORTED),
    # Moderation needs much more: opinion is never deleted on a hunch.
    (UNSORTED, likely(moderation=0.85), UNSORTED),
    (UNSORTED, likely(moderation=0.95), MOD),
    # A category the rules were sure of is never re-filed, however sure the model is.
    (ENQ, likely(complaint=0.99), ENQ),
    (GEN, likely(moderation=0.99), GEN),
]


@pytest.mark.parametrize(("rules", "chances", "after"), TABLE)
def test_what_the_second_opinion_may_change(
    rules: Category, chances: dict[Category, float], after: Category
) -> None:
    assert apply(rules, chances).category is after


def test_a_raise_to_urgent_says_how_likely_urgent_is_and_what_the_rules_said() -> None:
    result = apply(COMP, likely(complaint=0.7, urgent=0.12))
    assert result.rule == (
        "second opinion: urgent (12% sure), raised from complaint (some-rule: matched)"
    )
    assert result.opinion == Opinion(U, 0.12)


def test_a_choice_for_an_unsorted_post_says_no_rule_was_sure() -> None:
    result = with_second_opinion(
        Classification(UNSORTED, "default: no rule matched"),
        Opinion(COMP, 0.82),
        policy=POLICY,
        probabilities=likely(complaint=0.82),
    )
    assert result.category is COMP
    assert result.rule == (
        "second opinion: complaint (82% sure) — no rule was sure (default: no rule matched)"
    )
    assert result.opinion == Opinion(COMP, 0.82)


def test_a_post_left_unsorted_keeps_its_reason_and_shows_the_model_when_sure_enough() -> None:
    result = apply(UNSORTED, likely(general=0.45, enquiry=0.4))
    assert result.rule == "some-rule: matched"
    assert result.opinion is not None and result.opinion.category is GEN


def test_without_choose_at_the_model_never_chooses() -> None:
    result = with_second_opinion(
        Classification(UNSORTED, "default: no rule matched"),
        Opinion(COMP, 0.99),
        policy=SecondOpinionPolicy(raise_at=0.5, show_at=0.4),
    )
    assert result.category is UNSORTED


@dataclass
class TopChoiceOnly:
    """A second opinion that gives only its first choice, as older ones did."""

    said: Opinion

    def opinion(self, post: Post) -> Opinion:
        return self.said


@dataclass
class Graded:
    """A second opinion that gives every category's probability."""

    chances: dict[Category, float]

    def opinion(self, post: Post) -> Opinion:
        first = max(self.chances, key=self.chances.__getitem__)
        return Opinion(first, self.chances[first])

    def probabilities(self, post: Post) -> dict[Category, float]:
        return self.chances


def make_post(text: str) -> Post:
    return Post(
        id="1",
        network=Network.X,
        account="council",
        author=Author(handle="@a"),
        text=text,
        posted_at=datetime(2026, 11, 30, tzinfo=UTC),
        kind=Kind.COMMENT,
    )


def test_probabilities_come_from_the_model_or_from_its_first_choice() -> None:
    post = make_post("bins")
    assert probabilities_of(TopChoiceOnly(Opinion(GEN, 0.7)), post) == {GEN: 0.7}
    chances = likely(general=0.7, urgent=0.2)
    assert probabilities_of(Graded(chances), post) == chances


ROUTES = RoutingTable(
    routes={"council": {"urgent": "#urgent", "complaint": "#complaints", "default": "#enquiries"}},
    round_the_clock=frozenset({"#urgent"}),
)


def test_triage_routes_a_post_the_model_raised_on_a_small_chance_of_urgent() -> None:
    classifier = Classifier([Rule(name="bins", category=COMP, any_terms=("bins",))])
    result = triage(
        make_post("bins again, and I won't be around much longer anyway"),
        classifier=classifier,
        routing=ROUTES,
        second_opinion=Graded(likely(complaint=0.75, urgent=0.15)),
        policy=POLICY,
    )
    assert result.classification.category is U and result.channel == "#urgent"


def test_triage_files_an_unsorted_post_the_model_is_sure_of_where_it_belongs() -> None:
    result = triage(
        make_post("the verge has not been cut all summer"),
        classifier=Classifier([]),
        routing=ROUTES,
        second_opinion=Graded(likely(complaint=0.8)),
        policy=POLICY,
    )
    assert result.classification.category is COMP and result.channel == "#complaints"
    assert "no rule was sure" in result.classification.rule


# --- The policy as written in rules.yaml ---------------------------------------------------


def rules_file(**second_opinion: object) -> dict[str, object]:
    return {
        "second_opinion": second_opinion,
        "rules": [{"name": "bins", "category": "complaint", "any": ["bins"]}],
    }


def test_the_shipped_policy_raises_urgent_lower_than_it_chooses() -> None:
    data = yaml.safe_load((CONFIG_DIR / "rules.yaml").read_text(encoding="utf-8"))
    policy = RulesFile.model_validate(data).second_opinion.to_core()
    assert policy.urgent_at is not None and policy.urgent_at < policy.raise_at
    assert all(policy.urgent_at < at for at in policy.choose_at.values())
    assert policy.choose_at[MOD] > max(at for c, at in policy.choose_at.items() if c is not MOD)
    assert U not in policy.choose_at and SAR not in policy.choose_at


def test_choose_at_is_read_as_categories_and_thresholds() -> None:
    model = RulesFile.model_validate(
        rules_file(urgent_at=0.2, choose_at={"complaint": 0.6, "moderation": 0.95})
    )
    policy = model.second_opinion.to_core()
    assert policy.urgent_at == 0.2
    assert policy.choose_at == {COMP: 0.6, MOD: 0.95}


@pytest.mark.parametrize(
    ("choose_at", "message"),
    [
        ({"urgent": 0.5}, "urgent cannot be chosen"),
        ({"foi": 0.5}, "foi cannot be chosen"),
        ({"complaint": 1.5}, "must be above 0 and at most 1"),
        ({"bins": 0.5}, "Input should be"),
    ],
)
def test_choose_at_refuses_what_cannot_be_chosen(choose_at: dict[str, float], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RulesFile.model_validate(rules_file(choose_at=choose_at))


@pytest.mark.parametrize(
    ("rules", "chances", "decided"),
    [
        (COMP, likely(complaint=0.7, urgent=0.12), "raised"),
        (ENQ, likely(subject_access=0.45, enquiry=0.4), "raised"),
        (UNSORTED, likely(complaint=0.82), "chosen"),
        (UNSORTED, likely(general=0.45, enquiry=0.4), None),  # shown, not decided
        (ENQ, likely(complaint=0.99), None),
        (ENQ, likely(enquiry=0.99), None),  # agrees with the rules
    ],
)
def test_what_the_post_says_about_the_second_opinion(
    rules: Category, chances: dict[Category, float], decided: str | None
) -> None:
    from bot.core.opinion import decided_by_opinion

    assert decided_by_opinion(apply(rules, chances)) == decided
