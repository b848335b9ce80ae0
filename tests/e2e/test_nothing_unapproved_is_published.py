"""THE INVARIANT: nothing reaches a publisher without a recorded approval of exactly that text,
by the people the configuration asks for now. Each test tries one way around the rule, through
the real Bolt app, and checks what the stand-in platform received.

Negative checks are made once the bot has answered the attempt (the refusal is told privately
or noted in the thread, synchronously with the decision): a delivery is stored before anything
is sent, so no stored delivery means nothing will be sent."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.core.approval import SuggestionStatus, text_hash
from bot.core.crisis import Crisis
from tests.conftest import BotUnderTest, intake_post, wait_until
from tests.e2e.receiver import SECRET, SECRET_ENV, Receiver, running_receiver, webhook_config
from tests.e2e.test_replies import (
    APPROVER,
    OTHER_APPROVER,
    STRANGER,
    _click,
    _ephemerals,
    _interaction,
    _react,
    _status,
    _suggestion_shown,
)

THIRD_APPROVER = "U0APPROVE3"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from running_receiver()


def _config(config_dir: Path, receiver: Receiver, *, two_approvers: bool) -> None:
    desk = config_dir / "desk.yaml"
    text = desk.read_text(encoding="utf-8")
    text = text.replace("suggest_in_threads: false", "suggest_in_threads: true")
    text = text.replace(
        "users: [U0APPROVE1, U0APPROVE2]", f"users: [U0APPROVE1, U0APPROVE2, {THIRD_APPROVER}]", 1
    )
    if two_approvers:
        text = text.replace("    two_approvers: []", "    two_approvers: [enquiry]", 1)
    desk.write_text(webhook_config(text, receiver.url), encoding="utf-8")


@pytest.fixture
def config_dir(config_dir: Path, receiver: Receiver, request: pytest.FixtureRequest) -> Path:
    """Suggestions on, a webhook publisher, three council approvers (two needed if marked)."""
    _config(config_dir, receiver, two_approvers=bool(request.node.get_closest_marker("two")))
    return config_dir


@pytest.fixture
def bot(start_bot: Callable[..., BotUnderTest]) -> BotUnderTest:
    return start_bot(environ={SECRET_ENV: SECRET})


def _only_approved_texts_arrived(bot: BotUnderTest, receiver: Receiver) -> None:
    """Every request the platform got carries a text whose version has a complete approval."""
    for delivery in receiver.arrived:
        assert delivery.signed and delivery.fresh
        record = bot.store.suggestion(delivery.body["suggestion"])
        version = record.version(delivery.body["version"])
        assert version.text == delivery.body["text"]
        approvers = {
            a.by
            for a in record.approvals
            if a.version == version.n and a.hash == text_hash(version.text)
        }
        assert len(approvers) >= bot.runtime.services.replies.requirement(record).count
        assert version.author not in approvers


def _nothing_sent(bot: BotUnderTest, receiver: Receiver) -> None:
    assert bot.store.deliveries() == []
    assert receiver.arrived == []


def _edit(bot: BotUnderTest, fake_slack, message: dict, *, user: str, text: str) -> None:
    _click(bot, fake_slack, "suggestion_edit", message, user=user)
    opened = fake_slack.wait_for_calls("views.open", 1)[-1].params["view"]
    answer = _interaction(
        bot,
        {
            "type": "view_submission",
            "team": {"id": "T0COMMS"},
            "user": {"id": user},
            "api_app_id": "A0COMMSBOT",
            "view": {
                "id": "V1",
                "type": "modal",
                "callback_id": "suggestion_edit_view",
                "private_metadata": opened["private_metadata"],
                "state": {
                    "values": {"text": {"text": {"type": "plain_text_input", "value": text}}}
                },
            },
        },
    )
    assert answer.status == 200


def _shown(bot: BotUnderTest, fake_slack, post: str) -> tuple[str, dict]:
    assert bot.intake(intake_post(post)).status == 202
    return _suggestion_shown(bot, fake_slack)


@pytest.mark.two
def test_an_approval_of_v1_does_not_publish_an_edited_v2_until_v2_is_approved(
    bot: BotUnderTest, fake_slack, receiver: Receiver
) -> None:
    suggestion, v1 = _shown(bot, fake_slack, "4001")
    _click(bot, fake_slack, "suggestion_approve", v1, user=APPROVER)  # one of two
    wait_until(lambda: bot.store.suggestion(suggestion).approvals, what="first approval")
    _nothing_sent(bot, receiver)  # a two-approver category with one approval
    _edit(bot, fake_slack, v1, user=OTHER_APPROVER, text="Thanks. We will look into it today.")
    _, v2 = _suggestion_shown(bot, fake_slack, version=2)
    _click(bot, fake_slack, "suggestion_approve", v1, user=THIRD_APPROVER)  # the old button
    wait_until(lambda: _ephemerals(fake_slack, THIRD_APPROVER), what="old version refused")
    _nothing_sent(bot, receiver)
    _click(bot, fake_slack, "suggestion_approve", v2, user=APPROVER)
    wait_until(
        lambda: any(a.version == 2 for a in bot.store.suggestion(suggestion).approvals),
        what="v2's first approval",
    )
    _nothing_sent(bot, receiver)  # v1's approval does not count for v2
    _click(bot, fake_slack, "suggestion_approve", v2, user=THIRD_APPROVER)
    wait_until(lambda: _status(bot, suggestion) is SuggestionStatus.PUBLISHED, what="publishing")
    assert receiver.texts() == ["Thanks. We will look into it today."]
    _only_approved_texts_arrived(bot, receiver)


def test_a_rejected_suggestion_cannot_be_approved_from_its_old_button(
    bot: BotUnderTest, fake_slack, receiver: Receiver
) -> None:
    suggestion, message = _shown(bot, fake_slack, "4002")
    _click(bot, fake_slack, "suggestion_reject", message, user=APPROVER)
    opened = fake_slack.wait_for_calls("views.open", 1)[-1].params["view"]
    reason_block = opened["blocks"][0]
    block_id, action_id = reason_block["block_id"], reason_block["element"]["action_id"]
    _interaction(
        bot,
        {
            "type": "view_submission",
            "team": {"id": "T0COMMS"},
            "user": {"id": APPROVER},
            "api_app_id": "A0COMMSBOT",
            "view": {
                "id": "V2",
                "type": "modal",
                "callback_id": "suggestion_reject_view",
                "private_metadata": opened["private_metadata"],
                "state": {
                    "values": {block_id: {action_id: {"type": "plain_text_input", "value": "Tone"}}}
                },
            },
        },
    )
    wait_until(lambda: _status(bot, suggestion) is SuggestionStatus.REJECTED, what="rejection")
    _click(bot, fake_slack, "suggestion_approve", message, user=OTHER_APPROVER)
    wait_until(lambda: _ephemerals(fake_slack, OTHER_APPROVER), what="approval refused")
    assert _status(bot, suggestion) is SuggestionStatus.REJECTED
    _nothing_sent(bot, receiver)


def test_a_forged_button_naming_another_suggestion_approves_nothing(
    bot: BotUnderTest, fake_slack, receiver: Receiver
) -> None:
    first, message = _shown(bot, fake_slack, "4003")
    other = bot.store.suggestion(first)
    forged = json.dumps({"s": f"{other.theme}.9", "v": 1}, separators=(",", ":"))
    _click(bot, fake_slack, "suggestion_approve", message, user=APPROVER, value=forged)
    wait_until(lambda: _ephemerals(fake_slack, APPROVER), what="forged click refused")
    assert _status(bot, first) is SuggestionStatus.PENDING
    _nothing_sent(bot, receiver)


def test_an_unauthorised_approver_and_a_self_approval_publish_nothing(
    bot: BotUnderTest, fake_slack, receiver: Receiver
) -> None:
    suggestion, v1 = _shown(bot, fake_slack, "4004")
    _click(bot, fake_slack, "suggestion_approve", v1, user=STRANGER)
    wait_until(lambda: _ephemerals(fake_slack, STRANGER), what="stranger refused")
    _nothing_sent(bot, receiver)
    _edit(bot, fake_slack, v1, user=APPROVER, text="My own words, approved by me?")
    _, v2 = _suggestion_shown(bot, fake_slack, version=2)
    _click(bot, fake_slack, "suggestion_approve", v2, user=APPROVER)
    wait_until(lambda: _ephemerals(fake_slack, APPROVER), what="self-approval refused")
    _react(bot, fake_slack, v2, user=APPROVER, name="white_check_mark", event_id="EvSelf")
    wait_until(lambda: len(_ephemerals(fake_slack, APPROVER)) == 2, what="self-reaction refused")
    assert _status(bot, suggestion) is SuggestionStatus.PENDING
    _nothing_sent(bot, receiver)


@pytest.mark.two
def test_a_replayed_reaction_is_one_approval_of_two(
    bot: BotUnderTest, fake_slack, receiver: Receiver
) -> None:
    suggestion, message = _shown(bot, fake_slack, "4005")
    for _ in range(3):  # Slack retries the same event
        _react(bot, fake_slack, message, user=APPROVER, name="white_check_mark", event_id="EvR")
    wait_until(lambda: bot.store.suggestion(suggestion).approvals, what="the approval")
    assert [a.by for a in bot.store.suggestion(suggestion).approvals] == [APPROVER]
    assert _status(bot, suggestion) is SuggestionStatus.PENDING
    _nothing_sent(bot, receiver)


@pytest.mark.two
def test_an_approval_given_before_the_approvers_changed_no_longer_counts(
    start_bot: Callable[..., BotUnderTest],
    bot: BotUnderTest,
    fake_slack,
    receiver: Receiver,
    config_dir: Path,
) -> None:
    suggestion, message = _shown(bot, fake_slack, "4006")
    _click(bot, fake_slack, "suggestion_approve", message, user=APPROVER)
    wait_until(lambda: bot.store.suggestion(suggestion).approvals, what="first approval")
    bot.stop()
    desk = config_dir / "desk.yaml"  # stricter: the first approver is no longer one
    desk.write_text(
        desk.read_text(encoding="utf-8").replace(
            f"users: [U0APPROVE1, U0APPROVE2, {THIRD_APPROVER}]",
            f"users: [U0APPROVE2, {THIRD_APPROVER}]",
            1,
        ),
        encoding="utf-8",
    )
    again = start_bot(environ={SECRET_ENV: SECRET})
    _click(again, fake_slack, "suggestion_approve", message, user=OTHER_APPROVER)
    wait_until(
        lambda: len(again.store.suggestion(suggestion).approvals) == 2, what="second approval"
    )
    assert _status(again, suggestion) is SuggestionStatus.PENDING
    _nothing_sent(again, receiver)
    _click(again, fake_slack, "suggestion_approve", message, user=THIRD_APPROVER)
    wait_until(lambda: _status(again, suggestion) is SuggestionStatus.PUBLISHED, what="publishing")
    assert len(receiver.texts()) == 1
    _only_approved_texts_arrived(again, receiver)


POLITICAL_APPROVER = "U0HEADCOMMS"  # the council's political and crisis approver


def test_a_political_topic_approved_by_an_ordinary_approver_waits_for_a_political_one(
    bot: BotUnderTest, fake_slack, receiver: Receiver
) -> None:
    assert (
        bot.intake(
            intake_post("4007", text="Why did the councillor vote to close the library?")
        ).status
        == 202
    )
    suggestion, message = _suggestion_shown(bot, fake_slack)
    assert bot.store.suggestion(suggestion).political
    _click(bot, fake_slack, "suggestion_approve", message, user=APPROVER)
    wait_until(lambda: _ephemerals(fake_slack, APPROVER), what="ordinary approval refused")
    assert "political" in _ephemerals(fake_slack, APPROVER)[0]
    _react(bot, fake_slack, message, user=OTHER_APPROVER, name="white_check_mark", event_id="EvP")
    wait_until(lambda: _ephemerals(fake_slack, OTHER_APPROVER), what="reaction refused")
    assert _status(bot, suggestion) is SuggestionStatus.PENDING
    _nothing_sent(bot, receiver)
    _click(bot, fake_slack, "suggestion_approve", message, user=POLITICAL_APPROVER)
    wait_until(lambda: _status(bot, suggestion) is SuggestionStatus.PUBLISHED, what="publishing")
    assert [d.body["approved_by"] for d in receiver.accepted] == [[POLITICAL_APPROVER]]
    _only_approved_texts_arrived(bot, receiver)


def test_in_crisis_mode_only_the_crisis_approvers_approval_publishes(
    bot: BotUnderTest, fake_slack, receiver: Receiver
) -> None:
    now = bot.runtime.services.clock()
    bot.store.set_crisis(
        Crisis("flooding", POLITICAL_APPROVER, now), by=POLITICAL_APPROVER, now=now
    )
    suggestion, message = _shown(bot, fake_slack, "4008")
    for user in (APPROVER, OTHER_APPROVER):
        _click(bot, fake_slack, "suggestion_approve", message, user=user)
        wait_until(lambda u=user: _ephemerals(fake_slack, u), what="ordinary approval refused")
        assert "crisis approver" in _ephemerals(fake_slack, user)[0]
    assert _status(bot, suggestion) is SuggestionStatus.PENDING
    _nothing_sent(bot, receiver)
    _click(bot, fake_slack, "suggestion_approve", message, user=POLITICAL_APPROVER)
    wait_until(lambda: _status(bot, suggestion) is SuggestionStatus.PUBLISHED, what="publishing")
    assert [d.body["approved_by"] for d in receiver.accepted] == [[POLITICAL_APPROVER]]
    _only_approved_texts_arrived(bot, receiver)
