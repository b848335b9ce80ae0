"""Slack messages become posts: the shortcut, 🚩 in an intake channel, and integrations'
alerts in an intake channel, each once, through the real Bolt app and the fake Slack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.demo.slack_requests import message_shortcut
from bot.fakeslack import FakeSlack
from bot.slack.ids import Shortcut
from tests.conftest import BOT_TOKEN, BotUnderTest, wait_until

INTAKE = "C0INTAKE01"
ELSEWHERE = "C0RANDOM01"
ALERTS_BOT = "B0MONITOR1"
ALERTS_APP = "A0MONITOR1"


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    channels = {"social-monitoring": INTAKE, "random": ELSEWHERE}
    with FakeSlack(bot_token=BOT_TOKEN, channels=channels) as slack:
        yield slack


@pytest.fixture
def config_dir(config_dir: Path) -> Path:
    desk = config_dir / "desk.yaml"
    text = desk.read_text(encoding="utf-8")
    text = text.replace(
        '# intake_channels:\n#   "#social-monitoring": council',
        # By name, so the bot has to ask Slack which channel that is.
        'intake_channels:\n  "#social-monitoring":\n'
        f"    account: fire\n    integrations: [{ALERTS_BOT}]",
    )
    desk.write_text(text, encoding="utf-8")
    return config_dir


def slack_posts(bot: BotUnderTest) -> list[dict[str, Any]]:
    """Every stored post that came from a Slack message."""
    return [
        post
        for theme in bot.store.open_themes()
        for post in bot.store.theme_posts(theme.theme.ref)
        if str(post.get("id", "")).startswith("slack-")
    ]


def wait_handled(bot: BotUnderTest, event_id: str) -> None:
    """Wait until the bot's listener has finished with the event (it was marked in
    progress before Slack got its answer)."""
    wait_until(lambda: not bot.store.event_in_progress(event_id), what=f"event {event_id} done")


def shortcut(bot: BotUnderTest, fake_slack: FakeSlack, channel: str, message: dict) -> dict:
    """Use "Send to comms desk" on `message`; the ephemeral reply the person saw."""
    response_url = fake_slack.response_url()
    body, content_type = message_shortcut(
        Shortcut.SEND_TO_DESK.value, channel_id=channel, message=message, response_url=response_url
    )
    assert bot.slack(body, content_type).status == 200
    wait_until(lambda: fake_slack.responses(response_url), what="the ephemeral reply")
    return fake_slack.responses(response_url)[-1]


def test_the_shortcut_makes_one_post_with_the_permalink(
    bot: BotUnderTest, fake_slack: FakeSlack
) -> None:
    message = fake_slack.post_as(
        "random", {"user": "U0STAFF02", "text": "Resident says the bins were missed on Elm St"}
    )
    first = shortcut(bot, fake_slack, ELSEWHERE, message)
    assert first["response_type"] == "ephemeral"
    assert "Thanks, flagged" in first["text"]
    [post] = slack_posts(bot)
    permalink = (
        f"https://commsdesk.slack.com/archives/{ELSEWHERE}/p{message['ts'].replace('.', '')}"
    )
    assert post["url"] == permalink
    assert post["account"] == "council"  # not an intake channel: the default account
    assert post["author"]["handle"] == "user.u0staff02"  # the Slack display name
    assert post["flagged_by"] == "U0STAFF01"
    again = shortcut(bot, fake_slack, ELSEWHERE, message)
    assert "already been flagged" in again["text"]
    assert len(slack_posts(bot)) == 1


def react(bot: BotUnderTest, channel: str, ts: str, *, event_id: str) -> None:
    event = {
        "type": "reaction_added",
        "user": "U0STAFF01",
        "reaction": "triangular_flag_on_post",
        "item": {"type": "message", "channel": channel, "ts": ts},
        "item_user": "U0STAFF02",
        "event_ts": ts,
    }
    assert bot.event(event, event_id=event_id).status == 200
    wait_handled(bot, event_id)


def test_a_flag_in_an_intake_channel_makes_one_post_and_elsewhere_nothing(
    bot: BotUnderTest, fake_slack: FakeSlack
) -> None:
    parent = fake_slack.post_as("social-monitoring", {"user": "U0STAFF02", "text": "Thread"})
    reply = fake_slack.post_as(
        "social-monitoring",
        {
            "user": "U0STAFF02",
            "text": "Smoke seen over the industrial estate",
            "thread_ts": parent["ts"],
        },
    )
    outside = fake_slack.post_as("random", {"user": "U0STAFF02", "text": "Smoke again"})
    react(bot, ELSEWHERE, outside["ts"], event_id="EvFlagElsewhere")
    assert slack_posts(bot) == []
    react(bot, INTAKE, reply["ts"], event_id="EvFlagReply")
    react(bot, INTAKE, reply["ts"], event_id="EvFlagReplyAgain")  # a second person's 🚩
    [post] = slack_posts(bot)
    assert post["text"] == "Smoke seen over the industrial estate"
    assert post["account"] == "fire"
    assert f"thread_ts={parent['ts']}" in post["url"]
    assert len(fake_slack.calls_to("chat.postEphemeral")) == 2


def alert(ts: str, **extra: Any) -> dict:
    return {
        "type": "message",
        "subtype": "bot_message",
        "channel": INTAKE,
        "channel_type": "channel",
        "bot_id": ALERTS_BOT,
        "username": "Brand Monitor",
        "ts": ts,
        "text": "New mention on X",
        "attachments": [
            {
                "fallback": "@resident_one: is the A38 closed?",
                "author_name": "@resident_one",
                "title": "Mention of Anyshire Fire",
                "title_link": "https://x.com/resident_one/status/1234567890",
                "text": "Is the A38 closed &amp; is anyone hurt?",
            }
        ],
    } | extra


def test_an_integrations_alert_is_one_post_despite_a_retry_and_an_edit(
    bot: BotUnderTest, fake_slack: FakeSlack
) -> None:
    stored = fake_slack.post_as("social-monitoring", alert("0"))
    event = alert(stored["ts"])
    assert bot.event(event, event_id="EvAlert").status == 200
    wait_handled(bot, "EvAlert")
    assert bot.event(event, event_id="EvAlert").status == 200  # Slack's retry
    edited = {
        "type": "message",
        "subtype": "message_changed",
        "channel": INTAKE,
        "hidden": True,
        "ts": "1700000999.000100",
        "message": event | {"text": "New mention on X (edited)", "edited": {"ts": "1"}},
        "previous_message": event,
    }
    assert bot.event(edited, event_id="EvAlertEdit").status == 200
    wait_handled(bot, "EvAlertEdit")
    [post] = slack_posts(bot)
    assert post["url"] == "https://x.com/resident_one/status/1234567890"
    assert post["network"] == "x"
    assert post["author"]["handle"] == "@resident_one"
    assert post["account"] == "fire"
    assert post["text"] == (
        "New mention on X\nMention of Anyshire Fire\nIs the A38 closed & is anyone hurt?"
    )
    assert post["flagged_by"] is None


def test_a_persons_message_in_an_intake_channel_is_not_taken_in_unasked(
    bot: BotUnderTest, fake_slack: FakeSlack
) -> None:
    person = fake_slack.post_as("social-monitoring", {"user": "U0STAFF02", "text": "Lunch?"})
    other_bot = fake_slack.post_as(
        "social-monitoring", alert("0", bot_id="B0SOMEONE1", text="Not a chosen integration")
    )
    for number, message in enumerate((person, other_bot)):
        event = message | {"channel": INTAKE, "channel_type": "channel"}
        assert bot.event(event, event_id=f"EvUnasked{number}").status == 200
        wait_handled(bot, f"EvUnasked{number}")
    assert slack_posts(bot) == []
    assert fake_slack.calls_to("chat.getPermalink") == []


def test_slack_markup_becomes_plain_text_and_is_shown_escaped(
    bot: BotUnderTest, fake_slack: FakeSlack
) -> None:
    text = "<!channel> see <https://example.org/a?b=1&amp;c=2|the page> &lt;b&gt;now&lt;/b&gt;"
    message = fake_slack.post_as("random", {"user": "U0STAFF02", "text": text})
    shortcut(bot, fake_slack, ELSEWHERE, message)
    [post] = slack_posts(bot)
    assert post["text"] == "@channel see the page (https://example.org/a?b=1&c=2) <b>now</b>"
    assert post["url"] == "https://example.org/a?b=1&c=2"

    def shown() -> str:
        desk_channels = set(fake_slack.channels()) - {"random", "social-monitoring"}
        return json.dumps([m for channel in desk_channels for m in fake_slack.messages(channel)])

    wait_until(lambda: "the page" in shown(), what="the post shown in Slack")
    everything = shown()
    assert "&lt;b&gt;now&lt;/b&gt;" in everything
    assert "<!channel>" not in everything
    assert "<b>now" not in everything
