"""Listeners for escalations and the App Home's clocks: 👀 on an escalation DM and the
Acknowledge button acknowledge it; the Home tab shows deadlines, escalations and a crisis."""

from __future__ import annotations

import functools
import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.services import Services
from bot.slack.clock_messages import ACK_ACTION, HOME_LIST, HOME_MAX_BLOCKS, home_clock_blocks, row
from bot.slack.listeners.reactions import add_reaction_handler
from bot.slack.messages import home_view

logger = logging.getLogger(__name__)

EYES = "eyes"


def may_acknowledge(services: Services, user: str, ref: str, escalation_id: str) -> bool:
    """Whether `user` is one of the officers escalation `escalation_id` of theme `ref` was
    sent to: only they can say they have it (anyone else would silence the next level)."""
    stored = services.store.theme(ref)
    found = stored.escalation(escalation_id) if stored is not None else None
    return found is not None and user in found.told


def acknowledge_by_reaction(services: Services, event: dict) -> bool:
    """👀 on an escalation DM by an officer it was sent to acknowledges it (Slack retries
    change nothing); anyone else's 👀 is handled and changes nothing."""
    item = event.get("item") or {}
    if event.get("reaction") != EYES or item.get("type") != "message":
        return False
    found = services.store.escalation_for_dm(str(item.get("channel")), str(item.get("ts")))
    if found is None:
        return False
    ref, escalation_id = found
    user = str(event.get("user"))
    if may_acknowledge(services, user, ref, escalation_id):
        services.store.acknowledge_escalation(ref, escalation_id, by=user, now=services.clock())
    return True


def acknowledge_by_button(services: Services, ack: Ack, body: dict, client: WebClient) -> None:
    """The Acknowledge button on an escalation DM: only an officer it was sent to may press it
    (the button's value is not trusted to name their own escalation)."""
    ack()
    action = (body.get("actions") or [{}])[0]
    ref, _, escalation_id = str(action.get("value", "")).partition("|")
    user = str((body.get("user") or {}).get("id"))
    allowed = may_acknowledge(services, user, ref, escalation_id)
    done = allowed and services.store.acknowledge_escalation(
        ref, escalation_id, by=user, now=services.clock()
    )
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    if channel:
        text = services.renderer.render(
            "slack/escalation_ack.j2", ref=ref, done=done, allowed=allowed
        )
        client.chat_postEphemeral(channel=channel, user=user, text=text)


def home(services: Services, user: str) -> dict[str, Any]:
    """The App Home for `user`: the desk's summary and routes, then its clocks."""
    view = home_view(services.renderer, status=services.desk_status())
    now = services.clock()
    clocks = services.config.clocks
    store = services.store

    def rows(themes: list[Any]) -> list[Any]:
        return [
            row(s, now=now, calendar=clocks.calendar, base=clocks.rule_for(s.clock.kind).base)
            for s in themes
            if s.clock is not None
        ]

    nearest, waiting = store.waiting_themes(limit=HOME_LIST)
    mine, mine_total = store.waiting_themes(owner=user, limit=HOME_LIST)
    first, _ = store.waiting_themes(limit=200)
    statutory = [s for s in first if s.clock is not None and s.clock.kind in STATUTORY][:HOME_LIST]
    blocks = home_clock_blocks(
        services.renderer,
        crisis=store.crisis(),
        calendar=clocks.calendar,
        nearest=rows(nearest),
        waiting=waiting,
        mine=rows(mine),
        mine_total=mine_total,
        statutory=rows(statutory),
        awaiting=rows(store.awaiting_acknowledgement()[:HOME_LIST]),
    )
    crisis_first = blocks[:1] if store.crisis() is not None else []
    rest = blocks[len(crisis_first) :]
    view["blocks"] = (crisis_first + view["blocks"] + rest)[:HOME_MAX_BLOCKS]
    return view


STATUTORY = frozenset({"foi", "eir", "subject_access"})


def publish_home(services: Services, client: WebClient, user: str) -> None:
    """Publish `user`'s Home tab now (they opened it): later changes refresh it, debounced."""
    client.views_publish(user_id=user, view=home(services, user))
    services.home.opened(user, now=services.clock())


def refresh_homes(services: Services, client: WebClient) -> list[str]:
    """Publish again the Home of each recent viewer something changed for, at most once per
    debounce interval each; who was published."""
    now = services.clock()
    users, everyone = services.store.take_touched()
    services.home.touched(users, everyone=everyone, now=now)
    due = services.home.due(now=now)
    for user in due:
        client.views_publish(user_id=user, view=home(services, user))
    return due


def register(app: App, services: Services) -> None:
    """Attach the acknowledgement listeners (the Home tab is shown by `events`)."""
    add_reaction_handler(acknowledge_by_reaction)
    app.action(ACK_ACTION)(functools.partial(acknowledge_by_button, services))
