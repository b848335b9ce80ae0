"""`/comms foi-due <date>` end to end: signed slash commands through the real Bolt app."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.conftest import BotUnderTest


def test_foi_due_answers_privately_with_the_date_and_why(bot: BotUnderTest, fake_slack) -> None:
    answer = bot.command("foi-due 2026-12-05")
    assert answer.status == 200
    body = answer.json()
    assert body["response_type"] == "ephemeral"
    text = body["text"]
    assert "*FOI due:* end of Thursday 7 January 2027 (`2027-01-07T23:59:59+00:00`)" in text
    assert "Friday 25 December 2026: Christmas Day (bank holiday across the UK)" in text
    assert "New Year Holiday (observed) (bank holiday in Scotland)" in text
    assert fake_slack.calls_to("chat.postMessage") == []  # nothing posted to a channel


def test_foi_due_without_a_date_means_today(start_bot, fake_slack) -> None:
    bot = start_bot(clock=lambda: datetime(2026, 7, 10, 12, 0, tzinfo=UTC))
    text = bot.command("foi-due").json()["text"]
    assert "`2026-08-11T23:59:59+01:00`" in text
    assert "Battle of the Boyne (observed) (bank holiday in Northern Ireland)" in text


def test_foi_due_explains_a_date_it_cannot_read(bot: BotUnderTest) -> None:
    text = bot.command("foi-due next tuesday").json()["text"]
    assert "I can't read `next tuesday` as a date of receipt" in text
    assert "/comms foi-due 2026-12-04" in text
    hostile = bot.command("foi-due <!channel> `2026`").json()["text"]
    assert "&lt;!channel&gt;" in hostile and "<!channel>" not in hostile


def test_help_lists_foi_due(bot: BotUnderTest) -> None:
    assert "/comms foi-due <date>" in bot.command("help").json()["text"]


def test_the_deadline_templates_exist_and_compile() -> None:
    from bot.core.templating import TemplateRenderer
    from bot.slack.deadline_messages import TEMPLATES
    from tests.conftest import REPO

    assert TemplateRenderer(REPO / "templates").problems(TEMPLATES) == []
