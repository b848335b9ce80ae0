"""Faults while delivering: a broken disk, a slow Slack, outages and /healthz.

Asserted by what reaches the fake Slack, what /healthz says and what is on disk, so the
tests hold whatever the outbox looks like inside.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.storage import atomic
from tests.conftest import BotUnderTest, http_get, intake_post, wait_until
from tests.e2e.views import all_shown, parents, shown, thread_text

ENQUIRIES = "#comms-enquiries"


class Disk:
    """Makes writes under chosen folders of the data directory fail, as a broken disk does."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.broken: tuple[str, int] | None = None
        self.unreadable: str | None = None
        # With a condition, the disk breaks only once it holds (checked at each write).
        self.once: Callable[[], bool] | None = None
        real_write, real_read = atomic._write_temp, atomic.read_data_file

        def write_temp(path: Path, text: str) -> str:
            if (
                self.broken is not None
                and f"/{self.broken[0]}" in str(path)
                and (self.once is None or self.once())
            ):
                raise OSError(self.broken[1], "simulated: " + errno.errorcode[self.broken[1]])
            return real_write(path, text)

        def read_data_file(path: Path) -> dict | None:
            if self.unreadable is not None and f"/{self.unreadable}" in str(path):
                raise atomic.CorruptFileError(path, "simulated: checksum mismatch")
            return real_read(path)

        monkeypatch.setattr(atomic, "_write_temp", write_temp)
        monkeypatch.setattr(atomic, "read_data_file", read_data_file)

    def breaks(self, where: str, error: int, *, once: Callable[[], bool] | None = None) -> None:
        self.broken, self.once = (where, error), once

    def heals(self) -> None:
        self.broken = self.unreadable = self.once = None


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> Iterator[Disk]:
    yield Disk(monkeypatch)


def _health(bot: BotUnderTest) -> tuple[int, dict]:
    answer = http_get(f"{bot.url}/healthz")
    return answer.status, answer.json()


def _library_posts() -> list[dict]:
    return [intake_post(f"92{n}", text=f"Is the library open? ({n})") for n in range(3)]


@pytest.mark.parametrize(
    ("where", "error"),
    [
        pytest.param("", errno.EROFS, id="data directory made read-only"),
        pytest.param("", errno.ENOSPC, id="disk full"),
        pytest.param("themes/", errno.EIO, id="theme file unwritable"),
        pytest.param("themes/open/", errno.EACCES, id="open themes unwritable"),
    ],
)
def test_what_slack_accepted_is_never_sent_again_when_bookkeeping_fails(
    bot: BotUnderTest, fake_slack, disk: Disk, where: str, error: int
) -> None:
    fake_slack.go_down()
    assert bot.intake(_library_posts()).status == 202
    # The disk breaks exactly when Slack has accepted the first message: the worker's own
    # writes before that send (retry times, markers) still succeed, so the send happens
    # and only its bookkeeping fails, whichever way the threads are scheduled. (The fake
    # records a call before it answers, so the worker's next write sees it.)
    disk.breaks(where, error, once=lambda: bool(fake_slack.calls_to("chat.postMessage")))
    fake_slack.come_up()
    fake_slack.wait_for_calls("chat.postMessage", 1)
    stopped = "stopped sending: the data directory cannot be written or read"
    wait_until(lambda: stopped in _health(bot)[1]["delivery"], what="delivery stopped")
    assert _health(bot)[0] == 503
    for _ in range(3):  # however often the worker looks, nothing more is sent
        bot.runtime.outbox.deliver_due()
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    disk.heals()
    bot.runtime.outbox.deliver_due()
    all_shown(bot)
    assert len(parents(fake_slack, ENQUIRIES)) == 1  # the parent was posted once
    listed = thread_text(fake_slack, ENQUIRIES)
    assert all(listed.count(f"({n})") == 1 for n in range(3))  # each post once, in order
    assert [listed.index(f"({n})") for n in range(3)] == sorted(
        listed.index(f"({n})") for n in range(3)
    )
    wait_until(lambda: _health(bot)[0] == 200, what="/healthz healthy again")
    record = bot.store.get_post_record("x:920")
    view = bot.store.theme(record["theme"]).view(ENQUIRIES)
    assert view.channel_id == fake_slack.channel_id("comms-enquiries")


@pytest.mark.parametrize("where", ["themes/", "posts/", "index/"])
def test_an_unreadable_file_stops_delivery_and_nothing_is_lost(
    bot: BotUnderTest, fake_slack, disk: Disk, where: str
) -> None:
    fake_slack.go_down()
    assert bot.intake(_library_posts()).status == 202
    disk.unreadable = where
    bot.store._forget_memory()  # as if the files had dropped out of its cache
    fake_slack.come_up()
    wait_until(
        lambda: "cannot be written or read" in _health(bot)[1]["delivery"],
        what="/healthz to report the unreadable file",
    )
    assert _health(bot)[0] == 503
    disk.heals()
    bot.runtime.outbox.deliver_due()
    all_shown(bot)
    assert all(shown(fake_slack, ENQUIRIES).count(f"({n})") >= 1 for n in range(3))
    wait_until(lambda: _health(bot)[0] == 200, what="/healthz healthy again")


def test_intake_answers_503_while_the_disk_refuses_writes(bot: BotUnderTest, disk: Disk) -> None:
    disk.breaks("", errno.ENOSPC)
    answer = bot.intake(intake_post("9301"))
    assert answer.status == 503
    assert answer.json()["error"] == "storage_unavailable"
    disk.heals()
    assert bot.intake(intake_post("9301")).status == 202


def test_a_slow_slack_that_took_the_parent_gets_it_once(start_bot, fake_slack) -> None:
    bot = start_bot(outbox_send_timeout=0.5)
    fake_slack.answer_late("chat.postMessage", seconds=5)
    assert bot.intake(intake_post("9401")).status == 202
    all_shown(bot)
    assert len(fake_slack.messages(ENQUIRIES)) == 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert fake_slack.calls_to("conversations.history")
    record = bot.store.get_post_record("x:9401")
    assert bot.store.theme(record["theme"]).view(ENQUIRIES).parent_ts
    wait_until(lambda: _health(bot)[0] == 200, what="/healthz healthy again")


def test_a_slow_slack_that_lost_the_parent_causes_at_most_one_duplicate(
    start_bot, fake_slack
) -> None:
    bot = start_bot(outbox_send_timeout=0.5)
    fake_slack.delay("chat.postMessage", seconds=2)  # answered, and posted, only after 2 s
    assert bot.intake(intake_post("9501")).status == 202
    all_shown(bot)
    fake_slack.wait_for_calls("chat.postMessage", 2)  # the slow first one lands too
    assert len(fake_slack.messages(ENQUIRIES)) == 2
    bot.runtime.outbox.deliver_due()
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


def _unhealthy_after(config_dir: Path, seconds: float) -> None:
    desk = config_dir / "desk.yaml"
    text = desk.read_text().replace(
        "unhealthy_after_seconds: 300", f"unhealthy_after_seconds: {seconds}"
    )
    desk.write_text(text)


def test_healthz_is_unhealthy_once_slack_is_down_too_long_and_healthy_after(
    start_bot, config_dir: Path, fake_slack
) -> None:
    _unhealthy_after(config_dir, 0.5)
    bot = start_bot()
    fake_slack.go_down()
    assert bot.intake(intake_post("9601")).status == 202
    wait_until(
        lambda: any("Slack unreachable" in r for r in _health(bot)[1].get("reasons", [])),
        what="/healthz to report Slack down",
    )
    status, body = _health(bot)
    assert status == 503 and "Slack: connection" in body["delivery"]
    fake_slack.come_up()
    all_shown(bot)
    wait_until(lambda: _health(bot)[0] == 200, what="/healthz healthy again")


def test_healthz_stays_healthy_through_a_short_outage(bot: BotUnderTest, fake_slack) -> None:
    fake_slack.go_down()
    assert bot.intake(intake_post("9602")).status == 202
    wait_until(lambda: "Slack" in _health(bot)[1]["delivery"], what="the outage noticed")
    status, body = _health(bot)
    assert status == 200 and body["outbox"]["pending"] == 1  # reported, not yet a fault
    fake_slack.come_up()
    all_shown(bot)


def test_healthz_is_unhealthy_when_a_change_waits_too_long(
    start_bot, config_dir: Path, fake_slack
) -> None:
    _unhealthy_after(config_dir, 0.5)
    bot = start_bot()
    fake_slack.rate_limit("chat.postMessage", retry_after=30)  # Slack answers, but not yet
    assert bot.intake(intake_post("9701")).status == 202
    wait_until(lambda: _health(bot)[0] == 503, timeout=5, what="/healthz to report the wait")
    assert any("waited" in reason for reason in _health(bot)[1]["reasons"])
