"""What Slack shows of a suggested reply, rendered from the stored suggestion when sent.

Three one-off message kinds, all in the theme's thread (in its primary channel): a version
with Approve / Edit / Reject buttons and a "different template" menu while it may be
approved; a note for each step; and, for the manual publisher, the approved text ready to
copy with a Posted button. A fourth kind updates one of those messages once decided (the
buttons gone, who approved or rejected which version), rendered the same way from the
state of then. Also the edit and reject modals. Words come from templates.
"""

from __future__ import annotations

import json
from typing import Any

from bot.core.approval import SuggestionRecord, SuggestionStatus, word_diff
from bot.core.templating import TemplateRenderer
from bot.replies_desk import (
    SUGGESTION,
    SUGGESTION_NOTE,
    SUGGESTION_READY,
    SUGGESTION_UPDATE,
    ReplyDesk,
)
from bot.slack.ids import SuggestionAction, SuggestionView
from bot.slack.messages import Message
from bot.storage import OutboxItem

KINDS = (SUGGESTION, SUGGESTION_NOTE, SUGGESTION_READY, SUGGESTION_UPDATE)
UPDATES = (SUGGESTION_UPDATE,)
TEMPLATES = (
    "slack/suggestion.j2",
    "slack/suggestion_note.j2",
    "slack/suggestion_ready.j2",
    "slack/suggestion_refused.j2",
    "slack/suggestion_ui.j2",
)
# Slack's limits: option text 75 characters, 100 options in a static_select.
_MAX_OPTIONS = 100
_SECTION = 3000


def button_value(suggestion_id: str, version: int) -> str:
    """What a button carries: which suggestion and version it acts on."""
    return json.dumps({"s": suggestion_id, "v": version}, separators=(",", ":"))


def parse_value(value: object) -> tuple[str, int] | None:
    """The (suggestion id, version) a button or modal carries; None when it is not one."""
    try:
        data = json.loads(str(value))
        return str(data["s"]), int(data["v"])
    except (ValueError, TypeError, KeyError):
        return None


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:_SECTION]}}


class SuggestionMessages:
    """Renders suggestions, their notes and modals from the stored state."""

    kinds: tuple[str, ...] = KINDS
    updates: tuple[str, ...] = UPDATES

    def __init__(self, renderer: TemplateRenderer, replies: ReplyDesk) -> None:
        self.renderer = renderer
        self.replies = replies

    def _word(self, part: str) -> str:
        return self.renderer.render("slack/suggestion_ui.j2", part=part)

    def _button(
        self, part: str, action: SuggestionAction, value: str, style: str | None = None
    ) -> dict:
        button: dict[str, Any] = {
            "type": "button",
            "text": {"type": "plain_text", "text": self._word(part)},
            "action_id": action.value,
            "value": value,
        }
        if style:
            button["style"] = style
        return button

    def thread_of(self, item: OutboxItem) -> str | None:
        """The ts of the theme's parent message in the item's channel; None until posted."""
        stored = self.replies.store.theme(str(item.data.get("theme")))
        return None if stored is None else stored.view(item.channel).parent_ts

    def message_to_update(self, item: OutboxItem) -> tuple[str, str] | None:
        """(channel id, ts) of the message an update item re-renders; None if there is none
        (it was never delivered: when it is, it is rendered from the state of then)."""
        return self.replies.store.suggestion_message_at(
            str(item.data.get("suggestion")),
            version=int(item.data.get("version") or 0),
            shows=str(item.data.get("shows") or SUGGESTION),
        )

    def render(self, item: OutboxItem) -> Message:
        """The message for a one-off item of one of `KINDS`."""
        record = self.replies.store.suggestion(str(item.data.get("suggestion")))
        if record is None:
            text = self.renderer.render("slack/suggestion_refused.j2", refusal="gone")
            return text, [_section(text)]
        shows = str(item.data.get("shows") or SUGGESTION) if item.kind in UPDATES else item.kind
        if shows == SUGGESTION:
            return self.version(record, int(item.data["version"]))
        if shows == SUGGESTION_READY:
            return self.ready(record, int(item.data["version"]))
        text = self.renderer.render(
            "slack/suggestion_note.j2",
            action=str(item.data.get("action")),
            by=str(item.data.get("by")),
            version=int(item.data.get("of_version") or record.latest.n),
            reason=item.data.get("reason"),
            still_needed=int(item.data.get("still_needed") or 0),
            answer=item.data.get("answer"),
            error=item.data.get("error"),
        )
        return text, [_section(text)]

    def version(self, record: SuggestionRecord, n: int) -> Message:
        """Version `n` of `record`, with buttons while it is the one to approve."""
        version = record.version(n) or record.latest
        previous = record.version(n - 1)
        requirement = self.replies.requirement(record)
        reactions = self.replies.config.desk.approval.reactions
        latest = version.n == record.latest.n
        diff = (
            [(part.op.value, part.text) for part in word_diff(previous.text, version.text)]
            if previous is not None
            else []
        )
        text = self.renderer.render(
            "slack/suggestion.j2",
            ref=record.theme,
            version=version.n,
            author=version.author,
            requested_by=version.requested_by,
            template=version.template,
            network=record.network,
            length=version.length,
            limit=version.limit,
            fits=version.fits,
            over_by=version.over_by,
            why=version.why,
            diff=diff,
            text=version.text,
            status=record.status.value,
            latest=latest,
            crisis=requirement.role_refusal.value == "needs_crisis_approver",
            count=requirement.count,
            political=record.political,
            approved_by=[a.by for a in record.approvals_of(version.n)],
            rejected_by=record.rejection.by
            if record.rejection is not None and record.rejection.version == version.n
            else None,
            reason=record.rejection.reason if record.rejection is not None else "",
            published_by=record.published_by,
            approve_emoji=reactions.approve,
            reject_emoji=reactions.reject,
        )
        blocks = [_section(text)]
        if latest and record.status is SuggestionStatus.PENDING:
            value = button_value(record.id, version.n)
            elements: list[dict[str, Any]] = []
            if version.fits:
                elements.append(self._button("approve", SuggestionAction.APPROVE, value, "primary"))
            elements += [
                self._button("edit", SuggestionAction.EDIT, value),
                self._button("reject", SuggestionAction.REJECT, value, "danger"),
            ]
            options = [
                {
                    "text": {"type": "plain_text", "text": name[:75]},
                    "value": json.dumps({"s": record.id, "t": name}, separators=(",", ":")),
                }
                for name in self.replies.templates_for(record)[:_MAX_OPTIONS]
                if name != version.template.removesuffix(".short")
            ]
            if options:
                elements.append(
                    {
                        "type": "static_select",
                        "action_id": SuggestionAction.TEMPLATE.value,
                        "placeholder": {"type": "plain_text", "text": self._word("template")},
                        "options": options,
                    }
                )
            blocks.append(
                {"type": "actions", "block_id": f"suggestion:{record.id}", "elements": elements}
            )
        return text, blocks

    def ready(self, record: SuggestionRecord, n: int) -> Message:
        """Manual publisher: the approved text to copy, who approved it, and Posted."""
        version = record.version(n) or record.latest
        text = self.renderer.render(
            "slack/suggestion_ready.j2",
            ref=record.theme,
            network=record.network,
            approved_by=[a.by for a in record.approvals_of(version.n)],
            text=version.text,
            status=record.status.value,
            published_by=record.published_by,
            posted_emoji=self.replies.config.desk.approval.reactions.posted,
        )
        blocks = [_section(text)]
        if record.status is SuggestionStatus.APPROVED:
            blocks.append(
                {
                    "type": "actions",
                    "elements": [
                        self._button(
                            "posted",
                            SuggestionAction.POSTED,
                            button_value(record.id, version.n),
                            "primary",
                        )
                    ],
                }
            )
        return text, blocks

    def refusal(self, refusal: str, **details: object) -> str:
        """The explanation for a click, reaction or edit that changed nothing."""
        return self.renderer.render("slack/suggestion_refused.j2", refusal=refusal, **details)

    def edit_modal(self, record: SuggestionRecord) -> dict[str, Any]:
        """The modal to edit the latest version, prefilled with its text."""
        return {
            "type": "modal",
            "callback_id": SuggestionView.EDIT.value,
            "private_metadata": button_value(record.id, record.latest.n),
            "title": {"type": "plain_text", "text": self._word("edit_title")},
            "submit": {"type": "plain_text", "text": self._word("save")},
            "close": {"type": "plain_text", "text": self._word("cancel")},
            "blocks": [
                {
                    "type": "input",
                    "block_id": "text",
                    "label": {"type": "plain_text", "text": self._word("text_label")},
                    "hint": {"type": "plain_text", "text": self._word("text_hint")},
                    "element": {
                        "type": "plain_text_input",
                        "action_id": "text",
                        "multiline": True,
                        "initial_value": record.latest.text,
                        "max_length": 3000,
                    },
                }
            ],
        }

    def reject_modal(self, record: SuggestionRecord, version: int) -> dict[str, Any]:
        """The modal that asks why a suggestion is rejected."""
        return {
            "type": "modal",
            "callback_id": SuggestionView.REJECT.value,
            "private_metadata": button_value(record.id, version),
            "title": {"type": "plain_text", "text": self._word("reject_title")},
            "submit": {"type": "plain_text", "text": self._word("send")},
            "close": {"type": "plain_text", "text": self._word("cancel")},
            "blocks": [
                {
                    "type": "input",
                    "block_id": "reason",
                    "label": {"type": "plain_text", "text": self._word("reason_label")},
                    "hint": {"type": "plain_text", "text": self._word("reason_hint")},
                    "element": {
                        "type": "plain_text_input",
                        "action_id": "reason",
                        "multiline": True,
                        "max_length": 500,
                    },
                }
            ],
        }
