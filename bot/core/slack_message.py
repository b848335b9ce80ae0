"""Turning a Slack message (a colleague's, or an integration's alert) into a post.

Pure: the Slack edge fetches the message, its permalink and its author's name, and hands
them here. Slack writes mentions, links and `&`, `<`, `>` as mrkdwn entities; a post holds
plain text (escaped again whenever it is shown, as all public text is).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.core.errors import DeskError
from bot.core.flagging import UNKNOWN_AUTHOR, network_of
from bot.core.posts import Author, Kind, Post

# One mrkdwn entity: `<target>` or `<target|label>`.
_ENTITY = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_HTTP = re.compile(r"^https?://\S+$", re.IGNORECASE)
_SPECIAL_MENTIONS = {"channel", "here", "everyone"}


class NothingToTakeError(DeskError):
    """A Slack message with no words and no link: there is no post in it."""


@dataclass(frozen=True)
class SlackItem:
    """What a Slack message says, as plain text: its words, the link it is about, who wrote it."""

    text: str
    link: str | None
    author: str | None


def _entity_text(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    if target.startswith("!"):
        name, _, _ = target[1:].partition("^")
        if label:
            return label
        return f"@{name}" if name in _SPECIAL_MENTIONS else ""
    if target.startswith("@"):
        return f"@{label}" if label else target
    if target.startswith("#"):
        return f"#{label}" if label else target
    if target.lower().startswith("mailto:"):
        return label or target[len("mailto:") :]
    if label and label != target:
        return f"{label} ({target})"
    return target


def _unescape_entities(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def unescape_mrkdwn(text: str) -> str:
    """Slack's mrkdwn as plain text: `<!channel>` is `@channel`, `<url|label>` is
    `label (url)`, `<@U1|ann>` is `@ann`, and `&lt;`, `&gt;`, `&amp;` are `<`, `>`, `&`."""
    out: list[str] = []
    last = 0
    for match in _ENTITY.finditer(text):
        out.append(_unescape_entities(text[last : match.start()]))
        out.append(_unescape_entities(_entity_text(match)))
        last = match.end()
    out.append(_unescape_entities(text[last:]))
    return "".join(out)


def _links_in(text: str) -> list[str]:
    """The http(s) targets of a mrkdwn text's link entities, in order."""
    found = []
    for match in _ENTITY.finditer(text):
        target = _unescape_entities(match.group(1))
        if _HTTP.match(target):
            found.append(target)
    return found


def _http(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and _HTTP.match(value.strip()) else None


def _plain(value: object) -> str:
    return " ".join(unescape_mrkdwn(value).split()) if isinstance(value, str) else ""


def _lines(value: object) -> str:
    """Multi-line mrkdwn as plain text, blank lines dropped."""
    if not isinstance(value, str):
        return ""
    return "\n".join(line.strip() for line in unescape_mrkdwn(value).splitlines() if line.strip())


def read_message(message: Mapping[str, Any]) -> SlackItem:
    """The words, link and author of a Slack message, its attachments and its unfurls.

    The link is what the message is about: an attachment's or unfurl's title link or
    original URL, else the first link in its text. The author is an attachment's
    `author_name` (the social media account a monitoring tool reports), else the name the
    integration posted under; None when the message does not say (a colleague's message:
    the edge asks Slack who they are).
    """
    parts: list[str] = []
    body = _lines(message.get("text"))
    if body:
        parts.append(body)
    link: str | None = None
    author: str | None = None
    attachments = message.get("attachments")
    for attachment in attachments if isinstance(attachments, Sequence) else ():
        if not isinstance(attachment, Mapping):
            continue
        title, text = _plain(attachment.get("title")), _lines(attachment.get("text"))
        pieces = [_lines(attachment.get("pretext")), title, text]
        if not title and not text:
            pieces.append(_lines(attachment.get("fallback")))
        parts.extend(piece for piece in pieces if piece and piece not in parts)
        link = link or next(
            filter(
                None,
                (
                    _http(attachment.get(key))
                    for key in ("title_link", "original_url", "from_url", "author_link")
                ),
            ),
            None,
        )
        author = author or _plain(attachment.get("author_name")) or None
    text_value = message.get("text")
    if link is None and isinstance(text_value, str):
        link = next(iter(_links_in(text_value)), None)
    if author is None:
        profile = message.get("bot_profile")
        named = message.get("username") or (
            profile.get("name") if isinstance(profile, Mapping) else None
        )
        author = _plain(named) or None
    return SlackItem(text="\n".join(parts), link=link, author=author)


def slack_post_id(*, channel: str, ts: str) -> str:
    """The post id of a Slack message: the same message taken in twice is one post.

    A channel ID names one conversation across Slack (a channel shared between workspaces
    keeps its ID), and `ts` one message in it, so the workspace is not part of the id: the
    shortcut, a 🚩 and an integration's message all name the message the same way.
    """
    return f"slack-{channel}-{ts}"


def post_from_slack_message(
    message: Mapping[str, Any],
    *,
    channel: str,
    account: str,
    permalink: str | None,
    author: str | None,
    flagged_by: str | None,
) -> Post:
    """The post a Slack message makes on `account`.

    `author` is who posted it in Slack (used when the message names nobody else);
    `permalink` is its link in Slack, kept as the post's link when it points at nothing else.
    """
    item = read_message(message)
    link = item.link or permalink
    if not item.text and link is None:
        raise NothingToTakeError("That message has no words or link for the desk to take in.")
    ts = str(message.get("ts") or "")
    try:
        posted_at = datetime.fromtimestamp(float(ts), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise NothingToTakeError("That message has no timestamp Slack would give it.") from None
    return Post(
        id=slack_post_id(channel=channel, ts=ts),
        network=network_of(link),
        account=account,
        author=Author(handle=item.author or author or UNKNOWN_AUTHOR),
        text=item.text,
        posted_at=posted_at,
        url=link,
        kind=Kind.POST,
        flagged_by=flagged_by,
    )
