"""Triage as the desk sees it in Slack: needs-a-human, risk to life at night, moderation."""

from __future__ import annotations

import json
from pathlib import Path

from bot.core.posts import Category, Opinion, Post
from tests.conftest import BotUnderTest, intake_post, wait_until


def _shown(fake_slack, channel: str) -> list[str]:
    return [json.dumps(m["blocks"], ensure_ascii=False) for m in fake_slack.messages(channel)]


def test_unknown_subcommand_is_shown_as_typed(bot: BotUnderTest) -> None:
    # Slack sends "<b>&" typed by a person as entities; they must not come back double-escaped.
    text = bot.command("&lt;b&gt;&amp;").json()["text"]
    assert "`/comms &lt;b&gt;&amp;`" in text
    assert "&amp;lt;" not in text


class _Unsure:
    """A second opinion that is not sure enough to choose for an unsorted post."""

    def opinion(self, post: Post) -> Opinion:
        return Opinion(Category.GENERAL, 0.3)


class _SureItIsAComplaint:
    def opinion(self, post: Post) -> Opinion:
        return Opinion(Category.COMPLAINT, 0.82)


def test_a_post_no_rule_is_sure_of_waits_for_a_human(bot: BotUnderTest, fake_slack) -> None:
    bot.runtime.services.desk.second_opinion = _Unsure()
    bot.intake(intake_post("u1", text="Our carers are being hit hard by the cost of living"))
    wait_until(lambda: fake_slack.messages("#comms-enquiries"), what="the unsorted post")
    [shown] = _shown(fake_slack, "#comms-enquiries")
    assert "Needs a human" in shown and "default: no rule matched" in shown


def test_the_second_opinion_files_a_post_no_rule_was_sure_of_and_says_so(
    bot: BotUnderTest, fake_slack
) -> None:
    bot.runtime.services.desk.second_opinion = _SureItIsAComplaint()
    bot.intake(intake_post("u2", text="Our carers are being hit hard by the cost of living"))
    wait_until(lambda: fake_slack.messages("#customer-complaints"), what="the chosen post")
    [shown] = _shown(fake_slack, "#customer-complaints")
    assert "second opinion: complaint (82% sure) — no rule was sure" in shown


def test_urgent_posts_also_reach_the_duty_channel_when_theirs_is_9_to_5(
    start_bot, config_dir: Path, fake_slack
) -> None:
    desk = config_dir / "desk.yaml"
    text = desk.read_text().replace(
        'channels: ["#comms-urgent", "#fire-control-urgent"]',
        'channels: ["#fire-control-urgent", "#out-of-hours-duty"]\n'
        '  duty_channel: "#out-of-hours-duty"',
    )
    desk.write_text(text)
    bot = start_bot()
    bot.intake(intake_post("r1", text="i cant do this anymore. going to the bridge tonight"))
    bot.intake(intake_post("r1", text="i cant do this anymore. going to the bridge tonight"))
    wait_until(
        lambda: fake_slack.messages("#comms-urgent") and fake_slack.messages("#out-of-hours-duty"),
        what="both urgent channels",
    )
    bot.runtime.outbox.deliver_due()
    assert len(fake_slack.messages("#comms-urgent")) == 1
    [duty] = _shown(fake_slack, "#out-of-hours-duty")  # once, though offered twice
    assert "Also sent to #out-of-hours-duty" in duty
    assert "#comms-urgent is not watched round the clock" in duty


def test_moderation_counts_breaches_and_suggests_blocking(bot: BotUnderTest, fake_slack) -> None:
    for number in range(3):
        bot.intake(
            intake_post(
                f"m{number}",
                text=f"Cllr Whitlow you useless fat cunt, number {number}",
                author={"handle": "@persistent"},
            )
        )
    wait_until(lambda: len(fake_slack.messages("#comms-moderation")) == 3, what="three posts")
    shown = _shown(fake_slack, "#comms-moderation")
    assert "has had 1 post on this account sent to moderation" in shown[0]
    assert "blocking" not in shown[1]
    assert "has had 3 posts" in shown[2] and "suggests *blocking* them" in shown[2]


def test_hate_speech_is_marked_for_the_hate_crime_route(bot: BotUnderTest, fake_slack) -> None:
    bot.intake(intake_post("h1", text="the gyppos have moved onto the rec again, animals"))
    wait_until(lambda: fake_slack.messages("#comms-moderation"), what="the moderation post")
    [shown] = _shown(fake_slack, "#comms-moderation")
    assert "Possible hate crime" in shown


def test_personal_data_is_masked_in_slack(bot: BotUnderTest, fake_slack) -> None:
    bot.intake(
        intake_post("p1", text="My bin was missed again, ring me on 07700 900123, NI JT123456C")
    )
    wait_until(lambda: fake_slack.messages("#customer-complaints"), what="the complaint")
    [shown] = _shown(fake_slack, "#customer-complaints")
    assert "07700" not in shown and "JT123456C" not in shown
    assert "[phone number]" in shown and "[National Insurance number]" in shown


class _SureItIsUrgent:
    def opinion(self, post: Post) -> Opinion:
        return Opinion(Category.URGENT, 0.93)


def test_the_second_opinion_raises_a_post_and_says_so(bot: BotUnderTest, fake_slack) -> None:
    bot.runtime.services.desk.second_opinion = _SureItIsUrgent()
    bot.intake(intake_post("s1", text="When does the tip open on Sunday?"))
    wait_until(lambda: fake_slack.messages("#comms-urgent"), what="the raised post")
    [shown] = _shown(fake_slack, "#comms-urgent")
    assert "Raised by the second opinion" in shown and "93%" in shown


def test_the_bot_refuses_to_start_with_a_damaged_model(start_bot, tmp_path: Path) -> None:
    import pytest

    from bot.learning import ModelError

    data_dir = tmp_path / "damaged"
    (data_dir / "model").mkdir(parents=True)
    (data_dir / "model" / "second_opinion.json").write_text('{"format": "other"}')
    with pytest.raises(ModelError, match=r"second_opinion\.json: not a commsbot model"):
        start_bot(data_dir=data_dir)
