"""Once a suggestion is decided, its message in the thread says so: the buttons go, and it
names who approved or rejected which version. The update goes through the outbox like every
message, so it is rendered from the stored state when sent and survives a restart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.core.approval import SuggestionStatus
from bot.replies_desk import SUGGESTION_UPDATE
from tests.conftest import BotUnderTest, intake_post, wait_until
from tests.e2e.test_replies import (
    APPROVER,
    CHANNEL,
    OTHER_APPROVER,
    _click,
    _interaction,
    _react,
    _status,
    _suggestion_shown,
)


@pytest.fixture
def config_dir(config_dir: Path) -> Path:
    """The test configuration with suggested replies switched on."""
    desk = config_dir / "desk.yaml"
    text = desk.read_text(encoding="utf-8")
    desk.write_text(text.replace("suggest_in_threads: false", "suggest_in_threads: true"))
    return config_dir


def _message(fake_slack, ts: str) -> dict[str, Any]:
    return next(m for m in fake_slack.messages(CHANNEL) if m["ts"] == ts)


def _buttons(message: dict[str, Any]) -> list[str]:
    return [
        e.get("action_id")
        for b in message.get("blocks") or []
        if b.get("type") == "actions"
        for e in b.get("elements") or []
    ]


def _shows(fake_slack, ts: str, words: str) -> bool:
    message = _message(fake_slack, ts)
    return words in message["text"] and not _buttons(message)


def test_an_approved_suggestion_loses_its_buttons_and_posted_clears_the_copy_message(
    bot: BotUnderTest, fake_slack
) -> None:
    assert bot.intake(intake_post("5001")).status == 202
    suggestion, message = _suggestion_shown(bot, fake_slack)
    assert "suggestion_approve" in _buttons(message)
    _click(bot, fake_slack, "suggestion_approve", message, user=APPROVER)
    wait_until(
        lambda: _shows(fake_slack, message["ts"], f"approved* by <@{APPROVER}>"),
        what="the suggestion showing its approver, without buttons",
    )

    def ready() -> list[dict[str, Any]]:
        # Shown in Slack and recorded by the bot (a click before that is "not this message").
        return [
            m
            for m in fake_slack.messages(CHANNEL)
            if "Ready to post" in m["text"] and bot.store.suggestion_message(m["ts"])
        ]

    wait_until(lambda: bool(ready()), what="the text ready to copy")
    [copy] = ready()
    assert "suggestion_posted" in _buttons(copy)
    _click(bot, fake_slack, "suggestion_posted", copy, user=OTHER_APPROVER)
    wait_until(
        lambda: _shows(fake_slack, copy["ts"], f"Posted, says <@{OTHER_APPROVER}>"),
        what="the copy message saying it is posted, without its button",
    )
    wait_until(
        lambda: _shows(fake_slack, message["ts"], f"posted, says <@{OTHER_APPROVER}>"),
        what="the suggestion saying it is posted",
    )
    assert _status(bot, suggestion) is SuggestionStatus.PUBLISHED


def test_a_cross_reaction_rejects_with_no_reason_given_and_the_thread_says_so(
    bot: BotUnderTest, fake_slack
) -> None:
    assert bot.intake(intake_post("5002")).status == 202
    suggestion, message = _suggestion_shown(bot, fake_slack)
    _react(bot, fake_slack, message, user=APPROVER, name="x", event_id="EvX1")
    wait_until(lambda: _status(bot, suggestion) is SuggestionStatus.REJECTED, what="rejection")
    wait_until(
        lambda: _shows(fake_slack, message["ts"], f"rejected* by <@{APPROVER}>: no reason given"),
        what="the suggestion showing who rejected it, without buttons",
    )
    wait_until(
        lambda: any(
            "rejected by" in m["text"]
            and "no reason given" in m["text"]
            and m["ts"] != message["ts"]
            for m in fake_slack.messages(CHANNEL)
        ),
        what="a note in the thread",
    )
    record = bot.store.suggestion(suggestion)
    assert record.rejection is not None and record.rejection.by == APPROVER
    day = record.rejection.at.date()
    [entry] = [
        e for e in bot.store.iter_audit(day, day) if e.get("action") == "suggestion.rejected"
    ]
    assert entry["by"] == APPROVER and entry["reason"] == ""


def test_an_update_queued_while_slack_is_down_is_shown_once_after_a_restart(
    start_bot, bot: BotUnderTest, fake_slack
) -> None:
    assert bot.intake(intake_post("5003")).status == 202
    suggestion, message = _suggestion_shown(bot, fake_slack)
    fake_slack.go_down()
    _click(bot, fake_slack, "suggestion_approve", message, user=APPROVER)
    wait_until(lambda: _status(bot, suggestion) is SuggestionStatus.APPROVED, what="approval")
    wait_until(
        lambda: any(i.kind == SUGGESTION_UPDATE for i in bot.store.outbox_items()),
        what="the update waiting in the outbox",
    )
    bot.stop()
    fake_slack.come_up()
    again = start_bot()
    wait_until(
        lambda: _shows(fake_slack, message["ts"], f"approved* by <@{APPROVER}>"),
        what="the update sent by the restarted bot",
    )
    wait_until(lambda: not again.store.outbox_items(), what="the outbox emptied")
    updates = [c for c in fake_slack.calls_to("chat.update") if c.params["ts"] == message["ts"]]
    assert len(updates) == 1


def _choose_template(bot: BotUnderTest, fake_slack, message: dict[str, Any], *, user: str):
    """Pick the first other template from the suggestion's menu; its name."""
    menu = next(
        e
        for b in message["blocks"]
        for e in b.get("elements") or []
        if e.get("action_id") == "suggestion_template"
    )
    option = menu["options"][0]
    answer = _interaction(
        bot,
        {
            "type": "block_actions",
            "team": {"id": "T0COMMS"},
            "user": {"id": user},
            "api_app_id": "A0COMMSBOT",
            "trigger_id": "1337.42.abcdef",
            "channel": {"id": fake_slack.channel_id(CHANNEL)},
            "container": {"type": "message", "message_ts": message["ts"]},
            "message": {"ts": message["ts"], "blocks": message["blocks"]},
            "actions": [
                {
                    "action_id": "suggestion_template",
                    "block_id": menu.get("block_id", "b"),
                    "type": "static_select",
                    "selected_option": option,
                    "action_ts": "1.1",
                }
            ],
        },
    )
    assert answer.status == 200
    return json.loads(option["value"])["t"]


def _audit(bot: BotUnderTest, action: str) -> list[dict[str, Any]]:
    today = bot.runtime.services.clock().date()
    return [e for e in bot.store.iter_audit(today, today) if e.get("action") == action]


def test_the_template_menu_makes_a_new_version_from_another_template_audited(
    bot: BotUnderTest, fake_slack
) -> None:
    assert bot.intake(intake_post("5004")).status == 202
    suggestion, v1 = _suggestion_shown(bot, fake_slack)
    first = bot.store.suggestion(suggestion).latest
    chosen = _choose_template(bot, fake_slack, v1, user=APPROVER)
    _, v2 = _suggestion_shown(bot, fake_slack, version=2)
    latest = bot.store.suggestion(suggestion).latest
    assert latest.n == 2 and latest.template.removesuffix(".short") == chosen
    assert latest.template != first.template and latest.requested_by == APPROVER
    assert f"template chosen by <@{APPROVER}>" in v2["text"]
    [entry] = _audit(bot, "suggestion.template_changed")
    assert entry["by"] == APPROVER and entry["version"] == 2 and entry["template"] == chosen
    wait_until(
        lambda: _shows(fake_slack, v1["ts"], "Replaced by version 2"),
        what="version 1 without its buttons",
    )
    # The person who chose the template did not write it: they may approve it.
    _click(bot, fake_slack, "suggestion_approve", v2, user=APPROVER)
    wait_until(lambda: _status(bot, suggestion) is SuggestionStatus.APPROVED, what="approval")


def test_a_rejection_through_the_modal_shows_its_reason_in_the_thread_and_the_audit(
    bot: BotUnderTest, fake_slack
) -> None:
    assert bot.intake(intake_post("5005")).status == 202
    suggestion, message = _suggestion_shown(bot, fake_slack)
    _click(bot, fake_slack, "suggestion_reject", message, user=APPROVER)
    opened = fake_slack.wait_for_calls("views.open", 1)[-1].params["view"]
    reason = "Too formal for a question about bins & <tips>"
    answer = _interaction(
        bot,
        {
            "type": "view_submission",
            "team": {"id": "T0COMMS"},
            "user": {"id": APPROVER},
            "api_app_id": "A0COMMSBOT",
            "view": {
                "id": "V3",
                "type": "modal",
                "callback_id": "suggestion_reject_view",
                "private_metadata": opened["private_metadata"],
                "state": {
                    "values": {"reason": {"reason": {"type": "plain_text_input", "value": reason}}}
                },
            },
        },
    )
    assert answer.status == 200
    wait_until(lambda: _status(bot, suggestion) is SuggestionStatus.REJECTED, what="rejection")
    shown = "Too formal for a question about bins &amp; &lt;tips&gt;"  # escaped for Slack
    wait_until(
        lambda: _shows(fake_slack, message["ts"], f'rejected* by <@{APPROVER}>: "{shown}"'),
        what="the suggestion showing the reason, without buttons",
    )
    wait_until(
        lambda: any(
            shown in m["text"] and m["ts"] != message["ts"] for m in fake_slack.messages(CHANNEL)
        ),
        what="the note in the thread",
    )
    [entry] = _audit(bot, "suggestion.rejected")
    assert entry["by"] == APPROVER and entry["reason"] == reason and entry["version"] == 1
