"""End to end: an FOI post escalates to the FOI lead by DM; 👀 on the DM stops the next
level; the App Home shows the clocks; /comms queue, mine, assign and crisis answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.fakeslack import FakeSlack
from bot.scheduling import jobs
from tests.conftest import BotUnderTest, fixed_clock, intake_post, wait_until

MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
FOI_LEAD, HEAD_OF_COMMS = "U0EXAMPLE02", "U0EXAMPLE01"
FOI_TEXT = "Under the Freedom of Information Act, how much did the council spend on taxis?"


def test_escalation_dm_acknowledged_by_reaction_stops_the_next_level(
    start_bot, fake_slack: FakeSlack
) -> None:
    bot: BotUnderTest = start_bot(clock=fixed_clock(MONDAY_10))
    assert bot.intake(intake_post("2001", text=FOI_TEXT)).status in (200, 202)
    services = bot.runtime.services
    jobs.sweep_clocks(services, MONDAY_10)
    wait_until(lambda: fake_slack.messages(FOI_LEAD), what="the DM to the FOI lead")
    dm = fake_slack.messages(FOI_LEAD)[0]
    assert "escalated to you" in dm["text"]
    channel = fake_slack.channel_id(FOI_LEAD)
    wait_until(
        lambda: bot.store.escalation_for_dm(channel, dm["ts"]) is not None,
        what="the DM's place recorded",
    )
    eyes = {
        "type": "reaction_added",
        "user": FOI_LEAD,
        "reaction": "eyes",
        "item": {"type": "message", "channel": channel, "ts": dm["ts"]},
        "event_ts": "1772445600.000200",
    }
    assert bot.event(eyes, event_id="EvEyes1").status == 200
    assert bot.event(eyes, event_id="EvEyes1").status == 200  # Slack's retry: nothing new
    ref, escalation_id = bot.store.escalation_for_dm(channel, dm["ts"])
    wait_until(
        lambda: bot.store.theme(ref).escalation(escalation_id).acknowledged_by == FOI_LEAD,
        what="the acknowledgement",
    )
    jobs.sweep_clocks(services, MONDAY_10 + timedelta(hours=5))
    assert fake_slack.messages(HEAD_OF_COMMS) == []

    queue = bot.command("queue").json()["text"]
    assert ref in queue and "left" in queue
    bot.command(f"assign {ref} <@U0STAFF001>")
    assert ref in bot.command("mine", user_id="U0STAFF001").json()["text"]


def test_app_home_shows_the_clocks_and_a_crisis_banner(start_bot, fake_slack: FakeSlack) -> None:
    bot: BotUnderTest = start_bot(clock=fixed_clock(MONDAY_10))
    bot.intake(intake_post("2002", text=FOI_TEXT))
    refused = bot.command("crisis start Flooding", user_id="U0STAFF001").json()["text"]
    assert "Only" in refused
    started = bot.command("crisis start Flooding in Eastham", user_id=HEAD_OF_COMMS).json()
    assert "Crisis mode is on" in started["text"]
    home = {"type": "app_home_opened", "user": "U0STAFF001", "tab": "home", "event_ts": "1.2"}
    assert bot.event(home, event_id="EvHome1").status == 200
    call = fake_slack.wait_for_calls("views.publish", 1)[0]
    text = str(call.params)
    for heading in (
        "Crisis mode since",
        "Nearest their deadline",
        "Your themes",
        "FOI and subject access clocks",
        "Escalations awaiting acknowledgement",
    ):
        assert heading in text
