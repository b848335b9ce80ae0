"""The shape of config/themes.yaml, checked with pydantic and turned into core theme settings."""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.core.places import canonical_name
from bot.core.textnorm import words
from bot.core.themes import DEFAULT_CONVERSATIONAL, ThemeSettings
from bot.core.topics import DangerTerms, TermSets, folded_phrase

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Categories whose posts are each handled on their own and must never be merged as chatter.
NEVER_CONVERSATIONAL = frozenset({"urgent", "foi", "subject_access", "moderation"})


def _check_keys(value: dict[str, list[str]], what: str) -> dict[str, list[str]]:
    problems = []
    for key, terms in value.items():
        if not _KEY.match(key):
            problems.append(f"{what} {key!r} must be a short snake_case word, e.g. 'council_tax'")
        if not terms:
            problems.append(f"{what} {key!r} has no terms")
        elif any(not str(term).strip() for term in terms):
            problems.append(f"{what} {key!r} has a blank term")
    if problems:
        raise ValueError("; ".join(problems))
    try:
        TermSets.build(value)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None
    return value


def _check_categories(value: list[str]) -> list[str]:
    bad = [category for category in value if not _KEY.match(category)]
    if bad:
        raise ValueError(f"categories are snake_case words, not {', '.join(map(repr, bad))}")
    return value


class PersonInDangerModel(BaseModel):
    """What makes a report name a particular person in danger."""

    model_config = ConfigDict(extra="forbid")

    phrases: list[str] = Field(default_factory=list)
    people: list[str] = Field(default_factory=list)
    danger: list[str] = Field(default_factory=list)
    within_words: int = Field(default=8, ge=1, le=40)

    @field_validator("phrases", "people", "danger")
    @classmethod
    def _terms_valid(cls, value: list[str]) -> list[str]:
        if value:
            _check_keys({"terms": value}, "list")
        return value

    def to_core(self) -> DangerTerms:
        """The core detector this entry describes."""
        return DangerTerms.build(
            phrases=self.phrases,
            people=self.people,
            danger=self.danger,
            within_words=self.within_words,
        )


class ThemesFile(BaseModel):
    """The whole of `themes.yaml`."""

    model_config = ConfigDict(extra="forbid")

    conversational_categories: list[str] = Field(
        default_factory=lambda: sorted(DEFAULT_CONVERSATIONAL)
    )
    repeat_categories: list[str] = Field(default_factory=lambda: ["moderation"])
    incident_categories: list[str] = Field(default_factory=lambda: ["urgent"])
    join_window_hours: float = Field(default=168, gt=0, le=24 * 31)
    repeat_window_hours: float = Field(default=720, gt=0, le=24 * 92)
    incident_window_hours: float = Field(default=3, gt=0, le=72)
    incidents_across_accounts: bool = True
    min_similarity: float = Field(default=0.3, gt=0, lt=2)
    topics: dict[str, list[str]] = Field(default_factory=dict)
    incidents: dict[str, list[str]] = Field(default_factory=dict)
    person_in_danger: PersonInDangerModel = PersonInDangerModel()
    places: list[str] = Field(default_factory=list)
    not_places: list[str] = Field(default_factory=list)

    @field_validator("conversational_categories", "repeat_categories", "incident_categories")
    @classmethod
    def _categories_named(cls, value: list[str]) -> list[str]:
        return _check_categories(value)

    @field_validator("conversational_categories")
    @classmethod
    def _never_merge_cases(cls, value: list[str]) -> list[str]:
        wrong = sorted(set(value) & NEVER_CONVERSATIONAL)
        if wrong:
            raise ValueError(
                f"{', '.join(wrong)} posts are individual cases and must never be merged as "
                "conversation: remove them from conversational_categories"
            )
        return value

    @field_validator("topics")
    @classmethod
    def _topics_valid(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return _check_keys(value, "topic")

    @field_validator("incidents")
    @classmethod
    def _incidents_valid(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return _check_keys(value, "incident kind")

    @field_validator("places", "not_places")
    @classmethod
    def _places_named(cls, value: list[str]) -> list[str]:
        blank = [place for place in value if not folded_phrase(place)]
        if blank:
            raise ValueError(f"place names need letters: {', '.join(map(repr, blank))}")
        return value

    @model_validator(mode="after")
    def _categories_in_one_role(self) -> ThemesFile:
        conversational = set(self.conversational_categories)
        clash = sorted(conversational & set(self.incident_categories)) + sorted(
            conversational & set(self.repeat_categories)
        )
        if clash:
            raise ValueError(
                f"{', '.join(clash)} cannot be both conversational and an incident or repeat "
                "category: list each category in one of them"
            )
        return self

    def to_core(self) -> ThemeSettings:
        """The core settings this file describes."""
        return ThemeSettings(
            topics=TermSets.build(self.topics),
            incidents=TermSets.build(self.incidents),
            person_in_danger=self.person_in_danger.to_core(),
            places=frozenset(canonical_name(place) for place in self.places),
            not_places=frozenset(word for name in self.not_places for word in words(name)),
            conversational_categories=frozenset(self.conversational_categories),
            repeat_categories=frozenset(self.repeat_categories),
            incident_categories=frozenset(self.incident_categories),
            join_window=timedelta(hours=self.join_window_hours),
            repeat_window=timedelta(hours=self.repeat_window_hours),
            incident_window=timedelta(hours=self.incident_window_hours),
            incidents_across_accounts=self.incidents_across_accounts,
            min_similarity=self.min_similarity,
        )
