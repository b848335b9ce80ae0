"""The outbox: Slack errors, rate limits and outages delay what Slack shows but lose nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.conftest import BotUnderTest, intake_post, wait_until
from tests.e2e.views import all_shown, blocks_text, parents, replies, shown, thread_text

NOW_UTC = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)

ENQUIRIES = "#comms-enquiries"
COMPLAINTS = "#customer-complaints"
# Posts each about something else: each opens a theme of its own.
DIFFERENT = [
    "When is the library in Hadleigh open?",
    "How do I apply for a parking permit?",
    "How do I report a pothole on the B1070?",
    "Is the swimming pool open on Sunday?",
]


def test_server_errors_are_retried(bot: BotUnderTest, fake_slack) -> None:
    fake_slack.server_error("chat.postMessage", status=503, times=2)
    bot.intake(intake_post("3002"))
    wait_until(lambda: fake_slack.messages(ENQUIRIES), what="delivery after two 503s")


def test_order_is_kept_in_the_thread_while_slack_is_down(bot: BotUnderTest, fake_slack) -> None:
    fake_slack.go_down()
    for n in range(5):
        bot.intake(intake_post(f"310{n}", text=f"When is the library open? question {n}"))
    fake_slack.come_up()
    all_shown(bot)
    [parent] = parents(fake_slack, ENQUIRIES)  # one theme: one parent
    listed = thread_text(fake_slack, ENQUIRIES)
    positions = [listed.index(f"question {n}") for n in range(5)]
    assert positions == sorted(positions)  # every post, in the order it arrived
    assert "T-0001" in blocks_text(parent)


def test_channel_not_found_is_kept_as_a_dead_letter(bot: BotUnderTest, fake_slack) -> None:
    fake_slack.fail("chat.postMessage", "channel_not_found")
    bot.intake(intake_post("3201", text=DIFFERENT[0]))
    wait_until(
        lambda: bot.store.outbox_stats(bot.runtime.services.clock()).dead == 1, what="a dead letter"
    )
    assert bot.store.dead_letters() == [f"T-0001 in {ENQUIRIES}: channel_not_found"]
    # The desk is told in its alerts channel, naming the theme, the channel and Slack's answer.
    wait_until(lambda: fake_slack.messages("#comms-desk-alerts"), what="the alert")
    [notice] = fake_slack.messages("#comms-desk-alerts")
    assert "#comms-enquiries" in notice["text"] and "channel_not_found" in notice["text"]
    assert "T-0001" in notice["text"]
    # Other themes still flow.
    bot.intake(intake_post("3202", text=DIFFERENT[1]))
    wait_until(lambda: fake_slack.messages(ENQUIRIES), what="the next post")


def test_a_refused_view_is_tried_again_when_its_theme_changes(
    bot: BotUnderTest, fake_slack
) -> None:
    fake_slack.fail("chat.postMessage", "invalid_blocks")
    bot.intake(intake_post("3601", text="When is the library open on Sunday? first"))
    wait_until(
        lambda: bot.store.outbox_stats(bot.runtime.services.clock()).dead == 1, what="refused"
    )
    bot.intake(intake_post("3602", text="When is the library open on Sunday? second"))
    all_shown(bot)
    everything = shown(fake_slack, ENQUIRIES)
    assert "first" in everything and "second" in everything
    assert bot.store.outbox_stats(bot.runtime.services.clock()).dead == 0
    assert len(fake_slack.messages("#comms-desk-alerts")) == 1  # told once


def test_nothing_is_lost_when_slack_is_down_across_a_restart(
    start_bot, fake_slack, tmp_path
) -> None:
    data = tmp_path / "data"
    first = start_bot(data_dir=data)
    fake_slack.go_down()
    for n in range(3):
        post = intake_post(f"330{n}", text=f"Is the park cafe open? number {n}")
        assert first.intake(post).status == 202
    first.stop()
    fake_slack.come_up()
    second = start_bot(data_dir=data)
    all_shown(second)
    everything = shown(fake_slack, ENQUIRIES)
    positions = [everything.rindex(f"number {n}") for n in range(3)]
    assert positions == sorted(positions)
    record = second.store.get_post_record("x:3300")
    view = second.store.theme(record["theme"]).view(ENQUIRIES)
    assert view.channel_id == fake_slack.channel_id("comms-enquiries")


def test_a_very_long_post_is_cut_to_fit_and_delivered(bot: BotUnderTest, fake_slack) -> None:
    long_text = "When will the road reopen?\n" + "The diversion is awful & long.\n" * 300
    bot.intake(intake_post("3401", text=long_text))
    wait_until(lambda: fake_slack.messages(ENQUIRIES), what="the long post delivered")
    [call] = fake_slack.calls_to("chat.postMessage")
    assert call.ok
    [quoted] = [
        block["text"]["text"]
        for block in call.params["blocks"]
        if block["type"] == "section" and block["text"]["text"].startswith("&gt;")
    ]
    assert quoted.endswith("&gt; …") and len(quoted) <= 3000
    assert bot.store.outbox_stats(bot.runtime.services.clock()).dead == 0


def test_a_dead_letter_does_not_hold_up_its_channel(bot: BotUnderTest, fake_slack) -> None:
    fake_slack.go_down()
    bot.intake(intake_post("3501", text=DIFFERENT[2]))
    bot.intake(intake_post("3502", text=DIFFERENT[3]))
    fake_slack.fail("chat.postMessage", "invalid_blocks")
    fake_slack.come_up()
    wait_until(lambda: len(parents(fake_slack, ENQUIRIES)) == 1, what="the second theme")
    all_shown(bot)
    assert bot.store.outbox_stats(bot.runtime.services.clock()).dead == 1
    assert "pothole" not in shown(fake_slack, ENQUIRIES)
    assert "swimming pool" in shown(fake_slack, ENQUIRIES)


def test_no_alert_loop_when_the_alerts_channel_itself_fails(bot: BotUnderTest, fake_slack) -> None:
    bot.runtime.services.desk.report_undeliverable(
        channel="#comms-desk-alerts",
        what={"message": "undeliverable"},
        error="channel_not_found",
        now=NOW_UTC,
    )
    assert bot.store.outbox_items() == []


def test_a_theme_thread_keeps_up_with_new_posts(bot: BotUnderTest, fake_slack) -> None:
    """A quiet desk sees each post as it comes: the parent, then digests in the thread."""
    bot.intake(intake_post("3701", text="The bins on Elm Road have not been collected"))
    all_shown(bot)
    [parent] = parents(fake_slack, COMPLAINTS)
    assert replies(fake_slack, COMPLAINTS, parent) == []  # one post: shown in the parent
    bot.intake(intake_post("3702", text="Elm Road bins still not collected, third week"))
    all_shown(bot)
    [parent] = parents(fake_slack, COMPLAINTS)
    [digest] = replies(fake_slack, COMPLAINTS, parent)
    assert "2 new posts" in blocks_text(digest)  # the first post moves into the thread too
    assert "2 posts in this channel" in blocks_text(parent)
    assert [c.params["ts"] for c in fake_slack.calls_to("chat.update")] == [parent["ts"]]
