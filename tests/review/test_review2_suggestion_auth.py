"""Suggested replies: a stranger (no desk member, no approver) changes no suggestion.

Editing a suggestion and choosing another template are for the account's desk members and
approvers (`ReplyDesk.may_change`).
"""

from __future__ import annotations

import json

from tests.conftest import BotUnderTest, intake_post, wait_until
from tests.e2e.test_replies import (
    STRANGER,
    _click,
    _ephemerals,
    _interaction,
    _suggestion_shown,
)
from tests.e2e.test_replies import config_dir as config_dir  # suggestions on


def _latest(bot: BotUnderTest, suggestion: str) -> int:
    return bot.store.suggestion(suggestion).latest.n


def test_a_strangers_edit_submission_makes_no_new_version(bot: BotUnderTest, fake_slack) -> None:
    assert bot.intake(intake_post("8101")).status == 202
    suggestion, _ = _suggestion_shown(bot, fake_slack)
    submission = {
        "type": "view_submission",
        "team": {"id": "T0COMMS"},
        "user": {"id": STRANGER},
        "api_app_id": "A0COMMSBOT",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": "suggestion_edit_view",
            "private_metadata": json.dumps({"s": suggestion, "v": 1}, separators=(",", ":")),
            "state": {
                "values": {"text": {"text": {"type": "plain_text_input", "value": "Call 0900!"}}}
            },
        },
    }
    answer = _interaction(bot, submission)
    assert answer.status == 200
    assert answer.body and answer.json().get("response_action") == "errors"
    assert _latest(bot, suggestion) == 1


def test_a_stranger_pressing_edit_is_refused_and_gets_no_modal(
    bot: BotUnderTest, fake_slack
) -> None:
    assert bot.intake(intake_post("8102")).status == 202
    _, message = _suggestion_shown(bot, fake_slack)
    assert _click(bot, fake_slack, "suggestion_edit", message, user=STRANGER).status == 200
    wait_until(lambda: _ephemerals(fake_slack, STRANGER), timeout=3, what="a refusal")
    assert fake_slack.calls_to("views.open") == []


def test_a_strangers_template_choice_is_refused_and_makes_no_new_version(
    bot: BotUnderTest, fake_slack
) -> None:
    assert bot.intake(intake_post("8103")).status == 202
    suggestion, message = _suggestion_shown(bot, fake_slack)
    menu = next(
        e
        for block in message["blocks"]
        for e in block.get("elements") or []
        if e.get("action_id") == "suggestion_template"
    )
    chosen = menu["options"][0]
    payload = {
        "type": "block_actions",
        "team": {"id": "T0COMMS"},
        "user": {"id": STRANGER},
        "api_app_id": "A0COMMSBOT",
        "trigger_id": "1337.42.abcdef",
        "channel": {"id": fake_slack.channel_id("#comms-enquiries")},
        "container": {"type": "message", "message_ts": message["ts"]},
        "message": {"ts": message["ts"], "blocks": message["blocks"]},
        "actions": [
            {
                "action_id": "suggestion_template",
                "block_id": "b",
                "type": "static_select",
                "selected_option": chosen,
                "action_ts": "1.1",
            }
        ],
    }
    assert _interaction(bot, payload).status == 200
    wait_until(lambda: _ephemerals(fake_slack, STRANGER), timeout=3, what="a refusal")
    assert _latest(bot, suggestion) == 1
