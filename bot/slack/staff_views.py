"""Block Kit for staff actions: the buttons on a theme's parent, the modals, the replies.

Builders only (the listeners in `bot.slack.listeners.actions`/`views` use them). Words come
from templates/slack/staff_text.j2, action_refused.j2 and theme_done.j2; text from the
public shown in plain_text fields (a theme's title, a post's opening words) is shown as it
is, since Slack does not read markup there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from bot.core.posts import Category
from bot.core.staff import STAFF_REASONS, ActionRefused
from bot.core.templating import TemplateRenderer
from bot.core.theme_state import Theme, ThemeStatus
from bot.slack.ids import THEME_ACTIONS_BLOCK, WHOLE_THEME, Action, Field, Modal
from bot.slack.messages import CATEGORY_LABELS

# Slack's limits: modal titles 24 characters, option texts 75, options 100, metadata 3,000.
TITLE_LIMIT = 24
OPTION_LIMIT = 75
MAX_OPTIONS = 100


def _unescaped(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class StaffViews:
    """Builds what staff actions show in Slack."""

    def __init__(self, renderer: TemplateRenderer) -> None:
        self.renderer = renderer

    def text(self, name: str, /, **context: Any) -> str:
        """A short text from staff_text.j2, for a plain_text field."""
        context.setdefault("ref", "")
        context.setdefault("title", "")
        return _unescaped(self.renderer.render("slack/staff_text.j2", name=name, **context))

    def _plain(self, text: str, limit: int = 2000) -> dict[str, Any]:
        return {"type": "plain_text", "text": _cut(text, limit), "emoji": True}

    def _button(self, action: Action, ref: str, name: str) -> dict[str, Any]:
        return {
            "type": "button",
            "action_id": action.value,
            "text": self._plain(self.text(name), 75),
            "value": ref,
        }

    # -- the parent message's buttons ------------------------------------------------------

    def theme_buttons(self, theme: Theme) -> dict[str, Any]:
        """The actions block of a theme's parent message."""
        ref = theme.ref
        if theme.status is ThemeStatus.CLOSED:
            buttons = [self._button(Action.REOPEN, ref, "reopen")]
        else:
            buttons = [
                self._button(Action.CLAIM, ref, "claim"),
                self._button(Action.MOVE, ref, "move"),
                self._button(Action.MERGE, ref, "merge"),
                self._button(Action.RECATEGORISE, ref, "recategorise"),
                self._button(Action.CLOSE, ref, "close"),
            ]
        return {"type": "actions", "block_id": THEME_ACTIONS_BLOCK, "elements": buttons}

    # -- modals ----------------------------------------------------------------------------

    def _modal(self, callback: Modal, theme: Theme, blocks: list[dict[str, Any]]) -> dict:
        intro = self.text("modal_intro", ref=theme.ref, title=theme.title)
        return {
            "type": "modal",
            "callback_id": callback.value,
            "private_metadata": json.dumps({"ref": theme.ref}),
            "title": self._plain(
                self.text(f"{callback_name(callback)}_title", ref=theme.ref), TITLE_LIMIT
            ),
            "submit": self._plain(self.text("submit"), TITLE_LIMIT),
            "close": self._plain(self.text("cancel"), TITLE_LIMIT),
            "blocks": [{"type": "section", "text": self._plain(intro, 3000)}, *blocks],
        }

    def _option(self, value: str, text: str) -> dict[str, Any]:
        return {"text": self._plain(text, OPTION_LIMIT), "value": value}

    def _post_options(self, posts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        newest = list(posts)[-MAX_OPTIONS:]
        return [
            self._option(
                str(doc["key"]), f"{doc['author']['handle']}: {doc.get('text') or doc['key']}"
            )
            for doc in reversed(newest)
        ]

    def _input(
        self,
        field: Field,
        label: str,
        element: dict[str, Any],
        *,
        optional: bool = False,
        hint: str | None = None,
    ) -> dict[str, Any]:
        block: dict[str, Any] = {
            "type": "input",
            "block_id": field.value,
            "label": self._plain(label, 2000),
            "element": {"action_id": field.value, **element},
            "optional": optional,
        }
        if hint:
            block["hint"] = self._plain(hint, 2000)
        return block

    def move_modal(self, theme: Theme, posts: Sequence[Mapping[str, Any]]) -> dict:
        """Which post of `theme` to move, and to which theme (empty: a new one)."""
        options = self._post_options(posts)
        post: dict[str, Any] = {"type": "static_select", "options": options}
        if options:
            post["initial_option"] = options[0]
        target = {"type": "plain_text_input", "max_length": 20}
        return self._modal(
            Modal.MOVE,
            theme,
            [
                self._input(Field.POST, self.text("post_label"), post),
                self._input(
                    Field.TARGET,
                    self.text("move_target_label"),
                    target,
                    optional=True,
                    hint=self.text("move_target_hint"),
                ),
            ],
        )

    def merge_modal(self, theme: Theme) -> dict:
        """Which theme to merge `theme` into."""
        return self._modal(
            Modal.MERGE,
            theme,
            [
                self._input(
                    Field.TARGET,
                    self.text("merge_target_label", ref=theme.ref),
                    {"type": "plain_text_input", "max_length": 20},
                    hint=self.text("merge_target_hint", ref=theme.ref),
                )
            ],
        )

    def recategorise_modal(self, theme: Theme, posts: Sequence[Mapping[str, Any]]) -> dict:
        """The whole theme or one post, and the new category."""
        whole = self._option(WHOLE_THEME, self.text("whole_theme", ref=theme.ref))
        post = {
            "type": "static_select",
            "options": [whole, *self._post_options(posts)[: MAX_OPTIONS - 1]],
            "initial_option": whole,
        }
        categories = {
            "type": "static_select",
            "options": [self._option(c.value, _unescaped(CATEGORY_LABELS[c])) for c in Category],
        }
        return self._modal(
            Modal.RECATEGORISE,
            theme,
            [
                self._input(Field.POST, self.text("post_label"), post),
                self._input(Field.CATEGORY, self.text("category_label"), categories),
            ],
        )

    def close_modal(self, theme: Theme) -> dict:
        """Why `theme` is closed."""
        reasons = {
            "type": "radio_buttons",
            "options": [self._option(r.value, self.text(r.value)) for r in STAFF_REASONS],
        }
        return self._modal(
            Modal.CLOSE, theme, [self._input(Field.REASON, self.text("reason_label"), reasons)]
        )

    # -- replies ---------------------------------------------------------------------------

    def refused(self, error: ActionRefused) -> str:
        """Why an action was not done (mrkdwn)."""
        details = {"ref": "", "account": "", "post": "", "category": "", "number": ""}
        details |= dict(error.details)
        return self.renderer.render("slack/action_refused.j2", reason=error.reason.value, **details)

    def done(self, theme: Theme, *, verb: str, source: str | None = None) -> str:
        """What a `/comms theme` command did and the theme now (mrkdwn)."""
        return self.renderer.render(
            "slack/theme_done.j2",
            verb=verb,
            source=source,
            ref=theme.ref,
            title=theme.title,
            status=theme.status.value,
            close_reason=theme.close_reason.value if theme.close_reason else None,
            owner=theme.owner,
            post_count=theme.post_count,
            category=theme.category,
        )


def callback_name(callback: Modal) -> str:
    """The short name of a modal (`move` for Modal.MOVE)."""
    return callback.value.removeprefix("theme_").removesuffix("_modal")


def submitted(view: Mapping[str, Any], field: Field) -> str | None:
    """The value submitted in a modal's input `field` (None if empty or absent)."""
    state = ((view.get("state") or {}).get("values") or {}).get(field.value) or {}
    element = state.get(field.value) or {}
    if "selected_option" in element:
        option = element.get("selected_option") or {}
        value = option.get("value")
    else:
        value = element.get("value")
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()


def modal_ref(view: Mapping[str, Any]) -> str | None:
    """The theme ref a modal's private_metadata carries."""
    try:
        data = json.loads(view.get("private_metadata") or "")
    except ValueError:
        return None
    ref = data.get("ref") if isinstance(data, dict) else None
    return ref if isinstance(ref, str) else None
