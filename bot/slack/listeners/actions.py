"""Buttons on a theme's parent message: claim and reopen at once, the rest through a modal.

Every button first checks that the person may act on the theme (a desk member of its
account); anyone else gets a polite ephemeral explanation from the app's error handler and
nothing changes. Each button is acknowledged once its work is done (a refusal or failure is
answered by the error handler), well within the three seconds Slack waits.
"""

from __future__ import annotations

import functools

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.services import Services
from bot.slack.ids import Action
from bot.slack.staff_views import StaffViews
from bot.staff import StaffDesk


def staff_desk(services: Services) -> StaffDesk:
    """The staff actions service for a request."""
    return StaffDesk(desk=services.desk, membership=services.people)


def _clicked(body: dict) -> tuple[str, str]:
    """(who clicked, the theme ref the button carries)."""
    return str(body["user"]["id"]), str(body["actions"][0]["value"])


def on_claim(services: Services, ack: Ack, body: dict) -> None:
    """Claim: the person who clicked owns the theme."""
    user, ref = _clicked(body)
    staff_desk(services).claim(ref, owner=user, user=user, now=services.clock())
    ack()


def on_reopen(services: Services, ack: Ack, body: dict) -> None:
    """Reopen a closed theme."""
    user, ref = _clicked(body)
    staff_desk(services).reopen(ref, user=user, now=services.clock())
    ack()


def on_open_modal(
    services: Services, action: Action, ack: Ack, body: dict, client: WebClient
) -> None:
    """Move, merge, re-categorise, close: open the modal that asks what the action needs."""
    user, ref = _clicked(body)
    stored = staff_desk(services).theme_for(user, ref)
    views = StaffViews(services.renderer)
    theme = stored.theme
    if action is Action.MOVE:
        view = views.move_modal(theme, services.store.theme_posts(ref))
    elif action is Action.MERGE:
        view = views.merge_modal(theme)
    elif action is Action.RECATEGORISE:
        view = views.recategorise_modal(theme, services.store.theme_posts(ref))
    else:
        view = views.close_modal(theme)
    client.views_open(trigger_id=body["trigger_id"], view=view)
    ack()


def register(app: App, services: Services) -> None:
    """Attach the theme buttons."""
    app.action(Action.CLAIM.value)(functools.partial(on_claim, services))
    app.action(Action.REOPEN.value)(functools.partial(on_reopen, services))
    for action in (Action.MOVE, Action.MERGE, Action.RECATEGORISE, Action.CLOSE):
        app.action(action.value)(functools.partial(on_open_modal, services, action))
