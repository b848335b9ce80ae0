"""Suggested replies end to end: shown in the theme's thread, approved by button or reaction,
edited, refused politely, and published by the manual publisher."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.core.approval import SuggestionStatus
from bot.core.theme_state import ThemeStatus
from tests.conftest import BotUnderTest, intake_post, wait_until

APPROVER, OTHER_APPROVER, STRANGER = "U0APPROVE1", "U0APPROVE2", "U0STRANGER9"
CHANNEL = "#comms-enquiries"


@pytest.fixture
def config_dir(config_dir: Path) -> Path:
    """The test configuration with suggested replies switched on."""
    desk = config_dir / "desk.yaml"
    text = desk.read_text(encoding="utf-8")
    desk.write_text(text.replace("suggest_in_threads: false", "suggest_in_threads: true"))
    return config_dir


def _interaction(bot: BotUnderTest, payload: dict[str, Any]):
    body = urlencode({"payload": json.dumps(payload)}).encode("utf-8")
    return bot.slack(body, "application/x-www-form-urlencoded")


def _suggestion_shown(bot: BotUnderTest, fake_slack, version: int = 1) -> tuple[str, dict]:
    """Wait for a theme's suggestion (version `version`) in its thread; (id, message)."""
    found: dict[str, Any] = {}

    def shown() -> bool:
        for message in fake_slack.messages(CHANNEL):
            for block in message.get("blocks") or []:
                for element in block.get("elements") or []:
                    if element.get("action_id") == "suggestion_approve":
                        value = json.loads(element["value"])
                        if value["v"] == version and bot.store.suggestion_message(message["ts"]):
                            found.update(message=message, value=value)
                            return True
        return False

    wait_until(shown, what=f"suggestion version {version} in the thread")
    return found["value"]["s"], found["message"]


def _click(bot, fake_slack, action: str, message: dict, *, user: str, value: str | None = None):
    element = next(
        e
        for block in message["blocks"]
        for e in block.get("elements") or []
        if e.get("action_id") in ("suggestion_approve", action)
    )
    return _interaction(
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
                    "action_id": action,
                    "block_id": "b",
                    "type": "button",
                    "value": value or element["value"],
                    "action_ts": "1.1",
                }
            ],
        },
    )


def _react(bot, fake_slack, message: dict, *, user: str, name: str, event_id: str):
    return bot.event(
        {
            "type": "reaction_added",
            "user": user,
            "reaction": name,
            "item": {
                "type": "message",
                "channel": fake_slack.channel_id(CHANNEL),
                "ts": message["ts"],
            },
            "event_ts": "1.2",
        },
        event_id=event_id,
    )


def _status(bot: BotUnderTest, suggestion: str) -> SuggestionStatus:
    return bot.store.suggestion(suggestion).status


def _ephemerals(fake_slack, user: str) -> list[str]:
    return [
        c.params["text"]
        for c in fake_slack.calls_to("chat.postEphemeral")
        if c.params["user"] == user
    ]


def test_approve_by_button_shows_the_text_to_copy_and_posted_marks_the_theme_answered(
    bot: BotUnderTest, fake_slack
) -> None:
    assert bot.intake(intake_post("2001")).status == 202
    suggestion, message = _suggestion_shown(bot, fake_slack)
    assert _click(bot, fake_slack, "suggestion_approve", message, user=APPROVER).status == 200
    wait_until(lambda: _status(bot, suggestion) is SuggestionStatus.APPROVED, what="approval")

    def ready() -> dict | None:
        # Shown in Slack and recorded by the bot (a click before that is "not this message").
        for m in fake_slack.messages(CHANNEL):
            if "Ready to post" in (m.get("text") or "") and bot.store.suggestion_message(m["ts"]):
                return m
        return None

    wait_until(lambda: ready() is not None, what="the text ready to copy")
    copy = ready()
    record = bot.store.suggestion(suggestion)
    assert record.latest.text.split("\n")[0][:40] in copy["text"].replace("&amp;", "&")
    assert f"<@{APPROVER}>" in copy["text"]
    posted = next(
        e["value"]
        for b in copy["blocks"]
        for e in b.get("elements") or []
        if e.get("action_id") == "suggestion_posted"
    )
    answer = _click(bot, fake_slack, "suggestion_posted", copy, user=OTHER_APPROVER, value=posted)
    assert answer.status == 200
    wait_until(
        lambda: bot.store.theme(record.theme).theme.status is ThemeStatus.ANSWERED,
        what="the theme marked answered",
    )
    assert _status(bot, suggestion) is SuggestionStatus.PUBLISHED


def test_approve_by_reaction_replayed_counts_once_and_strangers_are_told_politely(
    bot: BotUnderTest, fake_slack
) -> None:
    assert bot.intake(intake_post("2002")).status == 202
    suggestion, message = _suggestion_shown(bot, fake_slack)
    _react(bot, fake_slack, message, user=STRANGER, name="white_check_mark", event_id="Ev1")
    wait_until(lambda: _ephemerals(fake_slack, STRANGER), what="a private explanation")
    assert "not one of the approvers" in _ephemerals(fake_slack, STRANGER)[0]
    assert _status(bot, suggestion) is SuggestionStatus.PENDING
    for _ in range(2):  # Slack retries the same event
        _react(bot, fake_slack, message, user=APPROVER, name="white_check_mark", event_id="Ev2")
    wait_until(lambda: _status(bot, suggestion) is SuggestionStatus.APPROVED, what="approval")
    approvals = bot.store.suggestion(suggestion).approvals
    assert [a.by for a in approvals] == [APPROVER]
    audit = [
        e
        for e in bot.store.iter_audit(approvals[0].at.date(), approvals[0].at.date())
        if e.get("action") == "suggestion.approved"
    ]
    assert len(audit) == 1


def test_an_edit_is_a_new_version_with_its_diff_and_its_editor_cannot_approve_it(
    bot: BotUnderTest, fake_slack
) -> None:
    assert bot.intake(intake_post("2003")).status == 202
    suggestion, message = _suggestion_shown(bot, fake_slack)
    _click(bot, fake_slack, "suggestion_edit", message, user=APPROVER)
    opened = fake_slack.wait_for_calls("views.open", 1)[0].params["view"]
    assert opened["private_metadata"] == json.dumps(
        {"s": suggestion, "v": 1}, separators=(",", ":")
    )
    old = opened["blocks"][0]["element"]["initial_value"]
    submission = {
        "type": "view_submission",
        "team": {"id": "T0COMMS"},
        "user": {"id": APPROVER},
        "api_app_id": "A0COMMSBOT",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": "suggestion_edit_view",
            "private_metadata": opened["private_metadata"],
            "state": {"values": {"text": {"text": {"type": "plain_text_input", "value": ""}}}},
        },
    }
    empty = _interaction(bot, submission)
    assert empty.json()["response_action"] == "errors"
    submission["view"]["state"]["values"]["text"]["text"]["value"] = "Thanks, we are on it. " + old
    assert _interaction(bot, submission).status == 200
    _, edited = _suggestion_shown(bot, fake_slack, version=2)
    assert "*Thanks,*" in edited["text"] or "*Thanks," in edited["text"]
    _click(bot, fake_slack, "suggestion_approve", edited, user=APPROVER)
    wait_until(lambda: _ephemerals(fake_slack, APPROVER), what="self-approval refused")
    assert "nobody approves a version they wrote or edited" in _ephemerals(fake_slack, APPROVER)[0]
    assert _status(bot, suggestion) is SuggestionStatus.PENDING
    _click(bot, fake_slack, "suggestion_approve", message, user=OTHER_APPROVER)  # old version
    wait_until(lambda: _ephemerals(fake_slack, OTHER_APPROVER), what="stale version refused")
    _click(bot, fake_slack, "suggestion_approve", edited, user=OTHER_APPROVER)
    wait_until(lambda: _status(bot, suggestion) is SuggestionStatus.APPROVED, what="approval")
    assert bot.store.suggestion(suggestion).approvals[0].version == 2
