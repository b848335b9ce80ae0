"""Who is in a Slack user group, asked of Slack (usergroups.users.list) and cached.

The pure check (`bot.core.people.is_one_of`) needs a snapshot of the groups' members; this
resolver keeps one per group, refreshed every `refresh_seconds`. When Slack cannot answer it
keeps the last known members; a group never resolved counts as empty, so nobody gets in
through it (fail safe).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core.people import People, is_one_of
from bot.services import utcnow

logger = logging.getLogger(__name__)


class PeopleResolver:
    """Resolves user groups to their members through Slack, with a cache."""

    def __init__(
        self,
        client: WebClient,
        *,
        refresh_seconds: float = 300,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._client = client
        self._refresh = timedelta(seconds=refresh_seconds)
        self._clock = clock
        self._known: dict[str, tuple[frozenset[str], datetime]] = {}
        self._lock = threading.Lock()

    def usergroup_members(self, groups: Iterable[str]) -> Mapping[str, frozenset[str]]:
        """Who is in each of `groups` (a group Slack never told us about: nobody)."""
        return {group: self._members(group) for group in dict.fromkeys(groups)}

    def is_one_of(self, user: str, people: People) -> bool:
        """Whether `user` is named in `people` or in one of its user groups."""
        if user in people.users:
            return True
        return is_one_of(user, people, usergroup_members=self.usergroup_members(people.usergroups))

    def forget(self) -> None:
        """Drop the cache: the next check asks Slack again."""
        with self._lock:
            self._known.clear()

    def _members(self, group: str) -> frozenset[str]:
        now = self._clock()
        with self._lock:
            known = self._known.get(group)
        if known is not None and now - known[1] < self._refresh:
            return known[0]
        try:
            answer = self._client.usergroups_users_list(usergroup=group)
        except (SlackApiError, OSError) as exc:
            error = exc.response.get("error") if isinstance(exc, SlackApiError) else exc
            if known is None:
                logger.warning("user group %s: Slack said %s; counting it as empty", group, error)
                return frozenset()
            logger.warning("user group %s: Slack said %s; keeping who was in it", group, error)
            return known[0]
        members = frozenset(str(user) for user in answer.get("users") or ())
        with self._lock:
            self._known[group] = (members, now)
        return members
