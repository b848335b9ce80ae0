"""The pydantic models of approval and publishing in `config/desk.yaml`.

Per account: `approvers`, `two_approvers`, `political_approvers`, `crisis_approver` and
`publisher`; for the whole desk, `approval` (reaction emoji and what counts as political).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.core.approval import PoliticalRules
from bot.core.posts import Category

_EMOJI = re.compile(r"^[a-z0-9_+'-]{1,100}$")
_ENV = re.compile(r"^[A-Z][A-Z0-9_]{0,127}$")


class ManualPublisherModel(BaseModel):
    """Staff copy the approved text and post it themselves, then press Posted."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["manual"]


class WebhookPublisherModel(BaseModel):
    """A signed POST of each approved reply to the team's social media platform."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["webhook"]
    url: str
    # The environment variable holding the shared secret the body is signed with.
    secret_env: str
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    max_attempts: int = Field(default=8, ge=1, le=100)

    @field_validator("url")
    @classmethod
    def _url_valid(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+(/\S*)?$", value):
            raise ValueError(f"{value!r} is not an http(s) address")
        return value

    @field_validator("secret_env")
    @classmethod
    def _env_valid(cls, value: str) -> str:
        if not _ENV.match(value):
            raise ValueError(f"{value!r} is not an environment variable name like REPLIES_SECRET")
        return value


PublisherModel = Annotated[
    ManualPublisherModel | WebhookPublisherModel, Field(discriminator="kind")
]


class PreElectionPeriodModel(BaseModel):
    """Dates (inclusive) when every theme needs a political approver."""

    model_config = ConfigDict(extra="forbid")

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> PreElectionPeriodModel:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class PoliticalModel(BaseModel):
    """What makes a theme political or controversial."""

    model_config = ConfigDict(extra="forbid")

    keywords: list[str] = Field(default_factory=list)
    pre_election_periods: list[PreElectionPeriodModel] = Field(default_factory=list)

    def rules(self) -> PoliticalRules:
        """The pure rules."""
        return PoliticalRules(
            keywords=frozenset(k.strip() for k in self.keywords if k.strip()),
            periods=tuple((p.start, p.end) for p in self.pre_election_periods),
        )


class ReactionsModel(BaseModel):
    """The emoji (names without colons) that act on a suggestion."""

    model_config = ConfigDict(extra="forbid")

    approve: str = "white_check_mark"
    reject: str = "x"
    posted: str = "outbox_tray"

    @field_validator("approve", "reject", "posted")
    @classmethod
    def _emoji_valid(cls, value: str) -> str:
        value = value.strip(":")
        if not _EMOJI.match(value):
            raise ValueError(f"{value!r} is not an emoji name like white_check_mark")
        return value

    @model_validator(mode="after")
    def _different(self) -> ReactionsModel:
        if len({self.approve, self.reject, self.posted}) < 3:
            raise ValueError("approve, reject and posted must be three different emoji")
        return self


class ApprovalModel(BaseModel):
    """Desk-wide approval settings (desk.yaml `approval`)."""

    model_config = ConfigDict(extra="forbid")

    # Suggest a reply in each theme's thread (off: no suggestions, approvals or publishing).
    suggest_in_threads: bool = True
    reactions: ReactionsModel = ReactionsModel()
    political: PoliticalModel = PoliticalModel()


def check_categories(value: list[str]) -> list[str]:
    """`two_approvers` names categories."""
    allowed = {c.value for c in Category}
    bad = [c for c in value if c not in allowed]
    if bad:
        raise ValueError(
            f"{', '.join(map(repr, bad))}: not a category (expected one of "
            f"{', '.join(sorted(allowed))})"
        )
    return value
