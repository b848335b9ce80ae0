"""Hostile text from the public reaches no Slack surface as a live mention or a forged link.

One post carries every trick (a broadcast, a user and a group mention, a forged link) in its
text, its author's handle and name; it is then shown in every place the desk looks: the
theme's parent and thread, the escalation DM, reminders, the daily digest, the App Home,
`/comms queue` / `mine` / `theme show`, the staff modals and the dead-letter list. Every call
the fake Slack recorded, and every answer the bot gave, is searched for the live forms.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.demo.slack_requests import block_actions
from bot.fakeslack import FakeSlack
from bot.scheduling import jobs
from bot.slack.ids import Action
from tests.conftest import BotUnderTest, fixed_clock, intake_post
from tests.e2e.views import all_shown

MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
HOSTILE = (
    "<!channel> <!here> Under the Freedom of Information Act how much did you spend on "
    "taxis <!everyone> <@U0VICTIM01> <!subteam^S0GROUP01|@comms> "
    "<https://evil.example/login|council.gov.uk> &lt;!channel&gt;?"
)
# Live forms: what Slack would turn into a ping or a link if it arrived unescaped.
LIVE = ("<!channel", "<!here", "<!everyone", "<!subteam^", "<@U0VICTIM01", "<https://evil")


def _hostile_post(post_id: str) -> dict:
    return intake_post(
        post_id,
        text=HOSTILE,
        author={"handle": "<!here>", "name": "<@U0VICTIM01> <https://evil.example|Council>"},
        url="https://x.com/a/status/1>|<!channel>",
    )


def _live_in(text: str) -> list[str]:
    return [form for form in LIVE if form in text]


# Shown literally by Slack (plain_text objects) or never shown (ids, values, metadata).
_NOT_PARSED = frozenset({"value", "private_metadata", "initial_value", "action_id", "block_id"})


def _parsed(value: Any) -> list[str]:
    """The strings of a Slack API call that Slack parses as mrkdwn (mentions, links)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [text for item in value for text in _parsed(item)]
    if isinstance(value, dict):
        if value.get("type") == "plain_text":
            return []
        return [
            text for key, item in value.items() if key not in _NOT_PARSED for text in _parsed(item)
        ]
    return []


def _everything(fake: FakeSlack) -> str:
    return "\n".join(
        f"{call.method}: {text}" for call in fake.calls for text in _parsed(call.params)
    )


def test_hostile_post_pings_nobody_and_forges_no_link_anywhere(
    start_bot, fake_slack: FakeSlack
) -> None:
    bot: BotUnderTest = start_bot(clock=fixed_clock(MONDAY_10))
    posted = _hostile_post("6661")
    posted["posted_at"] = (MONDAY_10 - timedelta(minutes=5)).isoformat()
    assert bot.intake(posted).status in (200, 202)
    ref = bot.store.get_post_record("x:6661")["theme"]
    services = bot.runtime.services
    answers: list[str] = []

    # Escalation DM, reminders, overdue, daily digest.
    for hours in (0, 24 * 10, 24 * 40):
        jobs.sweep_clocks(services, MONDAY_10 + timedelta(hours=hours))
    jobs.daily_digest(services, MONDAY_10 + timedelta(days=1, hours=-1))
    # Staff replies and App Home, with a staff note and crisis note that try to ping too.
    for command in (
        "queue",
        "mine",
        f"theme show {ref}",
        f"assign {ref} <@U0STAFF01>",
        f"escalate {ref} foi_lead <!channel> look <@U0VICTIM01>",
        f"escalate {ref} <!here> now",
        "crisis start <!channel> flooding <https://evil.example|gov.uk>",
        "outbox",
    ):
        answers.append(bot.command(command, user_id="U0STAFF01").body.decode("utf-8"))
    home = {"type": "app_home_opened", "user": "U0STAFF01", "tab": "home", "event_ts": "1.2"}
    assert bot.event(home, event_id="EvHostileHome").status == 200
    fake_slack.wait_for_calls("views.publish", 1)
    # Every staff modal shows the theme and its posts.
    for action in (Action.MOVE, Action.MERGE, Action.RECATEGORISE, Action.CLOSE):
        body, content_type = block_actions(action.value, ref, response_url=fake_slack.url)
        assert bot.slack(body, content_type).status == 200
    fake_slack.wait_for_calls("views.open", 4)
    all_shown(bot)

    seen = _everything(fake_slack) + "\n".join(answers)
    assert "U0VICTIM01" in seen or "evil.example" in seen  # the hostile text was shown
    assert _live_in(seen) == [], [line for line in seen.splitlines() if _live_in(line)]
