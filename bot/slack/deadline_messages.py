"""Builders for deadline answers in Slack. Words live in templates/."""

from __future__ import annotations

from datetime import datetime

from bot.config import DeskConfig
from bot.core.deadlines import parse_received
from bot.core.posts import Category
from bot.core.templating import TemplateRenderer

# Every template these builders render; the explanation is shared with `commsbot deadline`.
TEMPLATES = ("slack/foi_due.j2", "cli/deadline.j2")


def foi_due_reply(
    renderer: TemplateRenderer, *, config: DeskConfig, argument: str, now: datetime
) -> str:
    """The `/comms foi-due <date>` answer: when an FOI request received then is due, and why.

    Without a date it answers for a request received today.
    """
    zone = config.zone
    given = argument.strip() or now.astimezone(zone).date().isoformat()
    try:
        received = parse_received(given, zone=zone)
        deadline = config.clocks.deadline(Category.FOI.value, received_at=received.at)
    except ValueError:
        # Keep a code span whole whatever was typed.
        return renderer.render("slack/foi_due.j2", error=True, given=given.replace("`", "'"))
    return renderer.render(
        "slack/foi_due.j2",
        error=False,
        deadline=deadline,
        zone=zone,
        hours=config.clocks.calendar.hours,
        date_only=received.date_only,
        due_iso=deadline.due_local(zone).isoformat(),
    )
