"""The pydantic model of `config/desk.yaml`: accounts, their channels and intake limits."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.config.approval_model import (
    ApprovalModel,
    ManualPublisherModel,
    PublisherModel,
    check_categories,
)
from bot.config.fields import NetworkField
from bot.config.people_model import PeopleModel
from bot.core.approval import ApprovalPolicy
from bot.core.posts import Category, Network
from bot.core.replies import AccountVoice, SignOffStyle
from bot.core.textlength import X_URL_LENGTH, LengthRule

_CHANNEL = re.compile(r"^(?:[CG][A-Z0-9]{6,}|#[a-z0-9][a-z0-9_-]{0,79})$")
_ACCOUNT_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


def _check_channel(value: str) -> str:
    if not _CHANNEL.match(value):
        raise ValueError(
            f"{value!r} is not a channel: use an ID like C0123ABCD or a name like #comms-foi "
            "(lower case, no spaces)"
        )
    return value


_EMAIL = re.compile(r"^[^@\s]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+$", re.IGNORECASE)
_URL = re.compile(r"^https?://[a-z0-9-]+(?:\.[a-z0-9-]+)+(?::\d+)?(?:[/?#]\S*)?$", re.IGNORECASE)
_PHONE = re.compile(r"^\+?[0-9][0-9 ]{1,18}[0-9]$")
_LINK_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _check_email(value: str | None) -> str | None:
    if value is not None and not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an email address (e.g. foi@anyshire.gov.uk)")
    return value


def _check_url(value: str | None) -> str | None:
    if value is not None and not _URL.match(value):
        raise ValueError(f"{value!r} is not a web address (e.g. https://www.anyshire.gov.uk/foi)")
    return value


class ContactsModel(BaseModel):
    """The routes an account's replies send people to; a reply may only use those set."""

    model_config = ConfigDict(extra="forbid")

    foi_email: str | None = None
    foi_form: str | None = None
    subject_access_email: str | None = None
    subject_access_form: str | None = None
    complaints_email: str | None = None
    complaints_form: str | None = None
    # Working days within which the complaints team replies, said in acknowledgements.
    complaints_reply_days: int | None = Field(default=None, ge=1, le=60)
    press_email: str | None = None
    press_phone: str | None = None
    phone: str | None = None
    out_of_hours_phone: str | None = None
    emergency_phone: str = "999"
    non_emergency_phone: str | None = "101"
    # When the account is watched, as said in replies: "9am to 5pm, Monday to Friday".
    monitoring_hours: str | None = Field(default=None, min_length=1, max_length=80)

    @field_validator("foi_email", "subject_access_email", "complaints_email", "press_email")
    @classmethod
    def _emails(cls, value: str | None) -> str | None:
        return _check_email(value)

    @field_validator("foi_form", "subject_access_form", "complaints_form")
    @classmethod
    def _urls(cls, value: str | None) -> str | None:
        return _check_url(value)

    @field_validator(
        "press_phone", "phone", "out_of_hours_phone", "emergency_phone", "non_emergency_phone"
    )
    @classmethod
    def _phones(cls, value: str | None) -> str | None:
        if value is not None and not _PHONE.match(value):
            raise ValueError(
                f"{value!r} is not a phone number (digits and spaces, e.g. 0300 123 4567)"
            )
        return value

    def configured(self) -> dict[str, str | int]:
        """The routes that are set, by name."""
        return {key: value for key, value in self.model_dump().items() if value is not None}


class AccountModel(BaseModel):
    """One of the organisation's own social media accounts."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="How the account is shown to staff")
    networks: list[NetworkField] = Field(min_length=1)
    # Replies end with this text; with `officer_first_name` style, with the approving
    # officer's first name instead once it is known.
    sign_off: str = Field(min_length=1)
    sign_off_style: SignOffStyle = SignOffStyle.FIXED
    contacts: ContactsModel = ContactsModel()
    # Web pages replies link to, by a name templates use: `links.bins`.
    links: dict[str, str] = Field(default_factory=dict)
    channels: dict[str, str]
    # Who may act on this account's themes (claim, move, merge, re-categorise, close,
    # reopen): Slack user IDs and/or user group IDs. Nobody, when none are named.
    members: PeopleModel = PeopleModel()
    # Who may approve suggested replies; nobody named means nobody can (check-config warns).
    approvers: PeopleModel = PeopleModel()
    # Categories whose replies need two different approvers (none by default).
    two_approvers: list[str] = Field(default_factory=list)
    # Political or controversial themes need an approval from one of these.
    political_approvers: PeopleModel = PeopleModel()
    # In crisis mode, this one named approver signs off every reply, and nobody else.
    crisis_approver: PeopleModel = PeopleModel()
    # Where approved replies go: manual (copy and press Posted) or a signed webhook.
    publisher: PublisherModel = ManualPublisherModel(kind="manual")

    @field_validator("two_approvers")
    @classmethod
    def _two_approvers_valid(cls, value: list[str]) -> list[str]:
        return check_categories(value)

    def approval_policy(self) -> ApprovalPolicy:
        """This account's approval rules."""
        return ApprovalPolicy(
            approvers=self.approvers.people(),
            two_approvers=frozenset(self.two_approvers),
            political_approvers=self.political_approvers.people(),
            crisis_approver=self.crisis_approver.people(),
        )

    @field_validator("links")
    @classmethod
    def _links_valid(cls, value: dict[str, str]) -> dict[str, str]:
        problems = []
        for key, url in value.items():
            if not _LINK_KEY.match(key):
                problems.append(f"{key!r} must be a short lower-case name like council_tax")
            try:
                _check_url(url)
            except ValueError as exc:
                problems.append(f"{key}: {exc}")
        if problems:
            raise ValueError("; ".join(problems))
        return value

    def voice(self) -> AccountVoice:
        """How this account speaks in replies."""
        return AccountVoice(
            name=self.name,
            sign_off=self.sign_off,
            sign_off_style=self.sign_off_style,
            contacts=self.contacts.configured(),
            links=dict(self.links),
        )

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
        # Unsorted posts go to the enquiry channel unless the account names one for them.
        missing = [c.value for c in Category if c is not Category.UNSORTED and c.value not in value]
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
    """How the outbox paces and retries Slack."""

    model_config = ConfigDict(extra="forbid")

    backoff_initial_seconds: float = Field(default=2.0, gt=0, le=600)
    backoff_max_seconds: float = Field(default=300.0, gt=0, le=3600)
    # At most one Slack call per channel this often: Slack takes about one a second.
    pace_seconds: float = Field(default=1.1, ge=0, le=60)
    # A channel getting more posts a second than this (smoothed over about 10 s) is busy:
    # its views are refreshed on an allowance of Slack calls per post instead of at once.
    busy_posts_per_second: float = Field(default=0.5, gt=0, le=1000)
    busy_calls_per_post: float = Field(default=0.06, gt=0, le=10)
    # In a busy channel an urgent theme's view waits at most this long for its allowance.
    urgent_max_wait_seconds: float = Field(default=8.0, ge=0, le=600)
    # In a busy channel a parent message is updated at most this often (new posts still
    # go to its thread as they come).
    busy_update_seconds: float = Field(default=30.0, ge=0, le=3600)
    # /healthz is unhealthy once a change has waited this long to reach Slack, or Slack has
    # been unreachable this long.
    unhealthy_after_seconds: float = Field(default=300.0, gt=0, le=86400)


class ReplyLengthModel(BaseModel):
    """The longest reply each network takes, in characters (X: weighted, URLs count 23)."""

    model_config = ConfigDict(extra="forbid")

    x: int = Field(default=280, ge=1, le=100_000)
    x_url_length: int = Field(default=X_URL_LENGTH, ge=1, le=100)
    # A comment on a post; a Facebook post itself may be far longer.
    facebook: int = Field(default=8000, ge=1, le=100_000)
    instagram: int = Field(default=2200, ge=1, le=100_000)
    linkedin: int = Field(default=1250, ge=1, le=100_000)
    youtube: int = Field(default=10_000, ge=1, le=100_000)
    # A network commsbot does not know: a cautious limit.
    other: int = Field(default=1000, ge=1, le=100_000)

    def rules(self) -> dict[Network, LengthRule]:
        """How each network counts and limits a reply."""
        found = {
            network: LengthRule(network=network, limit=getattr(self, network.value))
            for network in Network
        }
        found[Network.X] = LengthRule(
            network=Network.X, limit=self.x, weighted=True, url_length=self.x_url_length
        )
        return found


class RoundTheClockModel(BaseModel):
    """Which channels someone watches 24 hours a day, and where urgent posts also go."""

    model_config = ConfigDict(extra="forbid")

    # Channels watched around the clock, every day of the year.
    channels: list[str] = Field(default_factory=list)
    # Where an urgent post ALSO goes when its account's urgent channel is not watched 24/7.
    duty_channel: str | None = None
    # Send posts no rule was sure of (which may hide a risk the rules missed) to the duty
    # channel too, when their own channel is not watched 24/7.
    unsorted_to_duty: bool = False

    @field_validator("channels")
    @classmethod
    def _channels_valid(cls, value: list[str]) -> list[str]:
        return [_check_channel(channel) for channel in value]

    @field_validator("duty_channel")
    @classmethod
    def _duty_valid(cls, value: str | None) -> str | None:
        return None if value is None else _check_channel(value)


class PersonalDataModel(BaseModel):
    """What Slack shows of personal data found in a post."""

    model_config = ConfigDict(extra="forbid")

    # Replace each piece of personal data in the quoted post with what kind it is
    # ("[phone number]"); false shows the post as written, with the warning only.
    mask_in_slack: bool = True


class ModerationModel(BaseModel):
    """The policy on persistent offenders."""

    model_config = ConfigDict(extra="forbid")

    # Suggest blocking an author once this many of their posts on one account have been
    # sent to moderation.
    suggest_block_after: int = Field(default=3, ge=1, le=100)


_INTEGRATION_ID = re.compile(r"^[AB][A-Z0-9]{6,}$")


class IntakeChannelModel(BaseModel):
    """One intake channel: the account it feeds, and the integrations taken in automatically."""

    model_config = ConfigDict(extra="forbid")

    account: str = Field(min_length=1)
    # Bot IDs (B...) or app IDs (A...) whose messages here become posts without a 🚩.
    integrations: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _account_alone(cls, value: object) -> object:
        """`"#channel": council` is short for `{account: council}`."""
        return {"account": value} if isinstance(value, str) else value

    @field_validator("integrations")
    @classmethod
    def _integrations_valid(cls, value: list[str]) -> list[str]:
        bad = [i for i in value if not isinstance(i, str) or not _INTEGRATION_ID.match(i)]
        if bad:
            raise ValueError(
                f"{', '.join(map(repr, bad))} do not look like Slack bot or app IDs (B or A "
                "then capitals and digits, e.g. B0123ABCD; in Slack: click the integration's "
                "name on one of its messages, or see its app's settings page for the App ID)"
            )
        return value


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
    reply_length: ReplyLengthModel = ReplyLengthModel()
    round_the_clock: RoundTheClockModel = RoundTheClockModel()
    personal_data: PersonalDataModel = PersonalDataModel()
    moderation: ModerationModel = ModerationModel()
    approval: ApprovalModel = ApprovalModel()
    # Desk admins: who may list and resend what Slack refused (`/comms outbox`).
    admins: PeopleModel = PeopleModel()
    # Slack channels where a :triangular_flag_on_post: reaction makes a message a post, the
    # account each one feeds, and the integrations whose messages are taken in unasked:
    # {"#monitoring-alerts": council} or {"#alerts": {account: council, integrations: [B...]}}.
    intake_channels: dict[str, IntakeChannelModel] = Field(default_factory=dict)
    # How long who is in a user group is remembered before Slack is asked again.
    members_refresh_seconds: float = Field(default=300, ge=10, le=86400)

    def people_warnings(self) -> list[str]:
        """What check-config says of desk members and admins nobody named (fail safe)."""
        warnings = [
            f"accounts.{key}.members: nobody is named, so nobody may act on its themes "
            "(claim, move, merge, close...). Fix: list Slack user IDs under users and/or "
            "user group IDs under usergroups"
            for key, account in self.accounts.items()
            if account.members.is_empty
        ]
        if self.admins.is_empty:
            warnings.append(
                "admins: nobody is named, so nobody may list or resend undelivered messages "
                "(/comms outbox). Fix: list Slack user IDs under users and/or user group IDs "
                "under usergroups"
            )
        return warnings

    def networks_by_account(self) -> dict[str, set[str]]:
        """For each account, the networks it is on."""
        return {key: {n.value for n in account.networks} for key, account in self.accounts.items()}

    @field_validator("intake_channels")
    @classmethod
    def _intake_channels_valid(
        cls, value: dict[str, IntakeChannelModel]
    ) -> dict[str, IntakeChannelModel]:
        problems = []
        for channel in value:
            try:
                _check_channel(channel)
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @model_validator(mode="after")
    def _intake_accounts_known(self) -> DeskFile:
        unknown = {
            c: i.account for c, i in self.intake_channels.items() if i.account not in self.accounts
        }
        if unknown:
            raise ValueError(
                "intake_channels: "
                + "; ".join(f"{c} feeds {a!r}, which is not an account" for c, a in unknown.items())
                + f" (accounts: {', '.join(sorted(self.accounts))})"
            )
        return self

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
    def _urgent_watched_at_night(self) -> DeskFile:
        """Risk to life is 24/7: an urgent route nobody watches at night needs a duty channel."""
        watched = set(self.round_the_clock.channels)
        duty = self.round_the_clock.duty_channel
        if duty is not None and duty not in watched:
            raise ValueError(
                f"round_the_clock.duty_channel {duty} must be one of round_the_clock.channels: "
                "it is where urgent posts go at night"
            )
        unwatched = [
            f"{key} ({channel})"
            for key, account in self.accounts.items()
            if (channel := account.channels.get("urgent") or account.channels.get("default"))
            and channel not in watched
        ]
        if self.round_the_clock.unsorted_to_duty and duty is None:
            raise ValueError("round_the_clock.unsorted_to_duty needs round_the_clock.duty_channel")
        if unwatched and duty is None:
            raise ValueError(
                f"urgent posts of {', '.join(unwatched)} would wait in a channel nobody watches "
                "at night: list it under round_the_clock.channels if someone watches it 24/7, "
                "or set round_the_clock.duty_channel to a channel that is"
            )
        return self

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
