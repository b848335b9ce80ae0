"""The outbox: Slack errors, rate limits and outages delay delivery but lose nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.conftest import BotUnderTest, intake_post, wait_until

NOW_UTC = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)

ENQUIRIES = "#comms-enquiries"


def _texts(fake_slack, channel: str) -> list[str]:
    return [m["text"] for m in fake_slack.messages(channel)]


def test_server_errors_are_retried(bot: BotUnderTest, fake_slack) -> None:
    fake_slack.server_error("chat.postMessage", status=503, times=2)
    bot.intake(intake_post("3002"))
    wait_until(lambda: fake_slack.messages(ENQUIRIES), what="delivery after two 503s")


def test_order_is_kept_per_channel_while_slack_is_down(bot: BotUnderTest, fake_slack) -> None:
    fake_slack.go_down()
    for n in range(5):
        bot.intake(intake_post(f"310{n}", text=f"When is the library open? question {n}"))
    fake_slack.come_up()
    wait_until(lambda: len(fake_slack.messages(ENQUIRIES)) == 5, what="all five delivered")
    texts = [str(m["blocks"]) for m in fake_slack.messages(ENQUIRIES)]
    assert all(f"question {n}" in texts[n] for n in range(5))


def test_channel_not_found_is_kept_as_a_dead_letter(bot: BotUnderTest, fake_slack) -> None:
    fake_slack.fail("chat.postMessage", "channel_not_found")
    bot.intake(intake_post("3201"))
    wait_until(
        lambda: bot.store.outbox_stats(bot.runtime.services.clock()).dead == 1, what="a dead letter"
    )
    dead = [item for item in bot.store.outbox_items() if item.dead]
    assert [item.last_error for item in dead] == ["channel_not_found"]
    # The desk is told in its alerts channel, naming the channel and what Slack said.
    wait_until(lambda: fake_slack.messages("#comms-desk-alerts"), what="the alert")
    [notice] = fake_slack.messages("#comms-desk-alerts")
    assert "#comms-enquiries" in notice["text"] and "channel_not_found" in notice["text"]
    # Other posts still flow.
    bot.intake(intake_post("3202"))
    wait_until(lambda: fake_slack.messages(ENQUIRIES), what="the next post")


def test_nothing_is_lost_when_slack_is_down_across_a_restart(
    start_bot, fake_slack, tmp_path
) -> None:
    data = tmp_path / "data"
    first = start_bot(data_dir=data)
    fake_slack.go_down()
    for n in range(3):
        assert (
            first.intake(intake_post(f"330{n}", text=f"Is the park cafe open? number {n}")).status
            == 202
        )
    first.stop()
    fake_slack.come_up()
    second = start_bot(data_dir=data)
    wait_until(lambda: len(fake_slack.messages(ENQUIRIES)) == 3, what="delivery after restart")
    shown = [str(m["blocks"]) for m in fake_slack.messages(ENQUIRIES)]
    assert all(f"number {n}" in shown[n] for n in range(3))
    wait_until(
        lambda: second.store.outbox_stats(second.runtime.services.clock()).pending == 0,
        what="the outbox to empty",
    )
    record = second.store.get_post_record("x:3300")
    assert record["delivery"]["channel_id"] == fake_slack.channel_id("comms-enquiries")


def test_a_very_long_post_is_cut_to_fit_and_delivered(bot: BotUnderTest, fake_slack) -> None:
    long_text = "When will the road reopen?\n" + "The diversion is awful & long.\n" * 300
    bot.intake(intake_post("3401", text=long_text))
    wait_until(lambda: fake_slack.messages(ENQUIRIES), what="the long post delivered")
    [call] = fake_slack.calls_to("chat.postMessage")
    assert call.ok
    quoted = call.params["blocks"][1]["text"]["text"]
    assert quoted.endswith("&gt; …")
    assert bot.store.outbox_stats(bot.runtime.services.clock()).dead == 0


def test_a_dead_letter_does_not_hold_up_its_channel(bot: BotUnderTest, fake_slack) -> None:
    fake_slack.go_down()
    bot.intake(intake_post("3501", text="When is the library open? first"))
    bot.intake(intake_post("3502", text="When is the library open? second"))
    fake_slack.fail("chat.postMessage", "invalid_blocks")
    fake_slack.come_up()
    wait_until(lambda: len(fake_slack.messages(ENQUIRIES)) == 1, what="the second message")
    assert bot.store.outbox_stats(bot.runtime.services.clock()).dead == 1
    assert "second" in str(fake_slack.messages(ENQUIRIES)[0]["blocks"])


def test_no_alert_loop_when_the_alerts_channel_itself_fails(bot: BotUnderTest, fake_slack) -> None:
    bot.runtime.services.desk.report_undeliverable(
        channel="#comms-desk-alerts", post_key=None, error="channel_not_found", now=NOW_UTC
    )
    assert bot.store.outbox_items() == []
