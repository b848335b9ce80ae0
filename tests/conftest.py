"""Shared fixtures: a local fake Slack Web API and the real bot served over loopback."""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.demo.slack_requests import event_callback, signed_headers, slash_command
from bot.fakeslack import FakeSlack
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from bot.web.intake import SIGNATURE_HEADER, sign

REPO = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO / "config"
SIGNING_SECRET = "test-signing-secret-0123456789"
INTAKE_SECRET = "test-intake-secret-0123456789"
BOT_TOKEN = "xoxb-test-token"


@dataclass(frozen=True)
class Answer:
    """An HTTP answer from the bot."""

    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _http(request: urllib.request.Request) -> Answer:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Answer(response.status, response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return Answer(exc.code, exc.read())


def http_post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST and return the answer whatever its status."""
    return _http(urllib.request.Request(url, data=body, headers=headers, method="POST"))


def http_get(url: str) -> Answer:
    """GET and return the answer whatever its status."""
    return _http(urllib.request.Request(url, method="GET"))


def recently() -> str:
    """A posting time a few minutes ago: posts of a theme join it only while it is open."""
    return (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0).isoformat()


def intake_post(
    post_id: str = "1001",
    *,
    text: str = "When is the recycling centre on Mill Road open this weekend?",
    account: str = "council",
    network: str = "x",
    **extra: Any,
) -> dict[str, Any]:
    """One post in the intake format."""
    return {
        "id": post_id,
        "network": network,
        "account": account,
        "author": {"handle": "@resident_one", "name": "A Resident", "followers": 120},
        "text": text,
        "url": f"https://x.com/resident_one/status/{post_id}",
        "posted_at": recently(),
        "kind": "post",
    } | extra


class BotUnderTest:
    """The real bot on a loopback port, with helpers to talk to it as Slack and tools do."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @property
    def url(self) -> str:
        return self.runtime.base_url

    @property
    def store(self):
        return self.runtime.services.store

    def intake(
        self, payload: Any, *, secret: str = INTAKE_SECRET, raw: bytes | None = None
    ) -> Answer:
        body = raw if raw is not None else json.dumps(payload).encode("utf-8")
        return http_post(
            f"{self.url}/intake",
            body,
            {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret)},
        )

    def slack(
        self,
        body: bytes,
        content_type: str,
        *,
        secret: str = SIGNING_SECRET,
        timestamp: int | None = None,
    ) -> Answer:
        headers = {"Content-Type": content_type} | signed_headers(
            body, signing_secret=secret, timestamp=timestamp
        )
        return http_post(f"{self.url}/slack/events", body, headers)

    def command(self, text: str, **kwargs: Any) -> Answer:
        body, content_type = slash_command(text, **kwargs)
        return self.slack(body, content_type)

    def event(self, event: dict[str, Any], *, event_id: str) -> Answer:
        body, content_type = event_callback(event, event_id=event_id)
        return self.slack(body, content_type)

    def stop(self) -> None:
        self.runtime.stop()


def wait_until(
    predicate: Callable[[], bool], *, timeout: float = 10.0, what: str = "condition"
) -> None:
    """Poll until `predicate()` is true; fail the test naming `what` if it never is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack(bot_token=BOT_TOKEN) as slack:
        yield slack


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A private copy of the shipped configuration with fast retries for tests."""
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    desk = (target / "desk.yaml").read_text(encoding="utf-8")
    desk = desk.replace("backoff_initial_seconds: 2", "backoff_initial_seconds: 0.1")
    desk = desk.replace("backoff_max_seconds: 300", "backoff_max_seconds: 0.5")
    # Pace channels lightly and never count one as busy: tests post bursts and want them
    # shown at once (pacing and allowances have tests of their own, on a controlled clock).
    desk = desk.replace("pace_seconds: 1.1", "pace_seconds: 0.02")
    desk = desk.replace("busy_posts_per_second: 0.5", "busy_posts_per_second: 1000")
    # Suggested replies add thread messages; tests of them switch them on (test_replies).
    desk = desk.replace("suggest_in_threads: true", "suggest_in_threads: false")
    (target / "desk.yaml").write_text(desk, encoding="utf-8")
    return target


@pytest.fixture
def start_bot(
    fake_slack: FakeSlack, config_dir: Path, tmp_path: Path
) -> Iterator[Callable[..., BotUnderTest]]:
    """Start the real bot (call again after stopping to restart it on the same data)."""
    started: list[BotUnderTest] = []

    def start(
        *,
        data_dir: Path | None = None,
        clock: Callable[[], datetime] | None = None,
        environ: dict[str, str] | None = None,
        **runtime_options: Any,
    ) -> BotUnderTest:
        settings = Settings(
            bot_token=BOT_TOKEN,
            signing_secret=SIGNING_SECRET,
            app_token=None,
            intake_secret=INTAKE_SECRET,
            api_url=fake_slack.url,
            config_dir=config_dir,
            data_dir=data_dir or tmp_path / "data",
            port=0,
            environ=environ or {},
        )
        kwargs: dict[str, Any] = ({"clock": clock} if clock else {}) | runtime_options
        kwargs.setdefault("outbox_idle_seconds", 0.1)
        runtime = build_runtime(settings, host="127.0.0.1", **kwargs)
        runtime.start()
        bot = BotUnderTest(runtime)
        started.append(bot)
        return bot

    yield start
    for bot in started:
        bot.stop()


@pytest.fixture
def bot(start_bot: Callable[..., BotUnderTest]) -> BotUnderTest:
    return start_bot()


def fixed_clock(instant: datetime) -> Callable[[], datetime]:
    """A clock that always says `instant`."""
    assert instant.tzinfo is not None
    return lambda: instant.astimezone(UTC)
