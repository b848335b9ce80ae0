"""Hostile or malformed requests to /slack/events: 401 or 400, never 500, never logged."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
import yaml
from slack_sdk.signature import SignatureVerifier

from bot.demo.slack_requests import signed_headers, slash_command
from bot.slack.ids import Command, Event
from tests.conftest import REPO, SIGNING_SECRET, BotUnderTest, http_post

MARKER = "PRIVATE-WORDS-FROM-THE-PUBLIC"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def _command_without(field: str) -> bytes:
    body, _ = slash_command(f"flag {MARKER}")
    fields = dict(pair.split("=", 1) for pair in body.decode().split("&"))
    del fields[field]
    return "&".join(f"{k}={v}" for k, v in fields.items()).encode()


def _refusals(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("refused ")]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b"\xff\xfe" + MARKER.encode(), FORM, id="not UTF-8"),
        pytest.param(b'{"type": ' + MARKER.encode(), JSON, id="not JSON"),
        pytest.param(b"payload=" + MARKER.encode(), FORM, id="payload not JSON"),
        pytest.param(MARKER.encode() * 30_000, JSON, id="a large body"),
    ],
)
def test_unsigned_bodies_are_401_and_never_logged(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture, body: bytes, content_type: str
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = http_post(f"{bot.url}/slack/events", body, {"Content-Type": content_type})
    assert answer.status == 401
    [refusal] = _refusals(caplog)
    assert refusal.getMessage() == (
        f"refused POST /slack/events: 401 missing or non-numeric X-Slack-Request-Timestamp "
        f"({len(body)} bytes)"
    )
    assert not any(MARKER in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("timestamp", "reason"),
    [
        ("soon", "missing or non-numeric X-Slack-Request-Timestamp"),
        ("1e9", "missing or non-numeric X-Slack-Request-Timestamp"),
        ("-5", "missing or non-numeric X-Slack-Request-Timestamp"),
        (str(int(time.time()) - 600), "stale X-Slack-Request-Timestamp"),
        (str(int(time.time()) + 600), "stale X-Slack-Request-Timestamp"),
        # More digits than Python turns into a number (4,300): a 500 before it was checked.
        ("1" * 5000, "missing or non-numeric X-Slack-Request-Timestamp"),
        ("0" * 4990 + str(int(time.time())), "missing or non-numeric X-Slack-Request-Timestamp"),
    ],
    # Ids that do not hold the clock: each xdist worker collects at its own second.
    ids=["word", "float", "negative", "past", "future", "many-digits", "zero-padded"],
)
def test_a_bad_timestamp_is_401_even_when_signed_with_it(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture, timestamp: str, reason: str
) -> None:
    body, content_type = slash_command("help")
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(
        timestamp=timestamp, body=body.decode()
    )
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }
    answer = http_post(f"{bot.url}/slack/events", body, headers)
    assert answer.status == 401
    assert answer.json()["message"] == reason


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b"[1, 2, 3]", JSON, id="a JSON list"),
        pytest.param(b'"just a string"', JSON, id="a JSON string"),
        pytest.param(b"null", JSON, id="JSON null"),
        pytest.param(b'{"no": "type"}', JSON, id="an object without a type"),
        pytest.param(b'{"type": "event_callback", "event": [1]}', JSON, id="event not an object"),
        pytest.param(b'{"type": "url_verification"}', JSON, id="no challenge"),
        pytest.param(b"payload=%7Bnot%20json", FORM, id="payload not JSON"),
        pytest.param(b"payload=%5B1%5D", FORM, id="payload a list"),
        pytest.param(slash_command("help")[0], JSON, id="form body sent as JSON"),
        pytest.param(_command_without("user_id"), FORM, id="slash command without user_id"),
        pytest.param(_command_without("command"), FORM, id="slash command without command"),
        pytest.param(b"\xff\xfe", FORM, id="not UTF-8"),
        pytest.param(b"[" * 5000 + b"]" * 5000, JSON, id="deeply nested"),
        pytest.param(b'{"type": "x", "n": ' + b"9" * 5000 + b"}", JSON, id="a huge integer"),
        pytest.param(b"", FORM, id="empty"),
    ],
)
def test_signed_but_malformed_bodies_are_400(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture, body: bytes, content_type: str
) -> None:
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": str(int(time.time()))}
    base = b"v0:" + headers["X-Slack-Request-Timestamp"].encode() + b":" + body
    headers["X-Slack-Signature"] = (
        "v0=" + hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
    )
    answer = http_post(f"{bot.url}/slack/events", body, headers)
    assert answer.status == 400, answer.body
    assert answer.json()["error"] == "invalid_body"
    assert len(_refusals(caplog)) == 1
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)


def test_the_messages_tab_and_other_events_are_acknowledged_quietly(
    bot: BotUnderTest, fake_slack, caplog: pytest.LogCaptureFixture
) -> None:
    events = [
        {"type": "app_home_opened", "user": "U0STAFF01", "channel": "D0HOME", "tab": "messages"},
        {"type": "app_uninstalled"},
        {"type": "tokens_revoked", "tokens": {"bot": ["U0BOT"]}},
        {"type": "message", "channel": "D0HOME", "user": "U0STAFF01", "text": MARKER},
    ]
    for number, event in enumerate(events):
        answer = bot.event(event, event_id=f"EvQuiet{number}")
        assert answer.status == 200, event
    rate_limited = json.dumps({"type": "app_rate_limited", "minute_rate_limited": 1}).encode()
    assert bot.slack(rate_limited, JSON).status == 200
    bot.runtime.listeners.shutdown(wait=True)
    assert fake_slack.calls_to("views.publish") == []
    assert not any(MARKER in r.getMessage() for r in caplog.records)
    assert not any(
        r.levelno >= logging.WARNING and "Unhandled" in r.getMessage() for r in caplog.records
    )


def test_the_manifest_promises_only_what_the_handlers_do() -> None:
    manifest = yaml.safe_load(Path(REPO / "manifest.yml").read_text(encoding="utf-8"))
    features, settings = manifest["features"], manifest["settings"]
    home = features["app_home"]
    # A read-only Messages tab needs the Messages tab.
    assert home["messages_tab_read_only_enabled"] is False or home["messages_tab_enabled"]
    assert [c["command"] for c in features["slash_commands"]] == [c.value for c in Command]
    assert settings["event_subscriptions"]["bot_events"] == [e.value for e in Event]
    # Buttons, modals and the shortcut are handled: interactivity on, at the same URL.
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"].endswith("/slack/events")


def test_a_signed_command_and_slacks_certificate_check_still_work(bot: BotUnderTest) -> None:
    body, content_type = slash_command("help")
    headers = {"Content-Type": content_type} | signed_headers(body, signing_secret=SIGNING_SECRET)
    assert http_post(f"{bot.url}/slack/events", body, headers).status == 200
    body = urlencode({"ssl_check": "1", "token": "x"}).encode()
    headers = {"Content-Type": FORM} | signed_headers(body, signing_secret=SIGNING_SECRET)
    assert http_post(f"{bot.url}/slack/events", body, headers).status == 200
