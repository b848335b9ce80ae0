"""Hostile or malformed intake bodies: a clear 4xx naming the problem, never a 500."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import BotUnderTest, intake_post


def _errors(answer) -> list[tuple[str, str]]:
    [result] = answer.json()["results"]
    return [(e["field"], e["message"]) for e in result["errors"]]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(b"[" * 1000 + b"]" * 1000, "nested too deeply", id="nested array body"),
        pytest.param(b"[" * 100_000, "not valid JSON", id="unclosed nesting"),
    ],
)
def test_unreadable_bodies_are_400_naming_the_problem(
    bot: BotUnderTest, raw: bytes, message: str
) -> None:
    answer = bot.intake(None, raw=raw)
    assert answer.status == 400
    assert answer.json()["error"] == "invalid_body"
    assert message in answer.json()["message"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(
            b'{"id": "1", "text": ' + b"[" * 1000 + b"]" * 1000 + b"}",
            "nested too deeply",
            id="a deeply nested field",
        ),
        pytest.param(
            json.dumps(intake_post("8001"))
            .replace('"followers": 120', '"followers": ' + "9" * 5000)
            .encode(),
            "not valid JSON",
            id="an integer of 5,000 digits",
        ),
    ],
)
def test_items_that_cannot_be_read_are_400_with_the_items_error(
    bot: BotUnderTest, raw: bytes, message: str
) -> None:
    answer = bot.intake(None, raw=raw)
    assert answer.status == 400
    [(_field, error)] = _errors(answer)
    assert message in error


@pytest.mark.parametrize(
    "posted_at",
    [
        "0001-01-01T00:30:00+01:00",  # before year 1 in UTC
        "9999-12-31T23:30:00-01:00",  # after year 9999 in UTC
        "0",
        "1700000000",
        "2026-11-20",
        "2026-11-20T09:14:00",
        "20 November 2026 09:14 GMT",
    ],
)
def test_posted_at_must_be_a_date_time_with_an_offset_in_range(
    bot: BotUnderTest, posted_at: str
) -> None:
    answer = bot.intake(intake_post("8101", posted_at=posted_at))
    assert answer.status == 400, posted_at
    [(field, _)] = _errors(answer)
    assert field == "posted_at"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("network", "x\x1f"),
        ("network", "x\u2028"),
        ("account", "council\x00"),
        ("id", "8201\n"),
        ("id", "82\t01"),
        ("author.handle", "@someone\r"),
    ],
)
def test_control_characters_in_identifiers_are_refused(
    bot: BotUnderTest, field: str, value: str
) -> None:
    post = intake_post("8201")
    if field == "author.handle":
        post["author"]["handle"] = value
    else:
        post[field] = value
    answer = bot.intake(post)
    assert answer.status == 400
    assert (field, "must not contain control characters or line breaks") in _errors(answer)
    assert bot.store.outbox_stats(bot.runtime.services.clock()).pending == 0


def test_a_valid_posted_at_is_stored_in_utc(bot: BotUnderTest) -> None:
    assert bot.intake(intake_post("8301", posted_at="2026-11-20T10:14:00+01:00")).status == 202
    assert bot.store.get_post_record("x:8301")["posted_at"] == "2026-11-20T09:14:00+00:00"


@pytest.fixture
def five_at_a_time(config_dir: Path) -> Path:
    desk = config_dir / "desk.yaml"
    desk.write_text(desk.read_text().replace("max_items: 1000", "max_items: 5"))
    return config_dir


def test_too_many_items_is_413_naming_the_limit(five_at_a_time: Path, start_bot) -> None:
    bot = start_bot()
    posts = [intake_post(f"84{n:02d}") for n in range(6)]
    for raw in (
        json.dumps(posts).encode(),
        "\n".join(json.dumps(p) for p in posts).encode(),
        json.dumps([{}] * 300_000, separators=(",", ":")).encode(),
    ):
        answer = bot.intake(None, raw=raw)
        assert answer.status == 413
        assert answer.json()["error"] == "too_many_items"
        assert answer.json()["max_items"] == 5
        assert "intake.max_items" in answer.json()["message"]
    assert bot.store.outbox_stats(bot.runtime.services.clock()).pending == 0
    assert bot.intake(posts[:5]).status == 202


def test_errors_echoed_are_capped_and_the_rest_counted(bot: BotUnderTest) -> None:
    body = [intake_post("8500")] + [{"id": str(n)} for n in range(300)]
    answer = bot.intake(body)
    assert answer.status == 202
    reply = answer.json()
    assert (reply["accepted"], reply["invalid"]) == (1, 300)
    assert len(reply["results"]) == 1 + 50
    assert reply["invalid_not_shown"] == 250
    assert "250 more were left out" in reply["message"]
    assert len(answer.body) < 50_000


def test_a_thousand_post_batch_is_stored_and_queued(bot: BotUnderTest, fake_slack) -> None:
    fake_slack.go_down()
    posts = [intake_post(f"86{n:04d}", text=f"When is the tip open? ({n})") for n in range(1000)]
    answer = bot.intake(posts)
    assert answer.status == 202
    assert answer.json()["accepted"] == 1000
    # One theme: one view waits for Slack, listing all thousand posts.
    assert bot.store.outbox_stats(bot.runtime.services.clock()).pending == 1
    [stored] = bot.store.open_themes()
    assert stored.theme.post_count == 1000
    assert bot.store.get_post_record("x:860999")["theme"] == stored.theme.ref
    again = bot.intake([*posts[:10], intake_post("87000")])
    assert [r["status"] for r in again.json()["results"]] == ["duplicate"] * 10 + ["accepted"]
