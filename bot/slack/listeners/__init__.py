"""Bolt listeners, one module per surface, each with a `register(app, services)`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.services import Services


def event_handled(services: Services, body: dict) -> None:
    """Call at the end of an Events API listener: its event id is recorded as handled, so
    Slack's retries are ignored. A listener that raises never gets here: the error handler
    forgets the event, and Slack's retry of it is processed."""
    event_id = body.get("event_id")
    if isinstance(event_id, str) and event_id:
        services.store.finish_event(event_id, now=services.clock())
