"""Suggested replies in theme threads: buttons, the template menu, modals and reactions.

Listeners stay thin: parse the payload, call the reply desk, tell the person privately when
their click or reaction changed nothing. Reactions arrive through the shared reaction_added
dispatcher (`reactions.add_reaction_handler`); reaction_removed is handled here.
"""

from __future__ import annotations

import json
import logging

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.replies_desk import EditProblem, ReplyDesk
from bot.services import Services
from bot.slack.ids import Event, SuggestionAction, SuggestionView
from bot.slack.listeners.reactions import add_reaction_handler
from bot.slack.suggestion_messages import SuggestionMessages, parse_value

logger = logging.getLogger(__name__)


def _messages(services: Services) -> SuggestionMessages:
    assert services.replies is not None
    return SuggestionMessages(services.renderer, services.replies)


def _tell(services: Services, *, channel: str, user: str, refusal: str) -> None:
    """A private explanation to `user` that their click or reaction changed nothing."""
    assert services.replies is not None
    services.replies.tell_privately(channel, user, _messages(services).refusal(refusal))


def _target(services: Services, body: dict) -> tuple[str, int] | None:
    """The (suggestion, version) a button names, if the message it sits on shows it."""
    actions = body.get("actions") or [{}]
    target = parse_value(actions[0].get("value"))
    if target is None:
        return None
    ts = str((body.get("message") or {}).get("ts") or "")
    shown = services.store.suggestion_message(ts) if ts else None
    if shown is None or shown.get("id") != target[0]:
        return None  # a button that does not belong to the message it came from
    return target


def _where(body: dict) -> tuple[str, str]:
    return str((body.get("channel") or {}).get("id") or ""), str(body["user"]["id"])


def approve_clicked(services: Services, ack: Ack, body: dict) -> None:
    """Approve button."""
    ack()
    replies: ReplyDesk = services.replies  # type: ignore[assignment]
    channel, user = _where(body)
    target = _target(services, body)
    if target is None:
        _tell(services, channel=channel, user=user, refusal="not_shown")
        return
    outcome = replies.approve(target[0], version=target[1], user=user, now=services.clock())
    if outcome.refusal is not None:
        _tell(services, channel=channel, user=user, refusal=outcome.refusal.value)


def posted_clicked(services: Services, ack: Ack, body: dict) -> None:
    """Posted button (manual publisher)."""
    ack()
    replies: ReplyDesk = services.replies  # type: ignore[assignment]
    channel, user = _where(body)
    target = _target(services, body)
    if target is None:
        _tell(services, channel=channel, user=user, refusal="not_shown")
        return
    outcome = replies.mark_posted(target[0], user=user, now=services.clock())
    if outcome.refusal is not None:
        _tell(services, channel=channel, user=user, refusal=outcome.refusal.value)


def edit_clicked(services: Services, ack: Ack, body: dict, client: WebClient) -> None:
    """Edit button: the modal, prefilled with the newest text."""
    ack()
    channel, user = _where(body)
    target = _target(services, body)
    record = services.store.suggestion(target[0]) if target else None
    if record is None or not record.is_open:
        _tell(services, channel=channel, user=user, refusal="not_pending")
        return
    replies: ReplyDesk = services.replies  # type: ignore[assignment]
    refusal = replies.may_change(record, user=user)
    if refusal is not None:
        _tell(services, channel=channel, user=user, refusal=refusal.value)
        return
    client.views_open(trigger_id=body["trigger_id"], view=_messages(services).edit_modal(record))


def reject_clicked(services: Services, ack: Ack, body: dict, client: WebClient) -> None:
    """Reject button: the modal asking why (for people who may reject)."""
    ack()
    replies: ReplyDesk = services.replies  # type: ignore[assignment]
    channel, user = _where(body)
    target = _target(services, body)
    record = services.store.suggestion(target[0]) if target else None
    if target is None or record is None:
        _tell(services, channel=channel, user=user, refusal="not_shown")
        return
    refusal = replies.may_reject(record, user=user)
    if refusal is not None:
        _tell(services, channel=channel, user=user, refusal=refusal.value)
        return
    client.views_open(
        trigger_id=body["trigger_id"], view=_messages(services).reject_modal(record, target[1])
    )


def template_chosen(services: Services, ack: Ack, body: dict) -> None:
    """The "different template" menu: a new version from the chosen template."""
    ack()
    replies: ReplyDesk = services.replies  # type: ignore[assignment]
    action = (body.get("actions") or [{}])[0]
    try:
        chosen = json.loads(str((action.get("selected_option") or {}).get("value")))
        suggestion, template = str(chosen["s"]), str(chosen["t"])
    except (ValueError, TypeError, KeyError):
        return
    ts = str((body.get("message") or {}).get("ts") or "")
    shown = services.store.suggestion_message(ts) if ts else None
    if shown is None or shown.get("id") != suggestion:
        return
    record = services.store.suggestion(suggestion)
    channel, user = _where(body)
    refusal = replies.may_change(record, user=user) if record is not None else None
    if refusal is not None:
        _tell(services, channel=channel, user=user, refusal=refusal.value)
        return
    replies.change_template(suggestion, template=template, user=user, now=services.clock())


def _field(view: dict, block: str) -> str:
    values = (view.get("state") or {}).get("values") or {}
    return str(((values.get(block) or {}).get(block) or {}).get("value") or "")


def edit_submitted(services: Services, ack: Ack, body: dict, view: dict) -> None:
    """The edit modal: a new version, or the problem shown beside the text."""
    replies: ReplyDesk = services.replies  # type: ignore[assignment]
    target = parse_value(view.get("private_metadata"))
    if target is None:
        ack(response_action="errors", errors={"text": _messages(services).refusal("not_a_form")})
        return
    try:
        replies.edit(
            target[0],
            version=target[1],
            user=body["user"]["id"],
            text=_field(view, "text"),
            now=services.clock(),
        )
    except EditProblem as problem:
        said = _messages(services).refusal(problem.what, **problem.details)
        ack(response_action="errors", errors={"text": said})
        return
    ack()


def reject_submitted(services: Services, ack: Ack, body: dict, view: dict) -> None:
    """The reject modal: the reason is required; a refusal is shown in the form."""
    replies: ReplyDesk = services.replies  # type: ignore[assignment]
    target = parse_value(view.get("private_metadata"))
    reason = _field(view, "reason").strip()
    if target is None or not reason:
        word = services.renderer.render("slack/suggestion_ui.j2", part="reason_empty")
        ack(response_action="errors", errors={"reason": word})
        return
    outcome = replies.reject(
        target[0], version=target[1], user=body["user"]["id"], reason=reason, now=services.clock()
    )
    if outcome.refusal is not None:
        ack(
            response_action="errors",
            errors={"reason": _messages(services).refusal(outcome.refusal.value)},
        )
        return
    ack()


def on_suggestion_reaction(services: Services, event: dict) -> bool:
    """✅ approves, ❌ rejects, the posted emoji marks it posted: on a suggestion's message
    only (found through the stored index); anything else is not ours (False)."""
    replies = services.replies
    item = event.get("item") or {}
    if replies is None or item.get("type") != "message":
        return False
    shown = services.store.suggestion_message(str(item.get("ts") or ""))
    if shown is None:
        return False
    reactions = replies.config.desk.approval.reactions
    name, user, now = str(event.get("reaction")), str(event.get("user")), services.clock()
    suggestion, version = str(shown["id"]), int(shown["version"])
    channel = str(item.get("channel") or "")
    if event.get("type") == Event.REACTION_REMOVED.value:
        if name == reactions.approve:
            replies.withdraw(suggestion, version=version, user=user, now=now)
        return True
    if name == reactions.approve:
        outcome = replies.approve(suggestion, version=version, user=user, now=now)
    elif name == reactions.reject:
        record = services.store.suggestion(suggestion)
        if record is not None and record.status.value == "rejected":
            return True  # already rejected: a replay changes nothing
        outcome = replies.reject(suggestion, version=version, user=user, reason="", now=now)
    elif name == reactions.posted:
        outcome = replies.mark_posted(suggestion, user=user, now=now)
    else:
        return True  # another emoji on a suggestion: nothing to do
    if outcome.refusal is not None and not outcome.duplicate:
        _tell(services, channel=channel, user=user, refusal=outcome.refusal.value)
    return True


def on_reaction_removed(services: Services, event: dict) -> None:
    """Listener: a reaction was taken off a message."""
    on_suggestion_reaction(services, event)


def register(app: App, services: Services) -> None:
    """Attach the suggested-reply listeners (nothing without suggested replies)."""
    add_reaction_handler(on_suggestion_reaction)
    if services.replies is None:
        return
    app.action(SuggestionAction.APPROVE.value)(
        lambda ack, body: approve_clicked(services, ack, body)
    )
    app.action(SuggestionAction.POSTED.value)(lambda ack, body: posted_clicked(services, ack, body))
    app.action(SuggestionAction.EDIT.value)(
        lambda ack, body, client: edit_clicked(services, ack, body, client)
    )
    app.action(SuggestionAction.REJECT.value)(
        lambda ack, body, client: reject_clicked(services, ack, body, client)
    )
    app.action(SuggestionAction.TEMPLATE.value)(
        lambda ack, body: template_chosen(services, ack, body)
    )
    app.view(SuggestionView.EDIT.value)(
        lambda ack, body, view: edit_submitted(services, ack, body, view)
    )
    app.view(SuggestionView.REJECT.value)(
        lambda ack, body, view: reject_submitted(services, ack, body, view)
    )
    app.event(Event.REACTION_REMOVED.value)(lambda event: on_reaction_removed(services, event))
