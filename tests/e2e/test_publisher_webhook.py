"""The webhook publisher end to end: an approved reply is POSTed, signed, to a local stand-in
for the social media platform; failures are retried with the same Idempotency-Key until it
answers, and a refusal (4xx) is reported in the thread and not retried."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.core.approval import SuggestionStatus
from bot.core.theme_state import ThemeStatus
from tests.conftest import BotUnderTest, intake_post, wait_until
from tests.e2e.receiver import SECRET, SECRET_ENV, Receiver, running_receiver, webhook_config
from tests.e2e.test_replies import APPROVER, CHANNEL, _click, _status, _suggestion_shown


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from running_receiver()


@pytest.fixture
def config_dir(config_dir: Path, receiver: Receiver) -> Path:
    """Suggestions on; the council account publishes to the receiver."""
    desk = config_dir / "desk.yaml"
    text = desk.read_text(encoding="utf-8")
    text = text.replace("suggest_in_threads: false", "suggest_in_threads: true")
    desk.write_text(webhook_config(text, receiver.url), encoding="utf-8")
    return config_dir


@pytest.fixture
def bot(start_bot: Callable[..., BotUnderTest]) -> BotUnderTest:
    return start_bot(environ={SECRET_ENV: SECRET})


def _thread_says(fake_slack, words: str) -> bool:
    return any(words in (m.get("text") or "") for m in fake_slack.messages(CHANNEL))


def _approve(bot: BotUnderTest, fake_slack, post: str) -> str:
    assert bot.intake(intake_post(post)).status == 202
    suggestion, message = _suggestion_shown(bot, fake_slack)
    assert _click(bot, fake_slack, "suggestion_approve", message, user=APPROVER).status == 200
    return suggestion


def test_an_approved_reply_reaches_the_platform_once_signed_and_the_theme_is_answered(
    bot: BotUnderTest, fake_slack, receiver: Receiver
) -> None:
    suggestion = _approve(bot, fake_slack, "3001")
    wait_until(lambda: _status(bot, suggestion) is SuggestionStatus.PUBLISHED, what="publishing")
    record = bot.store.suggestion(suggestion)
    [delivery] = receiver.arrived
    assert delivery.signed and delivery.fresh
    assert delivery.key == f"{suggestion}.1"
    assert delivery.body["text"] == record.latest.text
    assert delivery.body["approved_by"] == [APPROVER]
    assert delivery.body["theme"] == record.theme
    wait_until(
        lambda: bot.store.theme(record.theme).theme.status is ThemeStatus.ANSWERED,
        what="the theme marked answered (saved after the suggestion is)",
    )
    wait_until(lambda: _thread_says(fake_slack, '{"id":"P1"}'), what="the platform's answer")


def test_a_platform_that_fails_then_answers_gets_the_reply_once_under_one_key(
    bot: BotUnderTest, fake_slack, receiver: Receiver
) -> None:
    receiver.script.extend([(500, "busy"), None, (200, '{"id":"P42"}')])
    suggestion = _approve(bot, fake_slack, "3002")
    wait_until(lambda: _status(bot, suggestion) is SuggestionStatus.PUBLISHED, what="publishing")
    assert [d.status for d in receiver.arrived] == [500, 0, 200]
    assert {d.key for d in receiver.arrived} == {f"{suggestion}.1"}
    assert all(d.signed and d.fresh for d in receiver.arrived)
    assert receiver.texts() == [bot.store.suggestion(suggestion).latest.text]
    wait_until(lambda: _thread_says(fake_slack, '{"id":"P42"}'), what="the platform's answer")


def test_a_refusal_is_reported_in_the_thread_as_permanent_and_not_retried(
    bot: BotUnderTest, fake_slack, receiver: Receiver
) -> None:
    receiver.script.append((422, "text contains a banned word"))
    suggestion = _approve(bot, fake_slack, "3003")
    wait_until(
        lambda: _thread_says(fake_slack, "refused version 1 for good"), what="the failure note"
    )
    assert _thread_says(fake_slack, "text contains a banned word")
    [delivery] = bot.store.deliveries()
    assert delivery["state"] == "failed"  # the worker never attempts a failed delivery again
    assert [d.status for d in receiver.arrived] == [422]
    assert _status(bot, suggestion) is SuggestionStatus.APPROVED  # approved, not published
    assert receiver.texts() == []
