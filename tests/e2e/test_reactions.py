"""One reaction_added listener offers each reaction to every feature's handler in turn."""

from __future__ import annotations

import pytest

from bot.services import Services
from bot.slack.listeners import reactions
from tests.conftest import BotUnderTest, wait_until


def reaction(name: str, *, ts: str = "1700000000.000100") -> dict:
    return {
        "type": "reaction_added",
        "user": "U0STAFF01",
        "reaction": name,
        "item": {"type": "message", "channel": "C0INTAKE01", "ts": ts},
        "item_user": "U0OTHER01",
        "event_ts": "1700000001.000200",
    }


def test_each_reaction_goes_to_the_first_handler_that_takes_it(
    bot: BotUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, str]] = []

    def eyes(services: Services, event: dict) -> bool:
        seen.append(("eyes", event["reaction"]))
        return event["reaction"] == "eyes"

    def anything(services: Services, event: dict) -> bool:
        seen.append(("anything", event["reaction"]))
        return True

    monkeypatch.setattr(reactions, "REACTION_HANDLERS", [])
    reactions.add_reaction_handler(eyes)
    reactions.add_reaction_handler(anything)
    reactions.add_reaction_handler(eyes)  # a second app registering again adds nothing
    assert bot.event(reaction("eyes"), event_id="EvEyes").status == 200
    assert bot.event(reaction("tada"), event_id="EvTada").status == 200
    wait_until(lambda: len(seen) == 3, what="both reactions dispatched")
    assert seen == [("eyes", "eyes"), ("eyes", "tada"), ("anything", "tada")]
