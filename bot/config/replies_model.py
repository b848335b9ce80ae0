"""The shape of config/replies.yaml: which reply template suits which situation."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from bot.config.desk_model import DeskFile
from bot.config.fields import NetworkField
from bot.core.posts import Category
from bot.core.replies import ChoiceRule, ChoiceTable, ReplyBook

_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _listed(value: object) -> object:
    """A single value where a list is expected, as a list of one."""
    return [value] if isinstance(value, str | int) and not isinstance(value, bool) else value


def _check_key(value: str, what: str) -> str:
    if not _KEY.match(value):
        raise ValueError(
            f"{value!r} is not a {what} (lower case with underscores, e.g. fly_tipping)"
        )
    return value


def _any_of(values: list | None) -> frozenset | None:
    """The values a condition accepts; None when the condition is not given."""
    return None if values is None else frozenset(values)


TemplateName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,59}$")]
CategoryList = Annotated[list[Category], BeforeValidator(_listed), Field(min_length=1)]
NetworkList = Annotated[list[NetworkField], BeforeValidator(_listed), Field(min_length=1)]
WordList = Annotated[list[str], BeforeValidator(_listed), Field(min_length=1)]


class WhenModel(BaseModel):
    """The conditions of a choice rule; each one given must match, a list means any of."""

    model_config = ConfigDict(extra="forbid")

    category: CategoryList | None = None
    topic: WordList | None = None
    network: NetworkList | None = None
    account: WordList | None = None
    deletion_reason: WordList | None = None
    out_of_hours: bool | None = None
    personal_data: bool | None = None
    direct_message: bool | None = None
    crisis: bool | None = None

    @field_validator("topic")
    @classmethod
    def _topics(cls, value: list[str] | None) -> list[str] | None:
        return value and [_check_key(topic, "topic") for topic in value]


class ChoiceRuleModel(BaseModel):
    """One rule as written in replies.yaml."""

    model_config = ConfigDict(extra="forbid")

    name: str
    when: WhenModel = WhenModel()
    use: list[TemplateName] = Field(min_length=1)
    why: str = Field(min_length=1, max_length=300)

    @field_validator("name")
    @classmethod
    def _kebab_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"{value!r} must be lowercase-kebab, e.g. 'foi-on-x'")
        return value

    def to_core(self) -> ChoiceRule:
        """The core rule this entry describes."""
        when = self.when
        return ChoiceRule(
            name=self.name,
            why=self.why,
            templates=tuple(self.use),
            categories=_any_of(when.category),
            topics=_any_of(when.topic),
            networks=_any_of(when.network),
            accounts=_any_of(when.account),
            deletion_reasons=_any_of(when.deletion_reason),
            out_of_hours=when.out_of_hours,
            personal_data=when.personal_data,
            direct_message=when.direct_message,
            crisis=when.crisis,
        )


class FallbackModel(BaseModel):
    """What to suggest when no rule's template is available."""

    model_config = ConfigDict(extra="forbid")

    use: list[TemplateName] = Field(min_length=1)
    why: str = Field(min_length=1, max_length=300)


class RepliesFile(BaseModel):
    """The whole of `replies.yaml`."""

    model_config = ConfigDict(extra="forbid")

    # Why a comment may be deleted, each with the label staff see.
    deletion_reasons: dict[str, str] = Field(min_length=1)
    rules: list[ChoiceRuleModel]
    fallback: FallbackModel

    @field_validator("deletion_reasons")
    @classmethod
    def _reason_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key, label in value.items():
            _check_key(key, "deletion reason")
            if not label.strip():
                raise ValueError(f"deletion reason {key!r} needs a label staff will see")
        return value

    @model_validator(mode="after")
    def _rules_consistent(self) -> RepliesFile:
        problems = []
        names = [rule.name for rule in self.rules]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            problems.append(f"rule names must be unique: {', '.join(repeated)}")
        for rule in self.rules:
            for reason in rule.when.deletion_reason or ():
                if reason not in self.deletion_reasons:
                    problems.append(
                        f"rule {rule.name!r}: {reason!r} is not one of deletion_reasons "
                        f"({', '.join(self.deletion_reasons)})"
                    )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def table(self) -> ChoiceTable:
        """The core choice table."""
        return ChoiceTable(
            rules=tuple(rule.to_core() for rule in self.rules),
            fallback=tuple(self.fallback.use),
            fallback_why=self.fallback.why,
        )

    def unknown_accounts(self, accounts: set[str]) -> list[tuple[str, str]]:
        """(key, message) for every rule naming an account desk.yaml does not have."""
        found = []
        known = ", ".join(sorted(accounts))
        for index, rule in enumerate(self.rules):
            for account in rule.when.account or ():
                if account not in accounts:
                    found.append(
                        (
                            f"rules.{index}.when.account",
                            f"unknown account {account!r} (desk.yaml has {known})",
                        )
                    )
        return found


def build_reply_book(*, desk: DeskFile, replies: RepliesFile, templates_dir: Path) -> ReplyBook:
    """The reply book for this desk, reading templates from `templates_dir/replies`."""
    return ReplyBook(
        directory=Path(templates_dir) / "replies",
        table=replies.table(),
        voices={key: account.voice() for key, account in desk.accounts.items()},
        lengths=desk.reply_length.rules(),
        zone=ZoneInfo(desk.timezone),
    )
