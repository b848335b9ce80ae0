"""A Slack message read as a post: its words as plain text, its link and its author."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.posts import Network
from bot.core.slack_message import (
    NothingToTakeError,
    SlackItem,
    post_from_slack_message,
    read_message,
    unescape_mrkdwn,
)


@pytest.mark.parametrize(
    ("mrkdwn", "plain"),
    [
        ("<!channel> fire at the depot", "@channel fire at the depot"),
        ("<!here|@here> look", "@here look"),
        ("ask <!subteam^S0COMMS01|@comms-team>", "ask @comms-team"),
        ("<!date^1700000000^{date}|14 Nov 2023> closure", "14 Nov 2023 closure"),
        ("thanks <@U0STAFF02>", "thanks @U0STAFF02"),
        ("thanks <@U0STAFF02|ann>", "thanks @ann"),
        ("see <#C0INTAKE01|social-monitoring>", "see #social-monitoring"),
        ("<https://x.com/a/status/1>", "https://x.com/a/status/1"),
        ("<https://example.org/?a=1&amp;b=2|the page>", "the page (https://example.org/?a=1&b=2)"),
        ("<mailto:foi@anyshire.gov.uk|foi@anyshire.gov.uk>", "foi@anyshire.gov.uk"),
        ("1 &lt; 2 &amp;&amp; 3 &gt; 2", "1 < 2 && 3 > 2"),
        ("&amp;lt; stays one level", "&lt; stays one level"),
    ],
)
def test_mrkdwn_becomes_plain_text(mrkdwn: str, plain: str) -> None:
    assert unescape_mrkdwn(mrkdwn) == plain


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (  # a colleague's message: its text; the link in it; the author asked of Slack
            {"user": "U1", "text": "Look: <https://facebook.com/p/1|this post>"},
            SlackItem(
                "Look: this post (https://facebook.com/p/1)", "https://facebook.com/p/1", None
            ),
        ),
        (  # a monitoring tool's alert: attachment title, text, link and author
            {
                "bot_id": "B1",
                "username": "Monitor",
                "text": "New mention",
                "attachments": [
                    {
                        "author_name": "@resident",
                        "title": "Mention",
                        "title_link": "https://x.com/resident/status/9",
                        "text": "Road &lt;closed&gt;?",
                        "fallback": "ignored when there is a title or text",
                    }
                ],
            },
            SlackItem(
                "New mention\nMention\nRoad <closed>?",
                "https://x.com/resident/status/9",
                "@resident",
            ),
        ),
        (  # only a fallback: it is the text; the integration's name is the author
            {
                "bot_id": "B1",
                "bot_profile": {"name": "Alerts &amp; Co"},
                "text": "",
                "attachments": [{"fallback": "Someone is trapped on the 4th floor"}],
            },
            SlackItem("Someone is trapped on the 4th floor", None, "Alerts & Co"),
        ),
        (  # an unfurl: its original URL is the link; text repeated is not doubled
            {
                "user": "U1",
                "text": "<https://youtube.com/watch?v=1>",
                "attachments": [
                    {
                        "from_url": "https://youtube.com/watch?v=1",
                        "original_url": "https://youtube.com/watch?v=1",
                        "title": "Council meeting",
                        "service_name": "YouTube",
                    }
                ],
            },
            SlackItem(
                "https://youtube.com/watch?v=1\nCouncil meeting",
                "https://youtube.com/watch?v=1",
                None,
            ),
        ),
        (  # junk in attachments is skipped, not fatal
            {"user": "U1", "text": "hi", "attachments": ["x", {"title_link": "javascript:x"}]},
            SlackItem("hi", None, None),
        ),
    ],
)
def test_a_slack_message_is_read(message: dict, expected: SlackItem) -> None:
    assert read_message(message) == expected


def test_a_message_becomes_a_post_named_by_its_channel_and_ts() -> None:
    message = {"user": "U1", "ts": "1700000000.000100", "text": "Bins missed"}
    permalink = "https://commsdesk.slack.com/archives/C1/p1700000000000100"
    post = post_from_slack_message(
        message, channel="C1", account="council", permalink=permalink, author="ann", flagged_by="U2"
    )
    assert post.id == "slack-C1-1700000000.000100"
    assert (post.url, post.network, post.author.handle) == (permalink, Network.OTHER, "ann")
    assert post.posted_at == datetime(2023, 11, 14, 22, 13, 20, 100, tzinfo=UTC)
    again = post_from_slack_message(
        message, channel="C1", account="council", permalink=permalink, author="ann", flagged_by="U3"
    )
    assert again.key == post.key


def test_a_message_with_nothing_in_it_is_refused_plainly() -> None:
    with pytest.raises(NothingToTakeError, match="no words or link"):
        post_from_slack_message(
            {"ts": "1.0", "text": "  "},
            channel="C1",
            account="council",
            permalink=None,
            author=None,
            flagged_by=None,
        )
