"""The rules.yaml model: mistakes are caught with clear messages, and rules convert to core."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from bot.config.rules_model import RuleModel, RulesFile
from bot.core.classify import Classifier, Rule
from bot.core.posts import Author, Category, Kind, Network, Post

RULES_YAML = Path(__file__).resolve().parents[2] / "config" / "rules.yaml"


def rules_file(*rules: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"default_category": "general", "rules": list(rules), **top}


def rule(**fields: Any) -> dict[str, Any]:
    return {"name": "bins", "category": "complaint", "any": ["bin"], **fields}


def errors(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        RulesFile.model_validate(data)
    return str(caught.value)


def test_the_shipped_rules_file_is_valid() -> None:
    data = yaml.safe_load(RULES_YAML.read_text(encoding="utf-8"))
    rules, default = RulesFile.model_validate(data).to_core()
    assert default is Category.UNSORTED
    assert {r.category for r in rules} == set(Category) - {Category.UNSORTED}
    Classifier(rules, default_category=default)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (rules_file(rule(regex=["(unclosed"])), "regex '(unclosed' does not compile"),
        (rules_file(rule(regex=["ok", "[z-a]"])), "bad character range z-a"),
        (rules_file(rule(unless=["*oops"])), "regex '*oops' does not compile"),
        (rules_file(rule(), rule()), "rule names must be unique; repeated: bins"),
        (rules_file(rule(category="complaints")), "'complaint'"),
        (rules_file(rule(category="complaints")), "rules.0.category"),
        (rules_file(rule(regx=["x"])), "rules.0.regx"),
        (rules_file(rule(regx=["x"])), "Extra inputs are not permitted"),
        (rules_file(rule(), default_categry="general"), "default_categry"),
        (rules_file(rule(any=[], regex=[])), "needs at least one of 'any', 'near' or 'regex'"),
        (rules_file(rule(any=["  "])), "terms must not be blank"),
        (rules_file(rule(name="Missed Bins")), "must be lowercase-kebab"),
        (rules_file(rule(networks=["myspace"])), "rules.0.networks.0"),
        (rules_file(rule(kinds=["tweet"])), "rules.0.kinds.0"),
        (rules_file(rule(accounts=[])), "rules.0.accounts"),
        (rules_file(), "rules"),
        (rules_file(rule(), default_category="misc"), "default_category"),
    ],
)
def test_mistakes_give_a_clear_error(data: dict[str, Any], message: str) -> None:
    assert message in errors(data)


def test_twitter_is_accepted_as_x_and_lists_become_frozensets() -> None:
    model = RuleModel.model_validate(
        rule(networks=["Twitter", "facebook"], kinds=["direct_message"], accounts=["fire"])
    )
    core = model.to_core()
    assert core.networks == frozenset({"x", "facebook"})
    assert core.kinds == frozenset({"direct_message"})
    assert core.accounts == frozenset({"fire"})


def test_a_full_rule_converts_to_core() -> None:
    data = rules_file(
        {
            "name": "risk-to-life",
            "category": "urgent",
            "description": "Risk to life; 24/7.",
            "any": ["trapped", "can't get out"],
            "regex": [r"\bon\s+fire\b"],
            "unless": [r"\bteam\b"],
        },
        default_category="enquiry",
    )
    rules, default = RulesFile.model_validate(data).to_core()
    assert default is Category.ENQUIRY
    assert rules == [
        Rule(
            name="risk-to-life",
            category=Category.URGENT,
            description="Risk to life; 24/7.",
            any_terms=("trapped", "can't get out"),
            patterns=(r"\bon\s+fire\b",),
            unless=(r"\bteam\b",),
        )
    ]


def test_accounts_are_not_checked_against_the_desk_here() -> None:
    model = RulesFile.model_validate(rules_file(rule(accounts=["no-such-account"])))
    assert model.rules[0].accounts == ["no-such-account"]


def post(*, account: str, network: Network, kind: Kind) -> Post:
    return Post(
        id="1",
        network=network,
        account=account,
        author=Author(handle="@someone"),
        text="my smoke alarm",
        posted_at=datetime(2026, 11, 20, tzinfo=UTC),
        kind=kind,
    )


RESTRICTED = rules_file(
    {
        "name": "fire-dm-on-facebook",
        "category": "enquiry",
        "any": ["smoke alarm"],
        "accounts": ["fire"],
        "networks": ["facebook"],
        "kinds": ["direct_message"],
    }
)


@pytest.mark.parametrize(
    ("account", "network", "kind", "category"),
    [
        ("fire", Network.FACEBOOK, Kind.DIRECT_MESSAGE, Category.ENQUIRY),
        ("council", Network.FACEBOOK, Kind.DIRECT_MESSAGE, Category.GENERAL),
        ("fire", Network.X, Kind.DIRECT_MESSAGE, Category.GENERAL),
        ("fire", Network.FACEBOOK, Kind.COMMENT, Category.GENERAL),
    ],
)
def test_a_restricted_rule_applies_only_there(
    account: str, network: Network, kind: Kind, category: Category
) -> None:
    rules, default = RulesFile.model_validate(RESTRICTED).to_core()
    classifier = Classifier(rules, default_category=default)
    result = classifier.classify(post(account=account, network=network, kind=kind))
    assert result.category is category
