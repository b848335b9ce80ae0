"""Builders for deadlines, reminders, escalations, the queue and the App Home. Words live in
templates/slack/; text from the public (theme titles) is escaped by the renderer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.calendar import TimeBase, WorkingCalendar
from bot.core.crisis import Crisis
from bot.core.templating import TemplateRenderer, slack_link
from bot.slack.messages import Message
from bot.storage import StoredTheme
from bot.storage.docs import parse

ACK_ACTION = "escalation_ack"
# Slack's limits: 100 blocks in a Home view; a page of the queue stays well inside one message.
HOME_MAX_BLOCKS = 100
HOME_LIST = 10
QUEUE_PAGE = 20
SOON = timedelta(hours=1)

TEMPLATES = (
    "slack/reminder.j2",
    "slack/escalation_dm.j2",
    "slack/escalation_ack.j2",
    "slack/queue.j2",
    "slack/clock_reply.j2",
    "slack/home_clocks.j2",
    "slack/home_theme_line.j2",
    "slack/due_digest.j2",
)


def when(instant: datetime, zone: ZoneInfo) -> str:
    """A moment as the desk reads it: `Tue 3 Mar 10:00`."""
    local = instant.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def span_text(length: timedelta) -> str:
    """A length of time in days, hours and minutes: `2d 3h`, `45m`."""
    minutes = int(abs(length).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"


@dataclass(frozen=True)
class Row:
    """One theme in a list, as shown."""

    ref: str
    title: str
    due: str
    left: str
    overdue: bool
    soon: bool
    owner: str | None
    paused: bool
    link: Any
    told: tuple[str, ...] = ()


def row(stored: StoredTheme, *, now: datetime, calendar: WorkingCalendar, base: TimeBase) -> Row:
    """A theme with its deadline and the time left (working time unless its rule runs 24/7)."""
    clock = stored.clock
    assert clock is not None
    overdue = clock.due_at <= now
    if overdue:
        left = calendar.elapsed(clock.due_at, now, base)
    else:
        left = calendar.elapsed(now, clock.due_at, base)
    channel = stored.theme.channel_names[0] if stored.theme.channel_names else None
    permalink = stored.view(channel).permalink if channel else None
    return Row(
        ref=stored.theme.ref,
        title=stored.theme.title,
        due=when(clock.due_at, calendar.zone),
        left=span_text(left),
        overdue=overdue,
        soon=not overdue and left <= SOON,
        owner=stored.theme.owner,
        paused=clock.paused,
        link=slack_link(permalink, stored.theme.ref) if permalink else None,
        told=tuple(u for e in stored.escalations if e.awaiting for u in e.told),
    )


def reminder_message(
    renderer: TemplateRenderer, data: Mapping[str, Any], zone: ZoneInfo
) -> Message:
    """A reminder of a theme's deadline (in its thread, or to its owner)."""
    text = renderer.render(
        "slack/reminder.j2",
        ref=data["ref"],
        title=data.get("title") or "",
        threshold=data.get("threshold"),
        kind=data.get("kind"),
        due=when(parse(data["due_at"]), zone) if data.get("due_at") else "?",
        owner=data.get("owner"),
        link=slack_link(data.get("permalink"), "open the theme") if data.get("permalink") else None,
    )
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def escalation_message(
    renderer: TemplateRenderer, data: Mapping[str, Any], zone: ZoneInfo
) -> Message:
    """The DM that tells an officer of an escalation, with an Acknowledge button."""
    text = renderer.render(
        "slack/escalation_dm.j2",
        ref=data["ref"],
        title=data.get("title") or "",
        posts=int(data.get("posts") or 0),
        category=data.get("category") or "",
        reason=data.get("reason"),
        policy=data.get("policy") or "",
        by=data.get("by"),
        note=data.get("note"),
        due=when(parse(data["due_at"]), zone) if data.get("due_at") else "?",
        link=slack_link(data.get("permalink"), "open the theme") if data.get("permalink") else None,
    )
    button = {
        "type": "button",
        "action_id": ACK_ACTION,
        "text": {"type": "plain_text", "text": "Acknowledge"},
        "style": "primary",
        "value": f"{data['ref']}|{data['escalation']}",
    }
    return text, [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "actions", "elements": [button]},
    ]


def due_digest_message(renderer: TemplateRenderer, data: Mapping[str, Any]) -> Message:
    """The daily digest of one channel: what is due today and what is overdue."""
    text = renderer.render(
        "slack/due_digest.j2", channel=data["channel"], rows=list(data.get("rows") or ())
    )
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}]


def queue_text(
    renderer: TemplateRenderer,
    *,
    rows: Sequence[Row],
    total: int,
    page: int,
    mine: bool,
) -> str:
    """`/comms queue` or `/comms mine`: one page of themes by deadline."""
    start = (page - 1) * QUEUE_PAGE
    return renderer.render(
        "slack/queue.j2",
        rows=rows,
        total=total,
        mine=mine,
        shown_from=start + 1,
        shown_to=start + len(rows),
        more=start + len(rows) < total,
        next_page=page + 1,
    )


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}


def home_clock_blocks(
    renderer: TemplateRenderer,
    *,
    crisis: Crisis | None,
    calendar: WorkingCalendar,
    nearest: Sequence[Row],
    waiting: int,
    mine: Sequence[Row],
    mine_total: int,
    statutory: Sequence[Row],
    awaiting: Sequence[Row],
) -> list[dict[str, Any]]:
    """The App Home's clock sections: crisis banner, nearest deadlines, the viewer's own,
    FOI and subject access clocks, escalations awaiting acknowledgement."""
    blocks: list[dict[str, Any]] = []
    if crisis is not None:
        banner = renderer.render(
            "slack/home_clocks.j2",
            section="crisis",
            since=when(crisis.since, calendar.zone),
            by=crisis.by,
            note=crisis.note,
        )
        blocks.append(_section(banner))
    for section, rows, total in (
        ("nearest", nearest, waiting),
        ("mine", mine, mine_total),
        ("statutory", statutory, len(statutory)),
        ("awaiting", awaiting, len(awaiting)),
    ):
        blocks.append({"type": "divider"})
        blocks.append(
            _section(renderer.render("slack/home_clocks.j2", section=section, total=total))
        )
        lines = [renderer.render("slack/home_theme_line.j2", **vars(r)) for r in rows[:HOME_LIST]]
        blocks.append(
            _section("\n".join(lines) or renderer.render("slack/home_clocks.j2", section="none"))
        )
    return blocks
