"""Modal submissions of staff actions: validated, applied, or answered with field errors.

A submission is checked and applied before it is acknowledged, so a problem (a theme that
does not exist, one on another account, a person who may not act) goes back to the modal as
`response_action: errors` on the field concerned, and nothing changes.
"""

from __future__ import annotations

import functools

from slack_bolt import Ack, App

from bot.core.posts import Category
from bot.core.staff import ActionRefused, Refusal, category_named, close_reason, normalise_ref
from bot.services import Services
from bot.slack.ids import WHOLE_THEME, Field, Modal
from bot.slack.listeners.actions import staff_desk
from bot.slack.staff_views import modal_ref, submitted


def _required(view: dict, field: Field) -> str:
    value = submitted(view, field)
    if value is None:
        raise ActionRefused(Refusal.USAGE, field=field.value)
    return value


def _ref(text: str, field: Field) -> str:
    try:
        return normalise_ref(text)
    except ActionRefused as refused:
        raise ActionRefused(refused.reason, field=field.value, **refused.details) from None


def on_submission(services: Services, modal: Modal, ack: Ack, body: dict, view: dict) -> None:
    """Apply what a staff-action modal asks, then close the modal."""
    user = str(body["user"]["id"])
    ref = modal_ref(view)
    if ref is None:
        raise ActionRefused(Refusal.USAGE)
    staff, now = staff_desk(services), services.clock()
    if modal is Modal.CLOSE:
        reason = close_reason(_required(view, Field.REASON))
        staff.close(ref, reason=reason, user=user, now=now)
    elif modal is Modal.MERGE:
        into = _ref(_required(view, Field.TARGET), Field.TARGET)
        staff.merge(ref, into=into, user=user, now=now, field=Field.TARGET.value)
    elif modal is Modal.MOVE:
        post = _required(view, Field.POST)
        target = submitted(view, Field.TARGET)
        to = None if target is None or target.lower() == "new" else _ref(target, Field.TARGET)
        staff.move(
            ref,
            post=post,
            to=to,
            user=user,
            now=now,
            fields=(Field.POST.value, Field.TARGET.value),
        )
    else:
        post = _required(view, Field.POST)
        category: Category = category_named(_required(view, Field.CATEGORY))
        staff.recategorise(
            ref,
            category=category,
            post=None if post == WHOLE_THEME else post,
            user=user,
            now=now,
            fields=(Field.POST.value, Field.CATEGORY.value),
        )
    ack()


def register(app: App, services: Services) -> None:
    """Attach the staff-action modals' submissions."""
    for modal in Modal:
        app.view(modal.value)(functools.partial(on_submission, services, modal))
