"""The pydantic model of a set of people in config: `{users: [U...], usergroups: [S...]}`."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.core.escalation import SLACK_USER_ID
from bot.core.people import People

SLACK_USERGROUP_ID = re.compile(r"^S[A-Z0-9]{6,}$")


class PeopleModel(BaseModel):
    """Slack users and/or user groups, by ID (desk members, admins, approvers)."""

    model_config = ConfigDict(extra="forbid")

    users: list[str] = Field(default_factory=list)
    usergroups: list[str] = Field(default_factory=list)

    @field_validator("users")
    @classmethod
    def _users_valid(cls, value: list[str]) -> list[str]:
        bad = [user for user in value if not isinstance(user, str) or not SLACK_USER_ID.match(user)]
        if bad:
            raise ValueError(
                f"{', '.join(map(repr, bad))} do not look like Slack user IDs (U or W then "
                "capitals and digits, e.g. U0123ABCD; in Slack: the person's profile, ⋮, "
                "Copy member ID)"
            )
        return value

    @field_validator("usergroups")
    @classmethod
    def _usergroups_valid(cls, value: list[str]) -> list[str]:
        bad = [g for g in value if not isinstance(g, str) or not SLACK_USERGROUP_ID.match(g)]
        if bad:
            raise ValueError(
                f"{', '.join(map(repr, bad))} do not look like Slack user group IDs (S then "
                "capitals and digits, e.g. S0123ABCD; in Slack: People, User groups, the "
                "group, ⋮, Copy group ID)"
            )
        return value

    def people(self) -> People:
        """The pure value the core checks membership against."""
        return People(users=frozenset(self.users), usergroups=frozenset(self.usergroups))

    @property
    def is_empty(self) -> bool:
        """Whether nobody is named."""
        return not self.users and not self.usergroups
