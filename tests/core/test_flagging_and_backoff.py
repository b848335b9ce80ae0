"""`/comms flag` parsing and the retry schedule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.backoff import retry_delay
from bot.core.flagging import FlagRequestError, parse_flag, post_from_flag
from bot.core.posts import Category, Network

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
ACCOUNTS = {"council", "fire"}


@pytest.mark.parametrize(
    ("argument", "account", "url", "network", "handle"),
    [
        (
            "https://x.com/jo_bloggs/status/1",
            "council",
            "https://x.com/jo_bloggs/status/1",
            Network.X,
            "@jo_bloggs",
        ),
        (
            "fire https://twitter.com/a_b/status/2 smoke!",
            "fire",
            "https://twitter.com/a_b/status/2",
            Network.X,
            "@a_b",
        ),
        (
            "<https://www.facebook.com/anyshire/posts/9|facebook.com/anyshire/posts/9> rude",
            "council",
            "https://www.facebook.com/anyshire/posts/9",
            Network.FACEBOOK,
            "anyshire",
        ),
        (
            "https://www.youtube.com/watch?v=abc",
            "council",
            "https://www.youtube.com/watch?v=abc",
            Network.YOUTUBE,
            "unknown",
        ),
        ("someone phoned about the bins", "council", None, Network.OTHER, "unknown"),
        ("fire", "council", None, Network.OTHER, "unknown"),  # a lone account name is text
        ("fire smoke from the barn", "council", None, Network.OTHER, "unknown"),
    ],
)
def test_parse_flag(
    argument: str, account: str, url: str | None, network: Network, handle: str
) -> None:
    request = parse_flag(argument, accounts=ACCOUNTS, default_account="council")
    assert (request.account, request.url) == (account, url)
    post = post_from_flag(request, flagged_by="U0STAFF", now=NOW)
    assert (post.network, post.author.handle, post.flagged_by) == (network, handle, "U0STAFF")
    assert post.posted_at == NOW


def test_flagging_the_same_thing_gives_the_same_post_id() -> None:
    def make(argument: str):
        request = parse_flag(argument, accounts=ACCOUNTS, default_account="council")
        return post_from_flag(request, flagged_by="U1", now=NOW)

    assert make("https://x.com/a/status/1 hello").key == make("https://x.com/a/status/1 bye").key
    assert make("Bins  NOT collected").key == make("bins not collected").key
    assert make("fire https://x.com/a/status/1").key != make("https://x.com/a/status/1").key


def test_nothing_to_flag_is_a_polite_error() -> None:
    with pytest.raises(FlagRequestError, match="/comms flag"):
        parse_flag("   ", accounts=ACCOUNTS, default_account="council")


@pytest.mark.parametrize(
    "argument",
    ["http://[oops the bins were missed", "<https://[::1|a link> hello", "https://x\uff0fy.com/a"],
)
def test_a_link_that_cannot_be_read_is_a_polite_error(argument: str) -> None:
    # urllib refuses these (a broken IPv6 address, a full-width slash in the host): a
    # ValueError reached the listener before.
    with pytest.raises(FlagRequestError, match="cannot read the link"):
        request = parse_flag(argument, accounts=ACCOUNTS, default_account="council")
        post_from_flag(request, flagged_by="U1", now=NOW)


@pytest.mark.parametrize(
    ("attempts", "retry_after", "expected"),
    [(1, None, 2.0), (2, None, 4.0), (3, None, 8.0), (20, None, 300.0), (1, 30, 30.0), (5, 0, 0.0)],
)
def test_retry_delay(attempts: int, retry_after: float | None, expected: float) -> None:
    assert retry_delay(attempts, initial=2, maximum=300, retry_after=retry_after) == expected


def test_the_link_is_kept_apart_from_the_words() -> None:
    request = parse_flag(
        "https://x.com/a/status/1 the bins were not collected again",
        accounts=ACCOUNTS,
        default_account="council",
    )
    assert request.text == "the bins were not collected again"
    slack_formatted = parse_flag(
        "<https://x.com/a/status/1|x.com/a/status/1> smoke in the stairwell",
        accounts=ACCOUNTS,
        default_account="council",
    )
    assert (slack_formatted.url, slack_formatted.text) == (
        "https://x.com/a/status/1",
        "smoke in the stairwell",
    )


def test_slack_entities_in_command_text_are_decoded() -> None:
    request = parse_flag(
        "https://www.facebook.com/permalink.php?story_fbid=1&amp;id=2 fish &amp; chips &lt;3",
        accounts=ACCOUNTS,
        default_account="council",
    )
    assert request.url == "https://www.facebook.com/permalink.php?story_fbid=1&id=2"
    assert request.text == "fish & chips <3"


@pytest.mark.parametrize(
    ("argument", "account", "category"),
    [
        ("urgent https://x.com/a/status/1", "council", Category.URGENT),
        ("fire foi https://x.com/a/status/1 crewing figures", "fire", Category.FOI),
        ("fire https://x.com/a/status/1", "fire", None),
        # Keywords count only before a link; otherwise they are the post's own words.
        ("sar can I see my file", "council", None),
        ("fire alarm going off at the care home", "council", None),
        ("complaint", "council", None),
        ("the fire https://x.com/a/status/1", "council", None),
    ],
)
def test_a_category_can_be_chosen(argument: str, account: str, category: Category | None) -> None:
    request = parse_flag(argument, accounts=ACCOUNTS, default_account="council")
    assert (request.account, request.category) == (account, category)


def test_link_only_flags_are_not_classified_on_the_url() -> None:
    from bot.config import load_config
    from bot.core.routing import NO_TEXT_RULE, triage
    from tests.conftest import CONFIG_DIR

    config = load_config(CONFIG_DIR)
    request = parse_flag("https://x.com/a/status/1", accounts=ACCOUNTS, default_account="council")
    post = post_from_flag(request, flagged_by="U1", now=NOW)
    result = triage(post, classifier=config.classifier, routing=config.routing)
    assert result.classification.rule == NO_TEXT_RULE
    assert result.classification.flags == ()
    chosen = triage(
        post, classifier=config.classifier, routing=config.routing, category=Category.URGENT
    )
    assert chosen.channel == "#comms-urgent"
    assert chosen.classification.rule == "category chosen by the person who flagged it"


@pytest.mark.parametrize(
    ("argument", "url", "text"),
    [
        # A link inside the pasted text, as Slack formats it or as the person typed it,
        # is part of the text; the post has no link of its own.
        (
            "Scam alert, visit <https://evil.example/win|evil.example/win> now",
            None,
            "Scam alert, visit <https://evil.example/win|evil.example/win> now",
        ),
        (
            "Scam alert, visit &lt;https://evil.example/win|council.gov.uk&gt; now",
            None,
            "Scam alert, visit <https://evil.example/win|council.gov.uk> now",
        ),
        # The post's own link comes first; links further on stay in the text.
        (
            "https://x.com/a/status/1 see <https://evil.example|evil.example>",
            "https://x.com/a/status/1",
            "see <https://evil.example|evil.example>",
        ),
        (
            "<https://x.com/a/status/1> see &lt;https://evil.example&gt; &amp; more",
            "https://x.com/a/status/1",
            "see <https://evil.example> & more",
        ),
        (
            "fire urgent <https://x.com/a/status/2|x.com/a/status/2> smoke https://x.com/b/status/3",
            "https://x.com/a/status/2",
            "smoke https://x.com/b/status/3",
        ),
        # A link typed by the person as the first word is text too: Slack escaped it.
        ("&lt;https://evil.example&gt; hello", None, "<https://evil.example> hello"),
    ],
)
def test_the_posts_link_is_the_first_link_before_its_text(
    argument: str, url: str | None, text: str
) -> None:
    request = parse_flag(argument, accounts=ACCOUNTS, default_account="council")
    assert (request.url, request.text) == (url, text)


def test_a_link_inside_the_text_does_not_make_another_post_a_repeat() -> None:
    def key(argument: str) -> str:
        request = parse_flag(argument, accounts=ACCOUNTS, default_account="council")
        return post_from_flag(request, flagged_by="U1", now=NOW).key

    first = key("Look at <https://x.com/a/status/1|this> it is awful")
    second = key("Different post entirely, see <https://x.com/a/status/1|this>")
    assert first != second
