"""Events API listeners."""

from __future__ import annotations

import functools
import logging
import re

from slack_bolt import App
from slack_sdk import WebClient

from bot.services import Services
from bot.slack.ids import Event
from bot.slack.listeners import event_handled
from bot.slack.listeners.clocks import publish_home

logger = logging.getLogger(__name__)

_ANY_EVENT = re.compile(".*")


def _home_tab(event: dict) -> bool:
    """Matcher: the Home tab was opened (not the Messages tab)."""
    return event.get("tab", "home") == "home"


def acknowledge_quietly(services: Services, event: dict, body: dict) -> None:
    """Any other event (the Messages tab opened, app_uninstalled, tokens_revoked...): Bolt has
    already answered 200, so Slack keeps the subscription on; nothing else to do."""
    logger.debug("event %s needs nothing from commsbot", event.get("type"))
    event_handled(services, body)


def register(app: App, services: Services) -> None:
    """Attach the event listeners; the catch-all comes last so it never hides one of them."""

    @app.event(Event.APP_HOME_OPENED.value, matchers=[_home_tab])
    def show_home(event: dict, body: dict, client: WebClient) -> None:
        publish_home(services, client, event["user"])
        event_handled(services, body)

    app.event(_ANY_EVENT)(functools.partial(acknowledge_quietly, services))
