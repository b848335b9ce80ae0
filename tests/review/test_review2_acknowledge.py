"""Only an officer an escalation was sent to acknowledges it: anyone else's 👀 or button
(a stranger, or a forged button value naming another escalation) stops nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.demo.slack_requests import block_actions
from bot.fakeslack import FakeSlack
from bot.scheduling import jobs
from bot.slack.clock_messages import ACK_ACTION
from tests.conftest import BotUnderTest, fixed_clock, intake_post, wait_until

MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
FOI_LEAD, HEAD_OF_COMMS, STRANGER = "U0EXAMPLE02", "U0EXAMPLE01", "U0STRANGER7"
FOI_TEXT = "Under the Freedom of Information Act, how much did the council spend on taxis?"


def _escalated(start_bot, fake_slack: FakeSlack) -> tuple[BotUnderTest, str, str, str, dict]:
    """A bot whose FOI theme was escalated by DM to the FOI lead: (bot, ref, id, DM channel, DM)."""
    bot: BotUnderTest = start_bot(clock=fixed_clock(MONDAY_10))
    assert bot.intake(intake_post("7001", text=FOI_TEXT)).status in (200, 202)
    jobs.sweep_clocks(bot.runtime.services, MONDAY_10)
    wait_until(lambda: fake_slack.messages(FOI_LEAD), what="the DM to the FOI lead")
    dm = fake_slack.messages(FOI_LEAD)[0]
    channel = fake_slack.channel_id(FOI_LEAD)
    wait_until(
        lambda: bot.store.escalation_for_dm(channel, dm["ts"]) is not None,
        what="the DM's place recorded",
    )
    ref, escalation_id = bot.store.escalation_for_dm(channel, dm["ts"])
    return bot, ref, escalation_id, channel, dm


def _handled(bot: BotUnderTest, event_id: str) -> bool:
    """Whether the bot finished handling an event (its id is recorded against retries)."""
    with bot.store.lock:
        return bot.store._events.handled(event_id, now=MONDAY_10)


def _press(bot: BotUnderTest, fake: FakeSlack, value: str, *, user: str, channel: str) -> None:
    body, content_type = block_actions(
        ACK_ACTION, value, user_id=user, channel_id=channel, response_url=fake.response_url()
    )
    assert bot.slack(body, content_type).status == 200


def test_a_stranger_pressing_acknowledge_leaves_the_escalation_running(
    start_bot, fake_slack: FakeSlack
) -> None:
    bot, ref, escalation_id, _, _ = _escalated(start_bot, fake_slack)
    before = len(fake_slack.calls_to("chat.postEphemeral"))
    _press(bot, fake_slack, f"{ref}|{escalation_id}", user=STRANGER, channel="C0ELSEWHERE")
    [*_, refusal] = fake_slack.wait_for_calls("chat.postEphemeral", before + 1)
    assert refusal.params["user"] == STRANGER
    assert "only the officers" in refusal.params["text"].lower()
    assert bot.store.theme(ref).escalation(escalation_id).acknowledged_at is None
    jobs.sweep_clocks(bot.runtime.services, MONDAY_10 + timedelta(hours=5))
    wait_until(lambda: fake_slack.messages(HEAD_OF_COMMS), what="the next level still told")


def test_the_officer_told_acknowledges_with_the_button(start_bot, fake_slack: FakeSlack) -> None:
    bot, ref, escalation_id, channel, _ = _escalated(start_bot, fake_slack)
    _press(bot, fake_slack, f"{ref}|{escalation_id}", user=FOI_LEAD, channel=channel)
    # The button is answered first and acted on after (Slack's 3 s), so wait for the record.
    wait_until(
        lambda: bot.store.theme(ref).escalation(escalation_id).acknowledged_by == FOI_LEAD,
        what="the acknowledgement recorded",
    )
    assert bot.store.theme(ref).escalation(escalation_id).acknowledged_by == FOI_LEAD


def test_a_strangers_eyes_on_the_dm_acknowledge_nothing(start_bot, fake_slack: FakeSlack) -> None:
    bot, ref, escalation_id, channel, dm = _escalated(start_bot, fake_slack)
    eyes = {
        "type": "reaction_added",
        "user": STRANGER,
        "reaction": "eyes",
        "item": {"type": "message", "channel": channel, "ts": dm["ts"]},
        "event_ts": "1772445600.000200",
    }
    assert bot.event(eyes, event_id="EvStrangerEyes").status == 200
    wait_until(lambda: _handled(bot, "EvStrangerEyes"), what="the stranger's reaction handled")
    assert bot.store.theme(ref).escalation(escalation_id).acknowledged_at is None
