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
    return {"default_category": "unsorted", "rules": list(rules), **top}


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
        # Filing every post no rule was sure of as chatter would hide risks and requests.
        (rules_file(rule(), default_category="general"), "must be unsorted"),
        (rules_file(rule(), default_category="enquiry"), "unsorted:` route in desk.yaml"),
        # An unsure rule only hints, and a hint of risk or of a statutory request is lost
        # when the second opinion files the post elsewhere.
        (rules_file(rule(category="urgent", confident=False)), "urgent rules cannot be"),
        (rules_file(rule(category="foi", confident=False)), "foi rules cannot be"),
        (rules_file(rule(category="subject_access", confident=False)), "confident: false"),
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
    )
    rules, default = RulesFile.model_validate(data).to_core()
    assert default is Category.UNSORTED
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
        ("council", Network.FACEBOOK, Kind.DIRECT_MESSAGE, Category.UNSORTED),
        ("fire", Network.X, Kind.DIRECT_MESSAGE, Category.UNSORTED),
        ("fire", Network.FACEBOOK, Kind.COMMENT, Category.UNSORTED),
    ],
)
def test_a_restricted_rule_applies_only_there(
    account: str, network: Network, kind: Kind, category: Category
) -> None:
    rules, default = RulesFile.model_validate(RESTRICTED).to_core()
    classifier = Classifier(rules, default_category=default)
    result = classifier.classify(post(account=account, network=network, kind=kind))
    assert result.category is category


# --- Concepts, proximity and errors located by line ---------------------------------------


def test_concepts_expand_in_terms_near_and_vetoes() -> None:
    data = rules_file(
        {
            "name": "water",
            "category": "urgent",
            "any": ["@water", "help"],
            "near": [{"find": ["@person"], "near": ["@water"], "within": 4}],
            "unless_any": ["@fun"],
        },
        concepts={
            "water": ["river", "canal"],
            "person": ["someone", "@child"],
            "child": ["a kid"],
            "fun": ["swimming"],
        },
    )
    rules, _ = RulesFile.model_validate(data).to_core()
    rule = rules[0]
    assert rule.any_terms == ("river", "canal", "help")
    assert rule.near[0].first == ("someone", "a kid") and rule.near[0].within == 4
    assert rule.unless_terms == ("swimming",)


def test_a_concept_can_come_from_a_maintained_word_list() -> None:
    data = rules_file(
        rule(any=["@rude"]),
        concepts={"rude": {"wordlist": "better-profanity", "only": ["twat"], "plus": ["numpty"]}},
    )
    rules, _ = RulesFile.model_validate(data).to_core()
    assert rules[0].any_terms == ("numpty", "twat")
    everything = rules_file(
        rule(any=["@rude"]),
        concepts={"rude": {"wordlist": "better-profanity", "except": ["twat"]}},
    )
    terms = RulesFile.model_validate(everything).to_core()[0][0].any_terms
    assert len(terms) > 500 and "twat" not in terms


@pytest.mark.parametrize(
    ("concepts", "any_terms", "message"),
    [
        ({}, ["@nowhere"], "names unknown concept(s) @nowhere"),
        ({"a": ["@b"], "b": ["@a"]}, ["@a"], "concepts refer to each other in a loop: a -> b -> a"),
        ({"a": {"wordlist": "no-such-list"}}, ["@a"], "unknown word list 'no-such-list'"),
        (
            {"a": {"wordlist": "better-profanity", "only": ["zzzz"]}},
            ["@a"],
            "not in the better-profanity list: zzzz",
        ),
        ({"Bad Name": ["x"]}, ["x"], "name must be lowercase-kebab"),
    ],
)
def test_concept_mistakes_are_explained(
    concepts: dict[str, Any], any_terms: list[str], message: str
) -> None:
    assert message in errors(rules_file(rule(any=any_terms), concepts=concepts))


RULES_WITH_MISTAKES = """\
default_category: unsorted
concepts:
  water: [river]
rules:
  - name: fine
    category: urgent
    any: ["@water"]

  - name: misspelt
    category: complaints
    any: [bin]
  - name: unknown-concept
    category: foi
    any: ["@spend"]
"""


def test_config_problems_name_the_rule_and_its_line(tmp_path: Path) -> None:
    import shutil

    from bot.config import ConfigError, load_config

    config = tmp_path / "config"
    shutil.copytree(RULES_YAML.parent, config)
    (config / "rules.yaml").write_text(RULES_WITH_MISTAKES, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    problems = [str(p) for p in caught.value.problems]
    assert any("rule 'misspelt' (line 9).category" in p for p in problems), problems
    # Once every rule is well formed, references between rules and concepts are checked.
    fixed = RULES_WITH_MISTAKES.replace("complaints", "complaint")
    (config / "rules.yaml").write_text(fixed, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    problems = [str(p) for p in caught.value.problems]
    assert any(
        "rule 'unknown-concept' (line 12) names unknown concept(s) @spend" in p for p in problems
    ), problems


def test_second_opinion_thresholds_are_read() -> None:
    model = RulesFile.model_validate(rules_file(rule(), second_opinion={"raise_at": 0.7}))
    assert model.second_opinion.to_core().raise_at == 0.7
    assert "less than or equal to 1" in errors(rules_file(rule(), second_opinion={"raise_at": 2}))


def test_only_rule_flags_can_be_raised_by_a_rule() -> None:
    assert "a rule can raise only hate_crime, legal" in errors(rules_file(rule(flags=["link"])))
