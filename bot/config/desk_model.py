"""The pydantic model of `config/desk.yaml`: accounts, their channels and intake limits."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.config.fields import NetworkField
from bot.core.posts import Category

_CHANNEL = re.compile(r"^(?:[CG][A-Z0-9]{6,}|#[a-z0-9][a-z0-9_-]{0,79})$")
_ACCOUNT_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


def _check_channel(value: str) -> str:
    if not _CHANNEL.match(value):
        raise ValueError(
            f"{value!r} is not a channel: use an ID like C0123ABCD or a name like #comms-foi "
            "(lower case, no spaces)"
        )
    return value


class AccountModel(BaseModel):
    """One of the organisation's own social media accounts."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="How the account is shown to staff")
    networks: list[NetworkField] = Field(min_length=1)
    sign_off: str = Field(min_length=1)
    channels: dict[str, str]

    @field_validator("channels")
    @classmethod
    def _channels_valid(cls, value: dict[str, str]) -> dict[str, str]:
        allowed = {c.value for c in Category} | {"default"}
        problems = []
        for category, channel in value.items():
            if category not in allowed:
                problems.append(
                    f"{category!r} is not a category (expected one of {', '.join(sorted(allowed))})"
                )
                continue
            try:
                _check_channel(channel)
            except ValueError as exc:
                problems.append(f"{category}: {exc}")
        missing = [c.value for c in Category if c.value not in value]
        if missing and "default" not in value:
            problems.append(
                f"no channel for {', '.join(missing)}: route each category or add 'default'"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return value


class IntakeModel(BaseModel):
    """Limits on the intake webhook."""

    model_config = ConfigDict(extra="forbid")

    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    max_text_chars: int = Field(default=20_000, ge=280, le=200_000)
    max_items: int = Field(default=1000, ge=1, le=10_000)


class OutboxModel(BaseModel):
    """How the outbox retries Slack."""

    model_config = ConfigDict(extra="forbid")

    backoff_initial_seconds: float = Field(default=2.0, gt=0, le=600)
    backoff_max_seconds: float = Field(default=300.0, gt=0, le=3600)


class DeskFile(BaseModel):
    """The whole of `desk.yaml`."""

    model_config = ConfigDict(extra="forbid")

    timezone: str = "Europe/London"
    default_account: str
    # Where commsbot reports what it could not deliver; None to rely on the Home tab only.
    alerts_channel: str | None = None
    accounts: dict[str, AccountModel] = Field(min_length=1)
    intake: IntakeModel = IntakeModel()
    outbox: OutboxModel = OutboxModel()

    def networks_by_account(self) -> dict[str, set[str]]:
        """For each account, the networks it is on."""
        return {key: {n.value for n in account.networks} for key, account in self.accounts.items()}

    @field_validator("alerts_channel")
    @classmethod
    def _alerts_channel_valid(cls, value: str | None) -> str | None:
        return None if value is None else _check_channel(value)

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/London)") from None
        return value

    @field_validator("accounts")
    @classmethod
    def _account_keys(cls, value: dict[str, AccountModel]) -> dict[str, AccountModel]:
        bad = [key for key in value if not _ACCOUNT_KEY.match(key)]
        if bad:
            raise ValueError(
                f"account keys must be short lower-case words, not {', '.join(map(repr, bad))}"
            )
        return value

    @model_validator(mode="after")
    def _default_account_known(self) -> DeskFile:
        problem = default_account_problem(self.default_account, self.accounts)
        if problem:
            raise ValueError(problem)
        return self


def default_account_problem(default_account: object, accounts: object) -> str | None:
    """What is wrong with `default_account` given the accounts, or None."""
    if not isinstance(default_account, str) or not isinstance(accounts, dict):
        return None
    if default_account in accounts:
        return None
    return (
        f"default_account {default_account!r} is not one of the accounts "
        f"({', '.join(sorted(accounts))})"
    )
