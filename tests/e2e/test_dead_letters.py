"""Desk admins list what Slack refused for good and send it again once the cause is fixed."""

from __future__ import annotations

from tests.conftest import BotUnderTest, intake_post, wait_until

ENQUIRIES = "#comms-enquiries"
ALERTS = "#comms-desk-alerts"


def _dead(bot: BotUnderTest) -> int:
    return bot.store.outbox_stats(bot.runtime.services.clock()).dead


def test_admins_list_dead_letters_and_send_them_again(bot: BotUnderTest, fake_slack) -> None:
    fake_slack.fail("chat.postMessage", "not_in_channel")
    bot.intake(intake_post("d1", text="When is the library in Hadleigh open?"))
    wait_until(lambda: _dead(bot) == 1, what="a dead letter")
    # The alert says what the message was: the theme, its title and size.
    wait_until(lambda: fake_slack.messages(ALERTS), what="the alert")
    [alert] = fake_slack.messages(ALERTS)
    assert "T-0001" in alert["text"] and "1 post" in alert["text"]
    assert "library" in alert["text"].lower() and "/comms outbox retry" in alert["text"]

    listed = bot.command("outbox").json()["text"]
    assert "1. theme `T-0001`" in listed and "not_in_channel" in listed
    assert ENQUIRIES in listed

    # The bot was invited (the cause fixed): one retry and the view reaches Slack.
    assert "There is no undelivered message 2" in bot.command("outbox retry 2").json()["text"]
    answer = bot.command("outbox retry 1").json()["text"]
    assert "Sent 1 again" in answer
    wait_until(lambda: fake_slack.messages(ENQUIRIES), what="the view delivered after the retry")
    assert _dead(bot) == 0
    assert "Nothing is undelivered" in bot.command("outbox").json()["text"]
    audit = [
        e
        for e in bot.store.audit_entries(bot.runtime.services.clock().date())
        if e["action"] == "outbox.retried"
    ]
    assert audit and audit[0]["by"] == "U0STAFF01"


def test_someone_who_is_not_an_admin_cannot_see_or_resend_them(
    bot: BotUnderTest, fake_slack
) -> None:
    fake_slack.fail("chat.postMessage", "channel_not_found")
    bot.intake(intake_post("d2", text="When is the library in Hadleigh open?"))
    wait_until(lambda: _dead(bot) == 1, what="a dead letter")
    for text in ("outbox", "outbox retry all"):
        answer = bot.command(text, user_id="U0STRANGER1").json()["text"]
        assert "only desk admins" in answer
    assert _dead(bot) == 1
