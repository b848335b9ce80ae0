"""`/comms theme ...` (staff actions by command) and `/comms outbox ...` (dead letters).

Module-level functions returning the ephemeral reply; the `/comms` dispatcher calls them.
A refusal raises `ActionRefused`, which the app's error handler turns into a polite reply.
"""

from __future__ import annotations

from bot.core.staff import Verb, parse_theme_command
from bot.services import Services
from bot.slack.listeners.actions import staff_desk
from bot.slack.staff_views import StaffViews


def theme_reply(services: Services, *, argument: str, user: str) -> str:
    """Carry out `/comms theme <argument>` for `user`; what to tell them."""
    command = parse_theme_command(argument)
    stored = staff_desk(services).run(command, user=user, now=services.clock())
    verb = "show" if command.verb is Verb.SHOW else command.verb.value
    source = command.ref if command.verb is Verb.MERGE else None
    if command.verb is Verb.MERGE:
        merged = services.store.theme(command.target or "")
        stored = merged or stored
    return StaffViews(services.renderer).done(stored.theme, verb=verb, source=source)
