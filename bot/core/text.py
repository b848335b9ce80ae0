"""Making text from the public safe to show in Slack."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


class NotUtf8Error(ValueError):
    """A file that is not UTF-8 text (saved as Windows-1252, say): where, and what to do."""

    def __init__(self, *, line: int, byte: int) -> None:
        super().__init__(f"not UTF-8 text (byte 0x{byte:02x}): save the file as UTF-8")
        self.line = line


def utf8_text(raw: bytes) -> str:
    """`raw` decoded as UTF-8; NotUtf8Error naming the line of the first byte that is not."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotUtf8Error(line=raw.count(b"\n", 0, exc.start) + 1, byte=raw[exc.start]) from None


_ESCAPABLE = re.compile("[&<>]")


def slack_escape(text: str) -> str:
    """Escape `&`, `<` and `>` so Slack shows the text literally (no mentions, no links)."""
    return _ESCAPABLE.sub(lambda m: _ESCAPES[m.group(0)], text)


def escape_to_fit(text: str, limit: int, *, marker: str = " …") -> str:
    """Escape `text` and shorten it so the escaped result is at most `limit` characters."""
    escaped = slack_escape(text)
    if len(escaped) <= limit:
        return escaped
    budget = limit - len(marker)
    out: list[str] = []
    used = 0
    for char in text:
        piece = _ESCAPES.get(char, char)
        if used + len(piece) > budget:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out).rstrip() + marker


def quote_for_slack(text: str, *, limit: int, max_lines: int) -> str:
    """`text` escaped and shown as a Slack block quote, cut to `limit` characters at most.

    Every line gets a quote marker, so the budget is counted after the markers; a cut is
    shown with a final `> …` line.
    """
    cut_marker = "&gt; …"
    lines = text.splitlines() or [""]
    out: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        separator = 1 if out else 0
        # Always leave room for the cut marker on its own line.
        room = limit - used - separator - len(cut_marker) - 1
        prefix = "&gt; " if line.strip() else "&gt;"
        if index == max_lines or room < len(prefix) + 8:
            out.append(cut_marker)
            break
        shown = prefix + (escape_to_fit(line, room - len(prefix)) if line.strip() else "")
        out.append(shown)
        used += separator + len(shown)
        if len(shown) - len(prefix) < len(slack_escape(line)):
            break  # this line was cut short and already ends with the marker
    return "\n".join(out)


def safe_link_target(url: str) -> str | None:
    """The URL made safe to put inside a Slack `<url|label>` link, or None if not http(s)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        return None
    # Characters that would end or split a Slack link are percent-encoded; `&` is escaped.
    cleaned = quote(url.strip(), safe=":/?#[]@!$&'()*+,;=%~-._")
    return slack_escape(cleaned)
