"""The one `reaction_added` listener, dispatching to every feature that acts on a reaction.

Slack sends each reaction once to one listener; several features act on reactions (🚩 in an
intake channel makes a post, 👀 on an escalation, ✅/❌ on a suggestion). Each feature adds
its handler with `add_reaction_handler` from its own listener module's `register`; handlers
are tried in the order added and the first that returns True has handled the event. A
handler that raises fails the event, so it is not marked handled and Slack's retry is
processed.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from slack_bolt import App

from bot.services import Services
from bot.slack.ids import Event
from bot.slack.listeners import event_handled

logger = logging.getLogger(__name__)

# (services, the reaction_added event) -> whether this handler dealt with it.
ReactionHandler = Callable[[Services, dict], bool]
REACTION_HANDLERS: list[ReactionHandler] = []


def add_reaction_handler(handler: ReactionHandler) -> None:
    """Try `handler` on every reaction (once, however many apps are built)."""
    if handler not in REACTION_HANDLERS:
        REACTION_HANDLERS.append(handler)


def dispatch(services: Services, event: dict) -> bool:
    """Offer a reaction_added event to each handler in turn; whether one handled it."""
    for handler in list(REACTION_HANDLERS):
        if handler(services, event):
            return True
    logger.debug("reaction %s needs nothing from commsbot", event.get("reaction"))
    return False


def on_reaction_added(services: Services, event: dict, body: dict) -> None:
    """Listener: a reaction was added to a message the bot can see."""
    dispatch(services, event)
    event_handled(services, body)


def register(app: App, services: Services) -> None:
    """Attach the reaction_added listener (before the events module's catch-all)."""
    app.event(Event.REACTION_ADDED.value)(functools.partial(on_reaction_added, services))
