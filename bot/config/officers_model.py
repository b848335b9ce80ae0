"""The pydantic model of `config/officers.yaml`: named officers and escalation policies."""

from __future__ import annotations

import re
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.config.deadlines_model import SpanModel, only_known_kinds
from bot.core.escalation import (
    SLACK_USER_ID,
    EscalationLevel,
    EscalationPolicy,
    EscalationSetup,
    IntakeTrigger,
    Officer,
    OfficerDirectory,
)
from bot.core.posts import Category

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
MAX_REPEAT = 10


def _key(value: str, what: str) -> str:
    if not _KEY.match(value):
        raise ValueError(f"{what} {value!r} must be a short snake_case word, e.g. foi_lead")
    return value


def _user_id(value: str) -> str:
    if not SLACK_USER_ID.match(value):
        raise ValueError(
            f"{value!r} does not look like a Slack user ID (U or W then capitals and digits, "
            "e.g. U0123ABCD; in Slack: the person's profile, ⋮, Copy member ID)"
        )
    return value


class OfficerModel(BaseModel):
    """One named officer."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    role: str
    slack_user_id: str
    email: str

    @field_validator("role")
    @classmethod
    def _role(cls, value: str) -> str:
        return _key(value, "role")

    @field_validator("slack_user_id")
    @classmethod
    def _slack_user_id(cls, value: str) -> str:
        return _user_id(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError(f"{value!r} is not an email address")
        return value


class LevelModel(BaseModel):
    """One level of a policy: roles and/or users to tell, and the wait before the next."""

    model_config = ConfigDict(extra="forbid")

    roles: list[str] = Field(default_factory=list)
    users: list[str] = Field(default_factory=list)
    wait: SpanModel | None = None

    @field_validator("users")
    @classmethod
    def _users(cls, value: list[str]) -> list[str]:
        return [_user_id(user) for user in value]

    @model_validator(mode="after")
    def _someone(self) -> LevelModel:
        if not self.roles and not self.users:
            raise ValueError("a level must name at least one role or user")
        return self


class PolicyModel(BaseModel):
    """An escalation policy."""

    model_config = ConfigDict(extra="forbid")

    levels: list[LevelModel] = Field(min_length=1)
    repeat: int = Field(default=0, ge=0, le=MAX_REPEAT)
    any_hour: bool = False

    @model_validator(mode="after")
    def _waits(self) -> PolicyModel:
        needing = len(self.levels) if self.repeat else len(self.levels) - 1
        missing = [str(i) for i, level in enumerate(self.levels[:needing], 1) if not level.wait]
        if missing:
            which = (
                f"level {missing[0]} needs"
                if len(missing) == 1
                else (f"levels {', '.join(missing)} need")
            )
            raise ValueError(
                f"{which} a wait (every level followed by another does, and the last one too "
                "when the policy repeats; levels count from 1)"
            )
        return self


class TriggerModel(BaseModel):
    """What starts a policy when a post arrives: categories, rule names or words."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=80)
    policy: str
    categories: list[Category] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list)
    any_terms: list[str] = Field(default_factory=list, alias="any")

    @field_validator("any_terms")
    @classmethod
    def _terms(cls, value: list[str]) -> list[str]:
        if any(not term.strip() for term in value):
            raise ValueError("words must not be blank")
        return value

    @model_validator(mode="after")
    def _something(self) -> TriggerModel:
        if not (self.categories or self.rules or self.any_terms):
            raise ValueError(f"trigger {self.name!r} needs categories, rules or any (words)")
        return self


class BreachModel(BaseModel):
    """Which policy a missed deadline starts: per kind of post, else the default."""

    model_config = ConfigDict(extra="forbid")

    default: str | None = None
    kinds: dict[str, str] = Field(default_factory=dict)

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, value: dict[str, str]) -> dict[str, str]:
        return only_known_kinds(value)


class OfficersFile(BaseModel):
    """The whole of `officers.yaml`."""

    model_config = ConfigDict(extra="forbid")

    officers: dict[str, OfficerModel] = Field(default_factory=dict)
    policies: dict[str, PolicyModel] = Field(default_factory=dict)
    intake: list[TriggerModel] = Field(default_factory=list)
    deadline_breach: BreachModel = Field(default_factory=BreachModel)

    @field_validator("officers", "policies")
    @classmethod
    def _keys(cls, value: dict[str, object]) -> dict[str, object]:
        for key in value:
            _key(key, "name")
        return value

    @field_validator("officers")
    @classmethod
    def _distinct_people(cls, value: dict[str, OfficerModel]) -> dict[str, OfficerModel]:
        seen: dict[str, str] = {}
        for key, officer in value.items():
            if officer.slack_user_id in seen:
                raise ValueError(
                    f"{seen[officer.slack_user_id]} and {key} have the same slack_user_id "
                    f"{officer.slack_user_id}"
                )
            seen[officer.slack_user_id] = key
        return value

    def reference_problems(self) -> list[tuple[str, str]]:
        """(key, message) for each role or policy named somewhere but not configured."""
        roles = {officer.role for officer in self.officers.values()}
        problems = []
        for name, policy in self.policies.items():
            for index, level in enumerate(policy.levels):
                for role in level.roles:
                    if role not in roles:
                        problems.append(
                            (
                                f"policies.{name}.levels.{index}.roles",
                                f"no officer has the role {role!r} "
                                f"(roles: {', '.join(sorted(roles)) or 'none'})",
                            )
                        )
        named: list[tuple[str, str | None]] = [
            (f"intake.{i}.policy", t.policy) for i, t in enumerate(self.intake)
        ]
        named += [("deadline_breach.default", self.deadline_breach.default)]
        named += [(f"deadline_breach.kinds.{k}", p) for k, p in self.deadline_breach.kinds.items()]
        for key, policy_name in named:
            if policy_name is not None and policy_name not in self.policies:
                problems.append(
                    (
                        key,
                        f"no policy called {policy_name!r} "
                        f"(policies: {', '.join(sorted(self.policies)) or 'none'})",
                    )
                )
        return problems

    def round_the_clock_problems(self) -> list[tuple[str, str]]:
        """(key, message) for each policy urgent posts start that waits for opening hours."""
        urgent = Category.URGENT.value
        starters: dict[str, list[str]] = {}
        for trigger in self.intake:
            if Category.URGENT in trigger.categories:
                starters.setdefault(trigger.policy, []).append(f"intake trigger {trigger.name!r}")
        breach = self.deadline_breach
        if urgent in breach.kinds:
            starters.setdefault(breach.kinds[urgent], []).append(f"deadline_breach.kinds.{urgent}")
        elif breach.default is not None:
            starters.setdefault(breach.default, []).append("deadline_breach.default")
        problems = []
        for name, started_by in starters.items():
            policy = self.policies.get(name)
            if policy is None:
                continue  # reported as an unknown policy
            working = any(
                level.wait is not None
                and (level.wait.working_hours, level.wait.working_minutes) != (None, None)
                for level in policy.levels
            )
            if not policy.any_hour or working:
                problems.append(
                    (
                        f"policies.{name}",
                        f"urgent posts start this policy ({', '.join(started_by)}), so it needs "
                        "any_hour: true and waits in clock time (clock_hours or clock_minutes): "
                        "risk to life cannot wait for opening hours",
                    )
                )
        return problems

    def to_core(self) -> EscalationSetup:
        """The escalation setup this describes."""
        return EscalationSetup(
            directory=OfficerDirectory(
                tuple(
                    Officer(key, o.name, o.role, o.slack_user_id, o.email)
                    for key, o in self.officers.items()
                )
            ),
            policies=MappingProxyType(
                {
                    name: EscalationPolicy(
                        name=name,
                        levels=tuple(
                            EscalationLevel(
                                roles=tuple(level.roles),
                                users=tuple(level.users),
                                wait=level.wait.to_core() if level.wait else None,
                            )
                            for level in policy.levels
                        ),
                        repeat=policy.repeat,
                        any_hour=policy.any_hour,
                    )
                    for name, policy in self.policies.items()
                }
            ),
            intake_triggers=tuple(
                IntakeTrigger(
                    name=t.name,
                    policy=t.policy,
                    categories=frozenset(c.value for c in t.categories),
                    rules=frozenset(t.rules),
                    terms=tuple(t.any_terms),
                )
                for t in self.intake
            ),
            breach_default=self.deadline_breach.default,
            breach_by_kind=MappingProxyType(dict(self.deadline_breach.kinds)),
        )
