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

_URL = re.compile(r"https?://[^\s<>|]+", re.IGNORECASE)
# How Slack shows a link in command text when it formats one: <url> or <url|label>.
_SLACK_LINK = re.compile(r"<(https?://[^\s<>|]+)(?:\|[^>]*)?>", re.IGNORECASE)
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


def _unescape_slack(text: str) -> str:
    """Slack sends `&`, `<` and `>` in command text as entities; turn them back."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def parse_flag(argument: str, *, accounts: Collection[str], default_account: str) -> FlagRequest:
    """Read `[account] [category] <link> [text]` or `<text>`.

    An account or category word counts only when it comes before the link, so the words of
    a post are never taken for one ("fire alarm going off" is text, not the fire account).
    The link is kept apart from the text, so a link on its own is not classified on its URL.
    """
    words = _unescape_slack(argument).split()
    if not words:
        raise FlagRequestError(
            "Tell me what to flag: `/comms flag <link to the post> <what it says>`, "
            "or `/comms flag <its text>`."
        )
    account = default_account
    category = None
    link_at = next((i for i, word in enumerate(words) if _URL.search(word)), None)
    if link_at is not None and link_at <= 2:
        keywords = [word.lower() for word in words[:link_at]]
        if keywords and keywords[0] in accounts:
            account = keywords.pop(0)
        if keywords and keywords[0] in _CATEGORY_WORDS:
            category = _CATEGORY_WORDS[keywords.pop(0)]
        if not keywords:
            words = words[link_at:]
        else:
            account, category = default_account, None  # not keywords after all
    rest = " ".join(words)
    url = None
    text = rest
    match = _SLACK_LINK.search(rest) or _URL.search(rest)
    if match:
        url = match.group(1) if match.re is _SLACK_LINK else match.group(0).rstrip(").,")
        text = " ".join(f"{rest[: match.start()]} {rest[match.end() :]}".split())
    return FlagRequest(account=account, url=url, text=text, category=category)


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
