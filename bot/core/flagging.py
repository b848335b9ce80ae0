"""Turning a staff member's `/comms flag ...` into a post."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from bot.core.errors import DeskError
from bot.core.posts import Author, Category, Kind, Network, Post
from bot.core.text import slack_escape

_HOSTS = {
    "x.com": Network.X,
    "twitter.com": Network.X,
    "mobile.twitter.com": Network.X,
    "facebook.com": Network.FACEBOOK,
    "m.facebook.com": Network.FACEBOOK,
    "fb.com": Network.FACEBOOK,
    "instagram.com": Network.INSTAGRAM,
    "linkedin.com": Network.LINKEDIN,
    "youtube.com": Network.YOUTUBE,
    "youtu.be": Network.YOUTUBE,
}
_NOT_HANDLES = {"i", "home", "search", "status", "watch", "posts", "groups", "p", "reel", "feed"}
UNKNOWN_AUTHOR = "unknown"


class FlagRequestError(DeskError):
    """A `/comms flag` request that cannot become a post; the message says how to fix it."""


@dataclass(frozen=True)
class FlagRequest:
    """What a staff member flagged: a link, some text, or both, on one account."""

    account: str
    url: str | None
    text: str
    category: Category | None = None


_CATEGORY_WORDS = {c.value: c for c in Category} | {"sar": Category.SUBJECT_ACCESS}


def unescape_slack(text: str) -> str:
    """Slack sends `&`, `<` and `>` in command text as entities; turn them back."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# The post's own link, as the first thing after the keywords: Slack's `<url>` or `<url|label>`
# (real angle brackets: Slack wrote them) or a bare URL. Read before unescaping, so a link the
# person typed inside the pasted text, which Slack sends as `&lt;https://…&gt;`, stays text.
_LEADING_LINK = re.compile(
    r"^(?:<(?P<slack>https?://[^\s<>|]+)(?:\|[^<>]*)?>|(?P<bare>https?://[^\s<>]+))(?=\s|$)",
    re.IGNORECASE,
)


def parse_flag(argument: str, *, accounts: Collection[str], default_account: str) -> FlagRequest:
    """Read `[account] [category] <link> [text]` or `<text>`.

    The post's link is the first link of the command, before its text; an account or
    category word counts only before that link, so the words of a post are never taken for
    one ("fire alarm going off" is text, not the fire account). A link further on is part of
    the text. The link is kept apart from the text, so a link on its own is not classified
    on its URL.
    """
    raw = argument.strip()
    if not raw:
        raise FlagRequestError(
            "Tell me what to flag: `/comms flag <link to the post> <what it says>`, "
            "or `/comms flag <its text>`."
        )
    words = raw.split()
    account, category, rest = default_account, None, raw
    for keywords in range(min(2, len(words) - 1), -1, -1):
        candidate = raw.split(maxsplit=keywords)[-1] if keywords else raw
        if _LEADING_LINK.match(candidate) is None:
            continue
        chosen = _keywords(words[:keywords], accounts)
        if chosen is not None:
            account, category, rest = chosen[0] or default_account, chosen[1], candidate
            break
    link = _LEADING_LINK.match(rest)
    if link is None:
        text = " ".join(unescape_slack(raw).split())
        return FlagRequest(account=account, url=None, text=text, category=category)
    url = unescape_slack(link.group("slack") or link.group("bare").rstrip(").,"))
    try:
        urlsplit(url)
    except ValueError:  # a broken IPv6 address, characters no host may hold
        shown = slack_escape(url.replace("`", "'"))
        raise FlagRequestError(
            f"I cannot read the link `{shown}`. Check it, or flag the post's words without it."
        ) from None
    text = " ".join(unescape_slack(rest[link.end() :]).split())
    return FlagRequest(account=account, url=url, text=text, category=category)


def _keywords(
    words: list[str], accounts: Collection[str]
) -> tuple[str | None, Category | None] | None:
    """(account, category) named by the words before the link, or None if they are text."""
    account = category = None
    remaining = [word.lower() for word in words]
    if remaining and remaining[0] in accounts:
        account = remaining.pop(0)
    if remaining and remaining[0] in _CATEGORY_WORDS:
        category = _CATEGORY_WORDS[remaining.pop(0)]
    return None if remaining else (account, category)


def network_of(url: str | None) -> Network:
    """The network a post's link points at, or OTHER."""
    if not url:
        return Network.OTHER
    host = (urlsplit(url).hostname or "").lower().removeprefix("www.")
    return _HOSTS.get(host, Network.OTHER)


def _handle_from(url: str | None, network: Network) -> str:
    if not url or network not in {Network.X, Network.INSTAGRAM, Network.FACEBOOK}:
        return UNKNOWN_AUTHOR
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if segments and segments[0].lower() not in _NOT_HANDLES:
        return "@" + segments[0] if network is Network.X else segments[0]
    return UNKNOWN_AUTHOR


def post_from_flag(request: FlagRequest, *, flagged_by: str, now: datetime) -> Post:
    """A post for what a staff member flagged; flagging the same link or text twice is a repeat."""
    identity = request.url or request.text.lower()
    digest = hashlib.sha256(f"{request.account}|{identity}".encode()).hexdigest()[:20]
    network = network_of(request.url)
    return Post(
        id=f"flag-{digest}",
        network=network,
        account=request.account,
        author=Author(handle=_handle_from(request.url, network)),
        text=request.text,
        posted_at=now,
        url=request.url,
        kind=Kind.POST,
        flagged_by=flagged_by,
    )
