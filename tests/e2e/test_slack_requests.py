"""Slack's own traffic end to end: signed slash commands and events through the real Bolt app."""

from __future__ import annotations

import json
import time

from tests.conftest import BotUnderTest, wait_until


def test_comms_flag_routes_the_post_and_replies_privately(bot: BotUnderTest, fake_slack) -> None:
    answer = bot.command(
        "flag https://x.com/angry_dave/status/555 the bins on Elm Road have not been collected for the third week running, disgraceful"
    )
    assert answer.status == 200
    reply = answer.json()["text"]
    assert "#customer-complaints" in reply
    wait_until(lambda: fake_slack.messages("#customer-complaints"), what="the flagged post")
    [message] = fake_slack.messages("#customer-complaints")
    shown = json.dumps(message["blocks"])
    assert "@angry_dave" in shown
    assert "U0STAFF01" in shown  # who flagged it


def test_flagging_the_same_link_twice_sends_it_once(bot: BotUnderTest, fake_slack) -> None:
    bot.command("flag https://www.facebook.com/anyshire/posts/42 when does the tip open?")
    again = bot.command("flag https://www.facebook.com/anyshire/posts/42 when does the tip open?")
    assert "already been flagged" in again.json()["text"]
    wait_until(lambda: fake_slack.calls_to("chat.postMessage"), what="delivery")
    bot.runtime.outbox.deliver_due()
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_flag_can_name_another_account(bot: BotUnderTest, fake_slack) -> None:
    answer = bot.command(
        "flag fire https://www.facebook.com/anyshirefire/posts/1 how do I get a free home fire safety visit?"
    )
    assert "#fire-enquiries" in answer.json()["text"]
    # Without a link the words are all the post's own: "fire alarm" is not the fire account.
    text_only = bot.command("flag fire alarm going off at the care home and nobody is answering")
    assert "#comms-urgent" in text_only.json()["text"]


def test_flag_without_anything_to_flag_explains_how(bot: BotUnderTest, fake_slack) -> None:
    answer = bot.command("flag")
    assert answer.status == 200
    assert "/comms flag <link to the post>" in answer.json()["text"]
    assert fake_slack.calls_to("chat.postMessage") == []


def test_help_lists_every_subcommand(bot: BotUnderTest) -> None:
    text = bot.command("help").json()["text"]
    assert "/comms flag" in text and "/comms help" in text
    unknown = bot.command("frobnicate").json()["text"]
    assert "I don't know `/comms frobnicate`" in unknown


def test_slash_command_with_bad_signature_is_refused(bot: BotUnderTest, fake_slack) -> None:
    from bot.demo.slack_requests import slash_command

    body, content_type = slash_command("flag https://x.com/a/status/1 help")
    assert bot.slack(body, content_type, secret="wrong-secret").status == 401
    stale = int(time.time()) - 60 * 10
    assert bot.slack(body, content_type, timestamp=stale).status == 401
    assert bot.store.outbox_stats(bot.runtime.services.clock()).pending == 0
    assert [c.method for c in fake_slack.calls] == ["auth.test"]  # at start-up only


def test_the_same_event_delivered_twice_is_handled_once(bot: BotUnderTest, fake_slack) -> None:
    event = {"type": "app_home_opened", "user": "U0STAFF01", "channel": "D0HOME", "tab": "home"}
    first = bot.event(event, event_id="Ev0001")
    retry = bot.event(event, event_id="Ev0001")
    assert (first.status, retry.status) == (200, 200)
    bot.event(event, event_id="Ev0002")
    # Every listener Bolt started for these three requests finishes here.
    bot.runtime.listeners.shutdown(wait=True)
    assert len(fake_slack.calls_to("views.publish")) == 2


def test_home_tab_shows_backlog_and_routes(bot: BotUnderTest, fake_slack) -> None:
    fake_slack.server_error("chat.postMessage", status=503, times=1000)  # keeps it waiting
    bot.command("flag a post about something")
    bot.event({"type": "app_home_opened", "user": "U0STAFF02", "tab": "home"}, event_id="Ev0100")
    [call] = fake_slack.wait_for_calls("views.publish", 1)
    view = json.dumps(call.params["view"])
    assert "Anyshire Fire and Rescue Service" in view
    assert "#info-governance-foi" in view
    assert "1 post flagged" in view
    assert "1 update waiting to reach Slack channels" in view


def test_flag_with_a_chosen_category_and_no_words(bot: BotUnderTest, fake_slack) -> None:
    answer = bot.command("flag fire urgent https://x.com/someone/status/77")
    assert "#fire-control-urgent" in answer.json()["text"]
    wait_until(lambda: fake_slack.messages("#fire-control-urgent"), what="the flagged post")
    shown = json.dumps(fake_slack.messages("#fire-control-urgent")[0]["blocks"])
    assert "No words were given" in shown
    assert "category chosen by the person who flagged it" in shown


def test_home_tab_counts_today_in_london_not_utc(start_bot, fake_slack) -> None:
    from datetime import UTC, datetime

    now = [datetime(2026, 7, 1, 22, 30, tzinfo=UTC)]  # 23:30 on 1 July in London (BST)
    bot = start_bot(clock=lambda: now[0])
    bot.command("flag when does the library open on Sunday?")
    now[0] = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)  # 00:30 on 2 July in London
    bot.command("flag is the tip open on Monday?")
    bot.event({"type": "app_home_opened", "user": "U0STAFF03", "tab": "home"}, event_id="Ev0200")
    [call] = fake_slack.wait_for_calls("views.publish", 1)
    assert "*Today:* 1 post flagged" in json.dumps(call.params["view"])


def test_a_failed_event_handlers_retry_is_processed(bot: BotUnderTest, fake_slack) -> None:
    fake_slack.fail("views.publish", "internal_error")
    event = {"type": "app_home_opened", "user": "U0STAFF04", "tab": "home"}
    assert bot.event(event, event_id="EvFail1").status == 200
    wait_until(lambda: fake_slack.calls_to("views.publish"), what="the failed attempt")
    wait_until(lambda: not bot.store.event_in_progress("EvFail1"), what="the failure handled")
    # Slack's retry of the failed event is handled this time...
    assert bot.event(event, event_id="EvFail1").status == 200
    wait_until(lambda: fake_slack.home_view("U0STAFF04") is not None, what="the Home tab")
    # ...and once handled, another retry is not.
    assert bot.event(event, event_id="EvFail1").status == 200
    bot.runtime.listeners.shutdown(wait=True)
    assert len(fake_slack.calls_to("views.publish")) == 2


def test_a_retry_while_the_first_delivery_is_at_work_is_ignored(
    bot: BotUnderTest, fake_slack
) -> None:
    fake_slack.delay("views.publish", seconds=0.5)
    event = {"type": "app_home_opened", "user": "U0STAFF05", "tab": "home"}
    assert bot.event(event, event_id="EvSlow1").status == 200
    assert bot.event(event, event_id="EvSlow1").status == 200  # while the first is at work
    bot.runtime.listeners.shutdown(wait=True)
    assert len(fake_slack.calls_to("views.publish")) == 1
    assert fake_slack.home_view("U0STAFF05") is not None
