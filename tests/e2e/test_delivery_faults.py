"""Faults while delivering: a broken disk, a slow Slack, rate limits and outages.

Asserted by what reaches the fake Slack, what /healthz says and what is on disk, so the
tests hold whatever the outbox looks like inside.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.slack.client import outbox_client
from bot.slack.outbox import OutboxWorker
from bot.storage import Store, atomic
from tests.conftest import BOT_TOKEN, BotUnderTest, http_get, intake_post, wait_until
from tests.storage.test_store import ROUTED, make_post

ENQUIRIES = "#comms-enquiries"
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


class Disk:
    """Makes writes under chosen folders of the data directory fail, as a broken disk does."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.broken: tuple[str, int] | None = None
        self.unreadable: str | None = None
        real_write, real_read = atomic._write_temp, atomic.read_data_file

        def write_temp(path: Path, text: str) -> str:
            if self.broken is not None and f"/{self.broken[0]}" in str(path):
                raise OSError(self.broken[1], "simulated: " + errno.errorcode[self.broken[1]])
            return real_write(path, text)

        def read_data_file(path: Path) -> dict | None:
            if self.unreadable is not None and f"/{self.unreadable}" in str(path):
                raise atomic.CorruptFileError(path, "simulated: checksum mismatch")
            return real_read(path)

        monkeypatch.setattr(atomic, "_write_temp", write_temp)
        monkeypatch.setattr(atomic, "read_data_file", read_data_file)

    def breaks(self, where: str, error: int) -> None:
        self.broken = (where, error)

    def heals(self) -> None:
        self.broken = self.unreadable = None


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> Iterator[Disk]:
    yield Disk(monkeypatch)


def _health(bot: BotUnderTest) -> tuple[int, dict]:
    answer = http_get(f"{bot.url}/healthz")
    return answer.status, answer.json()


@pytest.mark.parametrize(
    ("where", "error"),
    [
        pytest.param("", errno.EROFS, id="data directory made read-only"),
        pytest.param("", errno.ENOSPC, id="disk full"),
        pytest.param("posts/", errno.EIO, id="posts file unwritable"),
        pytest.param("audit/", errno.EACCES, id="audit file unwritable"),
        pytest.param("index/", 0, id="index file unreadable"),
        pytest.param("posts/", 0, id="posts file unreadable"),
    ],
)
def test_a_message_slack_accepted_is_never_sent_again_when_bookkeeping_fails(
    bot: BotUnderTest, fake_slack, disk: Disk, where: str, error: int
) -> None:
    fake_slack.go_down()
    posts = [intake_post(f"92{n}", text=f"Is the library open? ({n})") for n in range(3)]
    assert bot.intake(posts).status == 202
    if error:
        disk.breaks(where, error)
    else:
        disk.unreadable = where
        bot.store._forget_memory()  # as if the files had dropped out of its cache
    fake_slack.come_up()
    fake_slack.wait_for_calls("chat.postMessage", 1)
    wait_until(lambda: _health(bot)[0] == 503, what="/healthz to report the broken disk")
    _, body = _health(bot)
    assert "stopped sending: the data directory cannot be written or read" in body["delivery"]
    for _ in range(3):  # however often the worker looks, nothing more is sent
        bot.runtime.outbox.deliver_due()
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    disk.heals()
    bot.runtime.outbox.deliver_due()
    wait_until(lambda: len(fake_slack.messages(ENQUIRIES)) == 3, what="the rest delivered")
    shown = [str(m["blocks"]) for m in fake_slack.messages(ENQUIRIES)]
    assert all(f"({n})" in shown[n] for n in range(3))  # each once, in order
    assert len(fake_slack.calls_to("chat.postMessage")) == 3
    wait_until(lambda: _health(bot)[0] == 200, what="/healthz healthy again")
    record = bot.store.get_post_record("x:920")
    assert record["delivery"]["channel_id"] == fake_slack.channel_id("comms-enquiries")


def test_intake_answers_503_while_the_disk_refuses_writes(bot: BotUnderTest, disk: Disk) -> None:
    disk.breaks("", errno.ENOSPC)
    answer = bot.intake(intake_post("9301"))
    assert answer.status == 503
    assert answer.json()["error"] == "storage_unavailable"
    disk.heals()
    assert bot.intake(intake_post("9301")).status == 202


def test_a_slow_slack_that_took_the_message_gets_it_once(start_bot, fake_slack) -> None:
    bot = start_bot(outbox_send_timeout=0.5)
    fake_slack.answer_late("chat.postMessage", seconds=5)
    assert bot.intake(intake_post("9401")).status == 202
    wait_until(
        lambda: (bot.store.get_post_record("x:9401") or {}).get("delivery"),
        what="the delivery to be recorded",
    )
    assert len(fake_slack.messages(ENQUIRIES)) == 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert fake_slack.calls_to("conversations.history")
    wait_until(lambda: _health(bot)[0] == 200, what="/healthz healthy again")


def test_a_slow_slack_that_lost_the_message_causes_at_most_one_duplicate(
    start_bot, fake_slack
) -> None:
    bot = start_bot(outbox_send_timeout=0.5)
    fake_slack.delay("chat.postMessage", seconds=2)  # answered, and posted, only after 2 s
    assert bot.intake(intake_post("9501")).status == 202
    wait_until(
        lambda: (bot.store.get_post_record("x:9501") or {}).get("delivery"),
        what="the resend after looking in the channel",
    )
    fake_slack.wait_for_calls("chat.postMessage", 2)  # the slow first one lands too
    assert len(fake_slack.messages(ENQUIRIES)) == 2
    bot.runtime.outbox.deliver_due()
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


def _worker(store: Store, fake_slack, *, initial: float, maximum: float) -> OutboxWorker:
    return OutboxWorker(
        store=store,
        client=outbox_client(token=BOT_TOKEN, base_url=fake_slack.url, timeout=5),
        backoff_initial=initial,
        backoff_max=maximum,
        clock=lambda: NOW,
    )


def _queue_one(store: Store) -> None:
    store.accept_post(
        make_post("q1"),
        ROUTED,
        channel=ENQUIRIES,
        message=("fallback", [{"type": "divider"}]),
        now=NOW,
    )


def test_rate_limits_wait_for_retry_after_and_do_not_grow_the_backoff(
    tmp_path: Path, fake_slack
) -> None:
    with Store(tmp_path) as store:
        _queue_one(store)
        worker = _worker(store, fake_slack, initial=2, maximum=300)
        fake_slack.rate_limit("chat.postMessage", retry_after=0, times=3)
        fake_slack.server_error("chat.postMessage", status=503)
        for _ in range(4):
            worker.deliver_due()
        [item] = store.outbox_items()
        assert item.attempts == 4
        # Three 429s cost nothing: the 503 waits the first backoff step, not the fourth.
        assert item.next_attempt_at == NOW + timedelta(seconds=2)
        fake_slack.rate_limit("chat.postMessage", retry_after=30)
        store.mark_retry(item, error="x", next_attempt_at=NOW, now=NOW)
        assert worker.deliver_due() == 30.0
        assert worker.deliver_due() == 30.0  # not tried again before Retry-After
        statuses = [c.status for c in fake_slack.calls_to("chat.postMessage")]
        assert statuses == [429, 429, 429, 503, 429]


def test_the_backlog_resumes_as_soon_as_slack_is_back(tmp_path: Path, fake_slack) -> None:
    """The clock never moves here: only noticing that Slack is back can deliver."""
    with Store(tmp_path) as store:
        _queue_one(store)
        worker = _worker(store, fake_slack, initial=300, maximum=300)
        fake_slack.go_down()
        assert worker.deliver_due() == 300.0
        assert "Slack" in (worker.problem() or "")
        fake_slack.come_up()
        assert worker.deliver_due() is None
        assert len(fake_slack.messages(ENQUIRIES)) == 1
        assert worker.problem() is None


def test_healthz_is_unhealthy_while_slack_is_down_and_healthy_after(
    bot: BotUnderTest, fake_slack
) -> None:
    fake_slack.go_down()
    assert bot.intake(intake_post("9601")).status == 202
    wait_until(lambda: _health(bot)[0] == 503, what="/healthz to report Slack down")
    assert "Slack: connection" in _health(bot)[1]["delivery"]
    fake_slack.come_up()
    wait_until(lambda: fake_slack.messages(ENQUIRIES), what="delivery")
    wait_until(lambda: _health(bot)[0] == 200, what="/healthz healthy again")
