"""`/comms flag` parsing and the retry schedule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.backoff import retry_delay
from bot.core.flagging import FlagRequestError, parse_flag, post_from_flag
from bot.core.posts import Network

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
    ("attempts", "retry_after", "expected"),
    [(1, None, 2.0), (2, None, 4.0), (3, None, 8.0), (20, None, 300.0), (1, 30, 30.0), (5, 0, 0.0)],
)
def test_retry_delay(attempts: int, retry_after: float | None, expected: float) -> None:
    assert retry_delay(attempts, initial=2, maximum=300, retry_after=retry_after) == expected
