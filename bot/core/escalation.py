"""Escalation to named officers: who is told at each level, and when each level falls due.

An escalation starts at an instant (at intake, at a deadline breach, or by hand) and follows
a policy: ordered levels, each naming officers by role or Slack user, with a wait before the
next level, optionally repeated. Acknowledging stops every level not yet due. Nothing here
reads the clock or talks to Slack: callers pass `now` and record what was sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

from bot.core.calendar import Span, WorkingCalendar
from bot.core.classify import term_regex
from bot.core.errors import DeskError
from bot.core.text import slack_escape

SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{8,}$")
_MENTION = re.compile(r"^<@([UW][A-Z0-9]{8,})(?:\|[^>]*)?>$")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


class EscalationError(DeskError):
    """An escalation cannot be made as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Officer:
    """A named person the desk escalates to."""

    key: str
    name: str
    role: str
    slack_user_id: str
    email: str


@dataclass(frozen=True)
class OfficerDirectory:
    """The configured officers, looked up by role or Slack user ID."""

    officers: tuple[Officer, ...] = ()

    @property
    def roles(self) -> tuple[str, ...]:
        """Every role some officer holds, sorted."""
        return tuple(sorted({o.role for o in self.officers}))

    def with_role(self, role: str) -> tuple[Officer, ...]:
        """The officers holding `role`, in config order."""
        return tuple(o for o in self.officers if o.role == role)

    def by_user(self, user_id: str) -> Officer | None:
        """The officer with Slack user ID `user_id`, if configured."""
        return next((o for o in self.officers if o.slack_user_id == user_id), None)


@dataclass(frozen=True)
class EscalationLevel:
    """Who is told at one level, and how long to wait for an acknowledgement before the next."""

    roles: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    wait: Span | None = None

    def __post_init__(self) -> None:
        if not self.roles and not self.users:
            raise ValueError("a level must name at least one role or user")


@dataclass(frozen=True)
class EscalationPolicy:
    """Ordered levels; `repeat` more rounds from the first level after the last one's wait.

    `any_hour`: levels fall due at any hour (urgent); otherwise a level due outside opening
    hours waits for the next opening.
    """

    name: str
    levels: tuple[EscalationLevel, ...]
    repeat: int = 0
    any_hour: bool = False

    def __post_init__(self) -> None:
        if not self.levels:
            raise ValueError(f"policy {self.name!r} needs at least one level")
        if self.repeat < 0:
            raise ValueError(f"policy {self.name!r}: repeat cannot be negative")
        needing_wait = self.levels if self.repeat else self.levels[:-1]
        if any(level.wait is None for level in needing_wait):
            raise ValueError(f"policy {self.name!r}: every level followed by another needs a wait")


@dataclass(frozen=True)
class Step:
    """One level of one round of an escalation, with when it falls due and who it tells.

    `id` ("1.2" is round 1, level 2) is stable, so a sender can record it as sent once.
    `user_ids` are everyone to tell; `officers` those of them configured as officers.
    """

    id: str
    round: int
    level: int
    starts_at: datetime
    user_ids: tuple[str, ...]
    officers: tuple[Officer, ...]


def steps(
    policy: EscalationPolicy,
    *,
    started_at: datetime,
    calendar: WorkingCalendar,
    directory: OfficerDirectory,
) -> tuple[Step, ...]:
    """Every step of an escalation that started at `started_at`, in order."""
    if started_at.tzinfo is None:
        raise ValueError("started_at must be timezone-aware")
    found = []
    at = started_at.astimezone(UTC)
    for round_number in range(1, policy.repeat + 2):
        for index, level in enumerate(policy.levels, start=1):
            if not policy.any_hour:
                at = calendar.next_opening(at)
            user_ids: list[str] = []
            for role in level.roles:
                user_ids.extend(o.slack_user_id for o in directory.with_role(role))
            user_ids.extend(level.users)
            unique = tuple(dict.fromkeys(user_ids))
            officers = tuple(o for o in map(directory.by_user, unique) if o is not None)
            found.append(Step(f"{round_number}.{index}", round_number, index, at, unique, officers))
            if level.wait is not None:
                at = calendar.advance(at, level.wait)
    return tuple(found)


def steps_due(
    policy: EscalationPolicy,
    *,
    started_at: datetime,
    now: datetime,
    acknowledged_at: datetime | None = None,
    calendar: WorkingCalendar,
    directory: OfficerDirectory,
) -> tuple[Step, ...]:
    """The steps due by `now`; none that would start at or after the acknowledgement."""
    return tuple(
        step
        for step in steps(policy, started_at=started_at, calendar=calendar, directory=directory)
        if step.starts_at <= now and (acknowledged_at is None or step.starts_at < acknowledged_at)
    )


def next_step(
    policy: EscalationPolicy,
    *,
    started_at: datetime,
    now: datetime,
    acknowledged_at: datetime | None = None,
    calendar: WorkingCalendar,
    directory: OfficerDirectory,
) -> Step | None:
    """The first step after `now`, or None when acknowledged or when no level is left."""
    if acknowledged_at is not None:
        return None
    return next(
        (
            step
            for step in steps(policy, started_at=started_at, calendar=calendar, directory=directory)
            if step.starts_at > now
        ),
        None,
    )


@dataclass(frozen=True)
class IntakeTrigger:
    """Starts a policy when a post arrives: if its category, its rule or its words match."""

    name: str
    policy: str
    categories: frozenset[str] = frozenset()
    rules: frozenset[str] = frozenset()
    terms: tuple[str, ...] = ()
    _pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not (self.categories or self.rules or self.terms):
            raise ValueError(f"trigger {self.name!r} needs categories, rules or words")
        pattern = re.compile(term_regex(self.terms), re.IGNORECASE) if self.terms else None
        object.__setattr__(self, "_pattern", pattern)

    def matches(self, *, category: str, rule: str, text: str) -> bool:
        """True when the post's category, classification rule or words match the trigger."""
        if category in self.categories or rule in self.rules:
            return True
        return self._pattern is not None and bool(
            self._pattern.search(text.translate(_APOSTROPHES))
        )


@dataclass(frozen=True)
class EscalationSetup:
    """Officers, policies, and what starts each policy (intake, deadline breach)."""

    directory: OfficerDirectory = OfficerDirectory()
    policies: Mapping[str, EscalationPolicy] = field(default_factory=lambda: MappingProxyType({}))
    intake_triggers: tuple[IntakeTrigger, ...] = ()
    breach_default: str | None = None
    breach_by_kind: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def policy(self, name: str) -> EscalationPolicy:
        """The policy called `name` (KeyError if not configured)."""
        return self.policies[name]

    def intake_policies(self, *, category: str, rule: str, text: str) -> tuple[str, ...]:
        """The policies a new post starts, each once, in trigger order."""
        names = [
            t.policy
            for t in self.intake_triggers
            if t.matches(category=category, rule=rule, text=text)
        ]
        return tuple(dict.fromkeys(names))

    def breach_policy(self, kind: str) -> str | None:
        """The policy a missed deadline of `kind` starts, if any."""
        return self.breach_by_kind.get(kind, self.breach_default)

    def manual_policy(self, target: str) -> EscalationPolicy:
        """A one-level policy, due at once, telling `target`: a role, or a user (<@U…>)."""
        value = target.strip()
        mention = _MENTION.match(value)
        user = mention.group(1) if mention else value.lstrip("@")
        if SLACK_USER_ID.match(user):
            level = EscalationLevel(users=(user,))
        else:
            role = value.lower().replace(" ", "_").replace("-", "_")
            if role not in self.directory.roles:
                roles = ", ".join(self.directory.roles) or "none are configured"
                raise EscalationError(
                    f"No officer has the role `{slack_escape(value)}`. Name a role ({roles}) "
                    "or a person with @."
                )
            level = EscalationLevel(roles=(role,))
        return EscalationPolicy(name=f"by hand: {value}", levels=(level,), any_hour=True)
