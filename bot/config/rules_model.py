"""The shape of config/rules.yaml, checked with pydantic and turned into core rules.

Concepts are named lists of terms that several rules share; a term `@name` in a rule (or in
another concept) stands for every term of that concept. A concept can also take its words
from a maintained word list (see bot/config/wordlists.py).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.config.fields import NetworkField
from bot.config.wordlists import WordListError, word_list
from bot.config.yaml_hints import key_lines
from bot.core.classify import Near, Rule
from bot.core.opinion import SecondOpinionPolicy
from bot.core.posts import Category, Flag, Kind

_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CONCEPT_PREFIX = "@"
# Flags a rule may raise when it decides; personal data and links are found on every post.
RULE_FLAGS = (Flag.HATE_CRIME, Flag.LEGAL)


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


def _no_blank(value: list[str]) -> list[str]:
    if any(not term.strip() for term in value):
        raise ValueError("terms must not be blank")
    return value


def yaml_lines(text: str) -> dict[str, dict[Any, int]]:
    """Line numbers (from 1) of each rule by position and each concept by name in rules.yaml."""
    found: dict[str, dict[Any, int]] = {"rules": {}, "concepts": {}}
    for path, line in key_lines(text).items():
        if len(path) == 2 and path[0] in found:
            found[str(path[0])][path[1]] = line
    return found


def _where(kind: str, key: Any, info: ValidationInfo | None) -> str:
    lines = ((info.context or {}).get("lines") or {}).get(kind + "s", {}) if info else {}
    line = lines.get(key)
    return f" (line {line})" if line else ""


class NearModel(BaseModel):
    """Two lists of terms that must occur within `within` words of each other."""

    model_config = ConfigDict(extra="forbid")

    find: list[str] = Field(min_length=1)
    near: list[str] = Field(min_length=1)
    within: int = Field(default=6, ge=0, le=50)

    @field_validator("find", "near")
    @classmethod
    def _no_blank_terms(cls, value: list[str]) -> list[str]:
        return _no_blank(value)


class WordListConcept(BaseModel):
    """A concept whose words come from a maintained list, narrowed or extended here."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    wordlist: str
    only: list[str] | None = None
    except_: list[str] = Field(default_factory=list, alias="except")
    plus: list[str] = Field(default_factory=list)

    def terms(self) -> list[str]:
        """The concept's terms; raises ValueError naming entries that are not in the list."""
        try:
            listed = word_list(self.wordlist)
        except WordListError as exc:
            raise ValueError(str(exc)) from None
        if self.only is not None:
            absent = [word for word in self.only if word.lower() not in listed]
            if absent:
                raise ValueError(
                    f"not in the {self.wordlist} list: {', '.join(absent)} "
                    "(move them to 'plus' if they belong here)"
                )
            chosen = {word.lower() for word in self.only}
        else:
            chosen = set(listed)
        chosen -= {word.lower() for word in self.except_}
        return sorted(chosen | {word.lower() for word in self.plus})


# Categories whose rules must decide when they match ("safe when unsure"), never only hint.
MUST_BE_CONFIDENT = (Category.URGENT, Category.FOI, Category.SUBJECT_ACCESS)

# Categories the second opinion may choose for a post no rule was sure about. Urgent and
# the statutory routes are reached by raising (`urgent_at`, `raise_at`), never by choosing.
CHOOSABLE = (
    Category.COMPLAINT,
    Category.ENQUIRY,
    Category.GENERAL,
    Category.MEDIA,
    Category.MODERATION,
)


class SecondOpinionModel(BaseModel):
    """How sure the learned second opinion must be to raise a post, choose one, or be shown."""

    model_config = ConfigDict(extra="forbid")

    raise_at: float = Field(default=0.5, gt=0, le=1)
    urgent_at: float | None = Field(default=None, gt=0, le=1)
    choose_at: dict[Category, float] = Field(default_factory=dict)
    show_at: float = Field(default=0.4, gt=0, le=1)

    @field_validator("choose_at")
    @classmethod
    def _choosable(cls, value: dict[Category, float]) -> dict[Category, float]:
        problems = [
            f"{category.value} cannot be chosen (allowed: "
            f"{', '.join(c.value for c in CHOOSABLE)}; urgent and the statutory routes are "
            "reached with urgent_at and raise_at)"
            for category in value
            if category not in CHOOSABLE
        ]
        problems += [
            f"{category.value}: {threshold} must be above 0 and at most 1"
            for category, threshold in value.items()
            if not 0 < threshold <= 1
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return value

    def to_core(self) -> SecondOpinionPolicy:
        """The policy the core applies."""
        return SecondOpinionPolicy(
            raise_at=self.raise_at,
            show_at=self.show_at,
            urgent_at=self.urgent_at,
            choose_at=dict(self.choose_at),
        )


class RuleModel(BaseModel):
    """One rule as written in rules.yaml."""

    model_config = ConfigDict(extra="forbid")

    name: str
    category: Category
    description: str = ""
    any_terms: list[str] = Field(default_factory=list, alias="any")
    near: list[NearModel] = Field(default_factory=list)
    regex: list[str] = Field(default_factory=list)
    unless: list[str] = Field(default_factory=list)
    unless_any: list[str] = Field(default_factory=list)
    accounts: list[str] | None = Field(default=None, min_length=1)
    networks: list[NetworkField] | None = Field(default=None, min_length=1)
    kinds: list[Kind] | None = Field(default=None, min_length=1)
    flags: list[Flag] = Field(default_factory=list)
    confident: bool = True

    @field_validator("name")
    @classmethod
    def _kebab_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"{value!r} must be lowercase-kebab, e.g. 'missed-bin-complaint'")
        return value

    @field_validator("any_terms", "unless_any")
    @classmethod
    def _no_blank_terms(cls, value: list[str]) -> list[str]:
        return _no_blank(value)

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

    @field_validator("flags")
    @classmethod
    def _rule_flags(cls, value: list[Flag]) -> list[Flag]:
        wrong = [flag.value for flag in value if flag not in RULE_FLAGS]
        if wrong:
            allowed = ", ".join(flag.value for flag in RULE_FLAGS)
            raise ValueError(f"a rule can raise only {allowed}, not {', '.join(wrong)}")
        return value

    @model_validator(mode="after")
    def _looks_for_something(self) -> RuleModel:
        if not self.any_terms and not self.regex and not self.near:
            raise ValueError(f"rule {self.name!r} needs at least one of 'any', 'near' or 'regex'")
        return self

    @model_validator(mode="after")
    def _sure_when_it_matters(self) -> RuleModel:
        """A risk or a statutory request is routed when in doubt, never only hinted at."""
        if not self.confident and self.category in MUST_BE_CONFIDENT:
            raise ValueError(
                f"rule {self.name!r}: {self.category.value} rules cannot be "
                "`confident: false`: a possible risk or statutory request is routed when in "
                "doubt, and a hint is lost when the second opinion files the post elsewhere. "
                "Remove `confident: false`, or narrow the rule with `unless`"
            )
        return self

    def to_core(self, concepts: dict[str, list[str]] | None = None) -> Rule:
        """The core rule this entry describes, with `@concept` terms expanded."""

        def terms(values: list[str]) -> tuple[str, ...]:
            return tuple(_expand(values, concepts or {}))

        return Rule(
            name=self.name,
            category=self.category,
            description=self.description,
            any_terms=terms(self.any_terms),
            near=tuple(
                Near(first=terms(n.find), second=terms(n.near), within=n.within) for n in self.near
            ),
            patterns=tuple(self.regex),
            unless=tuple(self.unless),
            unless_terms=terms(self.unless_any),
            accounts=frozenset(self.accounts) if self.accounts is not None else None,
            networks=frozenset(n.value for n in self.networks) if self.networks else None,
            kinds=frozenset(k.value for k in self.kinds) if self.kinds else None,
            flags=tuple(self.flags),
            confident=self.confident,
        )

    def references(self) -> set[str]:
        """The concepts this rule names."""
        lists = [self.any_terms, self.unless_any]
        lists += [n.find for n in self.near] + [n.near for n in self.near]
        return {
            term[len(CONCEPT_PREFIX) :]
            for values in lists
            for term in values
            if term.startswith(CONCEPT_PREFIX)
        }


def _expand(values: list[str], concepts: dict[str, list[str]]) -> list[str]:
    out: list[str] = []
    for term in values:
        if term.startswith(CONCEPT_PREFIX):
            out.extend(concepts[term[len(CONCEPT_PREFIX) :]])
        else:
            out.append(term)
    return out


class RulesFile(BaseModel):
    """The whole of rules.yaml: concepts, the category when no rule is sure, the rules."""

    model_config = ConfigDict(extra="forbid")

    # What a post no rule is sure of becomes: only unsorted, so a person sees it (kept as a
    # key so that files that say so stay valid).
    default_category: Category = Category.UNSORTED
    second_opinion: SecondOpinionModel = SecondOpinionModel()
    concepts: dict[str, list[str] | WordListConcept] = Field(default_factory=dict)
    rules: list[RuleModel] = Field(min_length=1)

    @field_validator("default_category")
    @classmethod
    def _needs_a_person(cls, value: Category) -> Category:
        if value is not Category.UNSORTED:
            raise ValueError(
                f"must be unsorted, not {value.value}: a post no rule is sure of may hide a "
                "risk or a statutory request, so it is marked for a person and never filed as "
                f"{value.value}. To send those posts to a channel, give each account an "
                "`unsorted:` route in desk.yaml"
            )
        return value

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, rules: list[RuleModel], info: ValidationInfo) -> list[RuleModel]:
        first_at: dict[str, int] = {}
        duplicates: list[str] = []
        for index, rule in enumerate(rules):
            if rule.name in first_at:
                duplicates.append(f"{rule.name}{_where('rule', index, info)}")
            else:
                first_at[rule.name] = index
        if duplicates:
            raise ValueError(f"rule names must be unique; repeated: {', '.join(duplicates)}")
        return rules

    @model_validator(mode="after")
    def _concepts_resolve(self, info: ValidationInfo) -> RulesFile:
        problems = []
        for name in self.concepts:
            if not _NAME.match(name):
                problems.append(
                    f"concept {name!r}{_where('concept', name, info)}: name must be lowercase-kebab"
                )
        try:
            self.resolved_concepts(lines=((info.context or {}).get("lines") or {}).get("concepts"))
        except ValueError as exc:
            problems.append(str(exc))
        known = set(self.concepts)
        for index, rule in enumerate(self.rules):
            unknown = sorted(rule.references() - known)
            if unknown:
                problems.append(
                    f"rule {rule.name!r}{_where('rule', index, info)} names unknown concept(s) "
                    f"{', '.join(CONCEPT_PREFIX + u for u in unknown)}; define them under "
                    "'concepts'"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def resolved_concepts(self, *, lines: dict[str, int] | None = None) -> dict[str, list[str]]:
        """Every concept's terms, with `@concept` references expanded; ValueError on loops."""
        resolved: dict[str, list[str]] = {}

        def where(name: str) -> str:
            line = (lines or {}).get(name)
            return f" (line {line})" if line else ""

        def resolve(name: str, trail: tuple[str, ...]) -> list[str]:
            if name in resolved:
                return resolved[name]
            if name in trail:
                raise ValueError(
                    f"concepts refer to each other in a loop: {' -> '.join((*trail, name))}"
                )
            if name not in self.concepts:
                raise ValueError(
                    f"concept {trail[-1]!r}{where(trail[-1])} names unknown concept @{name}"
                )
            source = self.concepts[name]
            try:
                raw = source.terms() if isinstance(source, WordListConcept) else source
            except ValueError as exc:
                raise ValueError(f"concept {name!r}{where(name)}: {exc}") from None
            terms: list[str] = []
            for term in raw:
                if term.startswith(CONCEPT_PREFIX):
                    terms.extend(resolve(term[len(CONCEPT_PREFIX) :], (*trail, name)))
                elif term.strip():
                    terms.append(term)
                else:
                    raise ValueError(f"concept {name!r}{where(name)}: terms must not be blank")
            resolved[name] = terms
            return terms

        for name in self.concepts:
            resolve(name, ())
        return resolved

    def to_core(self) -> tuple[list[Rule], Category]:
        """The core rules in order, and the default category."""
        concepts = self.resolved_concepts()
        return [rule.to_core(concepts) for rule in self.rules], self.default_category
