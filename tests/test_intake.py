"""The intake body: JSON, JSON arrays and NDJSON, item by item (bot/intake.py)."""

from __future__ import annotations

import json

import pytest

from bot.intake import parse_body

ACCOUNTS = {"council": {"x", "facebook"}}


def _post(post_id: str, text: str) -> dict[str, object]:
    return {
        "id": post_id,
        "network": "x",
        "account": "council",
        "author": {"handle": "@resident"},
        "text": text,
        "posted_at": "2026-11-20T09:14:00+00:00",
    }


# Characters str.splitlines() breaks at that JSON allows raw inside a string, and encoders
# leave raw (JavaScript's JSON.stringify, Python's with ensure_ascii=False).
LINE_BREAKS_INSIDE_TEXT = ["\u2028", "\u2029", "\x85"]


@pytest.mark.parametrize("separator", LINE_BREAKS_INSIDE_TEXT, ids=repr)
def test_ndjson_lines_are_split_only_at_line_feeds(separator: str) -> None:
    text = f"First paragraph.{separator}Second paragraph: when do the bins go?"
    lines = [
        json.dumps(_post("1", text), ensure_ascii=False),
        json.dumps(_post("2", "And the recycling centre?"), ensure_ascii=False),
    ]
    items = parse_body("\r\n".join(lines).encode("utf-8"), accounts=ACCOUNTS, max_text_chars=20_000)
    assert [item.errors for item in items] == [(), ()]
    assert [item.line for item in items] == [1, 2]
    assert items[0].post is not None and items[0].post.text == text
