"""Reading what the fake Slack shows: theme parents, their threads, and everything at once."""

from __future__ import annotations

import json
from typing import Any

from bot.fakeslack import FakeSlack
from tests.conftest import BotUnderTest, wait_until


def parents(fake_slack: FakeSlack, channel: str) -> list[dict[str, Any]]:
    """The top-level messages of a channel, oldest first."""
    return [m for m in fake_slack.messages(channel) if m.get("thread_ts", m["ts"]) == m["ts"]]


def replies(fake_slack: FakeSlack, channel: str, parent: dict[str, Any]) -> list[dict[str, Any]]:
    """The replies in a parent's thread, oldest first."""
    return [
        m
        for m in fake_slack.messages(channel)
        if m.get("thread_ts") == parent["ts"] and m["ts"] != parent["ts"]
    ]


def blocks_text(message: dict[str, Any]) -> str:
    """A message's blocks as one JSON string, to look for what it shows."""
    return json.dumps(message.get("blocks") or [], ensure_ascii=False)


def thread_text(fake_slack: FakeSlack, channel: str) -> str:
    """Everything the threads of a channel list, oldest reply first."""
    return "\n".join(
        blocks_text(reply)
        for parent in parents(fake_slack, channel)
        for reply in replies(fake_slack, channel, parent)
    )


def shown(fake_slack: FakeSlack, channel: str) -> str:
    """Everything a channel shows: each parent, then its thread."""
    return "\n".join(
        blocks_text(parent)
        + "\n"
        + "\n".join(blocks_text(reply) for reply in replies(fake_slack, channel, parent))
        for parent in parents(fake_slack, channel)
    )


def all_shown(bot: BotUnderTest, *, timeout: float = 10.0) -> None:
    """Wait until Slack shows every theme as stored: no change waits for the outbox."""
    wait_until(
        lambda: bot.store.outbox_stats(bot.runtime.services.clock()).pending == 0,
        timeout=timeout,
        what="every change shown in Slack",
    )
