"""Authorisation for the single workspace commsbot serves, without needing Slack to be up."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

logger = logging.getLogger(__name__)


class BotTokenAuthorizer:
    """Answers Bolt's `authorize` with the bot token; learns the bot's ids when Slack answers.

    Bolt's built-in single-workspace authorisation calls auth.test before the first listener
    runs and fails the request if Slack cannot be reached. Intake and flagging do not need
    Slack to be up (the outbox delivers later), so here a failed auth.test only means the
    bot's own user id is not known yet.
    """

    def __init__(self, client: WebClient) -> None:
        self._client = client
        self._identity: dict[str, str | None] | None = None
        self._lock = threading.Lock()

    def remember(self, auth_test: dict) -> None:
        """Keep the bot's identity from an auth.test answer."""
        with self._lock:
            self._identity = {
                "team_id": auth_test.get("team_id"),
                "enterprise_id": auth_test.get("enterprise_id"),
                "bot_user_id": auth_test.get("user_id"),
                "bot_id": auth_test.get("bot_id"),
            }

    def _identity_now(self) -> dict[str, str | None] | None:
        if self._identity is None:
            try:
                self.remember(self._client.auth_test().data)  # type: ignore[arg-type]
            except (SlackApiError, OSError) as exc:
                logger.warning("auth.test failed (%s); carrying on with the bot token alone", exc)
        return self._identity

    def as_bolt_authorize(self) -> Callable[..., AuthorizeResult]:
        """A plain function for Bolt's `authorize=` (Bolt reads its parameter names)."""

        def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
            return self.result(enterprise_id=enterprise_id, team_id=team_id)

        return authorize

    def result(self, *, enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        """The bot token and, once known, the bot's ids."""
        identity = self._identity_now() or {}
        return AuthorizeResult(
            enterprise_id=identity.get("enterprise_id") or enterprise_id,
            team_id=identity.get("team_id") or team_id,
            bot_token=self._client.token,
            bot_user_id=identity.get("bot_user_id"),
            bot_id=identity.get("bot_id"),
        )
