"""The shape of config/rules.yaml, checked with pydantic and turned into core rules."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.config.fields import NetworkField
from bot.core.classify import Rule
from bot.core.posts import Category, Kind

_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _check_regexes(patterns: list[str]) -> list[str]:
    problems = []
    for pattern in patterns:
        try:
            re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            problems.append(f"regex {pattern!r} does not compile: {exc}")
    if problems:
        raise ValueError("; ".join(problems))
    return patterns


class RuleModel(BaseModel):
    """One rule as written in rules.yaml."""

    model_config = ConfigDict(extra="forbid")

    name: str
    category: Category
    description: str = ""
    any_terms: list[str] = Field(default_factory=list, alias="any")
    regex: list[str] = Field(default_factory=list)
    unless: list[str] = Field(default_factory=list)
    accounts: list[str] | None = Field(default=None, min_length=1)
    networks: list[NetworkField] | None = Field(default=None, min_length=1)
    kinds: list[Kind] | None = Field(default=None, min_length=1)

    @field_validator("name")
    @classmethod
    def _kebab_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"{value!r} must be lowercase-kebab, e.g. 'missed-bin-complaint'")
        return value

    @field_validator("any_terms")
    @classmethod
    def _no_blank_terms(cls, value: list[str]) -> list[str]:
        if any(not term.strip() for term in value):
            raise ValueError("terms must not be blank")
        return value

    @field_validator("regex", "unless")
    @classmethod
    def _regexes_compile(cls, value: list[str]) -> list[str]:
        return _check_regexes(value)

    @field_validator("accounts")
    @classmethod
    def _accounts_named(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(not account.strip() for account in value):
            raise ValueError("account names must not be blank")
        return value

    @model_validator(mode="after")
    def _looks_for_something(self) -> RuleModel:
        if not self.any_terms and not self.regex:
            raise ValueError(f"rule {self.name!r} needs at least one of 'any' or 'regex'")
        return self

    def to_core(self) -> Rule:
        """The core rule this entry describes."""
        return Rule(
            name=self.name,
            category=self.category,
            description=self.description,
            any_terms=tuple(self.any_terms),
            patterns=tuple(self.regex),
            unless=tuple(self.unless),
            accounts=frozenset(self.accounts) if self.accounts is not None else None,
            networks=frozenset(n.value for n in self.networks) if self.networks else None,
            kinds=frozenset(k.value for k in self.kinds) if self.kinds else None,
        )


class RulesFile(BaseModel):
    """The whole of rules.yaml: the category when no rule matches, and the rules in order."""

    model_config = ConfigDict(extra="forbid")

    default_category: Category = Category.GENERAL
    rules: list[RuleModel] = Field(min_length=1)

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, rules: list[RuleModel]) -> list[RuleModel]:
        seen: set[str] = set()
        duplicates: list[str] = []
        for rule in rules:
            if rule.name in seen and rule.name not in duplicates:
                duplicates.append(rule.name)
            seen.add(rule.name)
        if duplicates:
            raise ValueError(f"rule names must be unique; repeated: {', '.join(duplicates)}")
        return rules

    def to_core(self) -> tuple[list[Rule], Category]:
        """The core rules in order, and the default category."""
        return [rule.to_core() for rule in self.rules], self.default_category
