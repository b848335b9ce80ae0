"""Sets of people named in config: Slack users and/or user groups, and who is one of them.

Desk members, desk admins, approvers and officer roles are all "these users and anyone in
these user groups". Who is in a user group is known only to Slack: the edge resolves it
(`bot.slack.people`) and passes a snapshot here, so the check stays pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class People:
    """Slack user ids and user group ids; a person is one of them if named or in a group."""

    users: frozenset[str] = frozenset()
    usergroups: frozenset[str] = frozenset()

    @property
    def is_empty(self) -> bool:
        """Whether nobody at all is named (so nobody can be one of them)."""
        return not self.users and not self.usergroups


def is_one_of(
    user: str, people: People, *, usergroup_members: Mapping[str, frozenset[str]]
) -> bool:
    """Whether `user` is named in `people` or is in one of its user groups.

    `usergroup_members` is a snapshot of who is in each user group; a group missing from it
    counts as empty (fail safe: an unknown group lets nobody in).
    """
    if not user:
        return False
    if user in people.users:
        return True
    return any(user in usergroup_members.get(group, frozenset()) for group in people.usergroups)


class Membership(Protocol):
    """Says whether a user is one of some people (the edge resolves user groups)."""

    def is_one_of(self, user: str, people: People) -> bool:
        """Whether `user` is named in `people` or in one of its user groups."""
        ...


class NamedOnly:
    """Membership without Slack: named users only; every user group counts as empty."""

    def is_one_of(self, user: str, people: People) -> bool:
        """Whether `user` is named in `people`."""
        return is_one_of(user, people, usergroup_members={})
