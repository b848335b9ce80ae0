"""The outbox worker on controlled clocks: pacing, fairness, priorities, allowances, faults.

The worker talks to the local fake Slack over HTTP; time is moved by hand, so what these
tests assert about pacing does not depend on how fast the machine is.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest

from bot.config import DeskConfig, load_config
from bot.core.posts import Category, Classification
from bot.core.templating import TemplateRenderer
from bot.fakeslack import FakeSlack
from bot.runtime import TEMPLATES_DIR
from bot.slack.client import outbox_client
from bot.slack.outbox import OutboxWorker, Pacing
from bot.slack.theme_messages import Presentation, ThemeMessages
from bot.storage import PostToAccept, StorageError, Store
from tests.conftest import BOT_TOKEN, CONFIG_DIR
from tests.storage.test_store import make_post

START = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
ENQUIRIES, URGENT = "#comms-enquiries", "#comms-urgent"
ENQUIRY = Classification(Category.ENQUIRY, "question")
URGENT_POST = Classification(Category.URGENT, "risk to life")
SUBJECTS = ["library", "tip", "pool", "park", "museum", "market", "theatre", "cinema", "zoo"]


@cache
def config() -> DeskConfig:
    return load_config(CONFIG_DIR)


@dataclass
class Clocks:
    """The wall clock and the monotonic clock, moved together by hand."""

    now: datetime = START
    mono: float = 1000.0
    slept: list[float] = field(default_factory=list)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.mono += seconds
        self.slept.append(seconds)


@pytest.fixture
def clocks() -> Clocks:
    return Clocks()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "data", themes=config().themes) as opened:
        yield opened


def worker(store: Store, slack: FakeSlack, clocks: Clocks, **pacing: float) -> OutboxWorker:
    settings = {"backoff_initial": 2.0, "backoff_max": 300.0, "pace_seconds": 1.1} | pacing
    return OutboxWorker(
        store=store,
        client=outbox_client(token=BOT_TOKEN, base_url=slack.url, timeout=5),
        messages=ThemeMessages(TemplateRenderer(TEMPLATES_DIR), Presentation.of(config())),
        pacing=Pacing(**settings),
        clock=lambda: clocks.now,
        monotonic=lambda: clocks.mono,
    )


def take(store: Store, clocks: Clocks, *posts: tuple[str, str], kind=ENQUIRY, channel=ENQUIRIES):
    """Accept posts (id, text) now."""
    offers = []
    for post_id, text in posts:
        post = make_post(post_id, text=text)
        post = post.__class__(**{**post.__dict__, "posted_at": clocks.now})
        offers.append(PostToAccept(post, kind, channel))
    return store.accept_posts(offers, now=clocks.now)


def drain(work: OutboxWorker, clocks: Clocks, *, limit: int = 500) -> None:
    """Run the worker until nothing waits, moving time on as it asks."""
    for _ in range(limit):
        wait = work.deliver_due()
        if wait is None:
            return
        clocks.advance(max(wait, 0.01))
    raise AssertionError("the worker never finished")


def sent(slack: FakeSlack) -> list:
    return [c for c in slack.calls if c.method in ("chat.postMessage", "chat.update") and c.ok]


def test_each_channel_gets_at_most_one_call_per_pace(store, fake_slack, clocks) -> None:
    take(store, clocks, ("a", "When is the library open?"), ("b", "Is the tip open on Sunday?"))
    work = worker(store, fake_slack, clocks)
    wait = work.deliver_due()
    assert len(sent(fake_slack)) == 1 and wait == pytest.approx(1.1)
    assert work.deliver_due() == pytest.approx(1.1)  # not a moment early
    assert len(sent(fake_slack)) == 1
    clocks.advance(1.1)
    work.deliver_due()
    assert len(sent(fake_slack)) == 2


def test_channels_are_served_in_turn(store, fake_slack, clocks) -> None:
    for n, subject in enumerate(SUBJECTS[:6]):
        take(store, clocks, (f"e{n}", f"When is the {subject} open?"))
    take(
        store,
        clocks,
        ("u1", "Someone has collapsed in the street"),
        kind=URGENT_POST,
        channel=URGENT,
    )
    work = worker(store, fake_slack, clocks)
    drain(work, clocks)
    order = [c.params["channel"] for c in sent(fake_slack)]
    assert order.index(URGENT) <= 1  # its turn came at once, not after the six
    assert order.count(ENQUIRIES) == 6


def test_a_person_in_danger_goes_first_in_their_channel(store, fake_slack, clocks) -> None:
    reports = [
        (f"r{n}", f"Huge fire at the barn on Mill Lane, smoke everywhere {n}") for n in range(3)
    ]
    take(store, clocks, *reports, kind=URGENT_POST, channel=URGENT)
    take(
        store,
        clocks,
        ("ok", "Smell of gas in the high street in Hadleigh"),
        ("trapped", "My nan is trapped upstairs at her house on Mill Lane, the smoke is coming in"),
        kind=URGENT_POST,
        channel=URGENT,
    )
    work = worker(store, fake_slack, clocks)
    work.deliver_due()
    [first] = sent(fake_slack)
    assert "trapped upstairs" in str(first.params["blocks"])


def _busy(store: Store, work: OutboxWorker, clocks: Clocks, posts: int, *, urgent: bool) -> None:
    """`posts` posts of one theme, five a second, the worker running as it would."""
    for n in range(posts):
        if urgent:
            item = (f"f{n}", f"Smoke from the barn fire on Mill Lane, report {n}")
            take(store, clocks, item, kind=URGENT_POST, channel=URGENT)
        else:
            take(store, clocks, (f"c{n}", f"When is the library in Hadleigh open? report {n}"))
        work.deliver_due()
        clocks.advance(0.2)


def test_a_busy_channel_updates_on_an_allowance_not_per_post(store, fake_slack, clocks) -> None:
    work = worker(store, fake_slack, clocks, busy_calls_per_post=0.06)
    _busy(store, work, clocks, 300, urgent=False)
    during = len(sent(fake_slack))
    drain(work, clocks)
    total = len(sent(fake_slack))
    assert total <= 0.1 * 300  # at most a tenth of a call per post
    assert during >= 5  # and kept moving meanwhile
    listed = "".join(str(c.params) for c in sent(fake_slack) if c.params.get("thread_ts"))
    assert all(f"report {n}\\n" in listed or f"report {n}'" in listed for n in range(300))


def test_a_busy_channel_updates_a_parent_at_most_every_so_often(store, fake_slack, clocks) -> None:
    work = worker(store, fake_slack, clocks, urgent_max_wait_seconds=2, busy_update_seconds=30)
    _busy(store, work, clocks, 300, urgent=True)  # a minute of reports, five a second
    updates = [c.at for c in fake_slack.calls_to("chat.update") if c.ok]
    digests = [c for c in sent(fake_slack) if c.params.get("thread_ts")]
    assert len(updates) <= 3  # the counts catch up every 30 s...
    assert len(digests) >= 15  # ...while the thread keeps up every few seconds
    drain(work, clocks)
    assert store.outbox_stats(clocks.now).pending == 0


def test_an_urgent_theme_in_a_busy_channel_waits_at_most_its_limit(
    store, fake_slack, clocks
) -> None:
    work = worker(store, fake_slack, clocks, busy_calls_per_post=0.001, urgent_max_wait_seconds=8)
    _busy(store, work, clocks, 150, urgent=True)  # 30 s of reports; the allowance alone is ~0
    digests = [c for c in sent(fake_slack) if c.params.get("thread_ts")]
    assert len(digests) >= 3  # every 8 s or so, however small the allowance


def test_rate_limits_wait_for_retry_after_and_do_not_grow_the_backoff(
    store, fake_slack, clocks, caplog
) -> None:
    take(store, clocks, ("a", "When is the library open?"))
    work = worker(store, fake_slack, clocks)
    fake_slack.rate_limit("chat.postMessage", retry_after=30)
    assert work.deliver_due() == pytest.approx(30.0)
    assert work.deliver_due() == pytest.approx(30.0)  # not tried again before Retry-After
    clocks.advance(30)
    fake_slack.rate_limit("chat.postMessage", retry_after=0, times=3)
    fake_slack.server_error("chat.postMessage", status=503)
    with caplog.at_level(logging.INFO, logger="bot.slack.outbox"):
        for _ in range(4):
            clocks.advance(1.1)
            wait = work.deliver_due()
    # Four 429s cost nothing: the 503 waits the first backoff step, not the fifth.
    assert wait == pytest.approx(2.0)
    clocks.advance(2)
    drain(work, clocks)
    assert [c.status for c in fake_slack.calls_to("chat.postMessage")] == [
        429,
        429,
        429,
        429,
        503,
        200,
    ]
    summaries = [r for r in caplog.records if "rate-limited" in r.getMessage()]
    assert len(summaries) <= 1  # a summary per channel, not a line per answer
    assert not [
        r for r in caplog.records if r.levelno >= logging.WARNING and "429" in r.getMessage()
    ]


def test_the_backlog_resumes_as_soon_as_slack_is_back(store, fake_slack, clocks) -> None:
    """Time stands still here: only noticing that Slack is back can deliver."""
    take(store, clocks, ("a", "When is the library open?"))
    work = worker(store, fake_slack, clocks, backoff_initial=300, backoff_max=300)
    fake_slack.go_down()
    assert work.deliver_due() == pytest.approx(300.0)
    assert "Slack" in (work.problem() or "")
    assert work.unreachable_seconds() == 0.0
    fake_slack.come_up()
    assert work.deliver_due() is None
    assert len(fake_slack.messages(ENQUIRIES)) == 1
    assert work.problem() is None and work.unreachable_seconds() is None


def test_a_digest_too_big_for_one_reply_is_split(store, fake_slack, clocks) -> None:
    long = "The bins on Elm Road were not collected. " * 15
    take(store, clocks, *((f"b{n}", f"{long} ({n})") for n in range(60)))
    work = worker(store, fake_slack, clocks, pace_seconds=0)
    drain(work, clocks)
    digests = [c for c in sent(fake_slack) if c.params.get("thread_ts")]
    assert len(digests) >= 3
    for call in digests:
        blocks = call.params["blocks"]
        assert len(blocks) <= 50
        assert sum(len(b["text"]["text"]) for b in blocks if b["type"] == "section") < 13_000
    listed = "".join(str(c.params["blocks"]) for c in digests)
    assert all(f"({n})" in listed for n in range(60))


def test_a_crash_after_slack_took_a_digest_repeats_at_most_that_digest(
    tmp_path: Path, fake_slack, clocks, monkeypatch
) -> None:
    data = tmp_path / "data"
    with Store(data, themes=config().themes) as first:
        take(first, clocks, ("p0", "Is the Hadleigh pool open on Sunday? (0)"))
        drain(worker(first, fake_slack, clocks), clocks)
        take(
            first,
            clocks,
            *((f"p{n}", f"Is the Hadleigh pool open on Sunday? ({n})") for n in range(1, 6)),
        )
        real = Store.record_view

        def killed(self, *args, **kwargs):
            if kwargs.get("shown"):
                raise StorageError("killed before writing")
            return real(self, *args, **kwargs)

        monkeypatch.setattr(Store, "record_view", killed)
        dying = worker(first, fake_slack, clocks)
        clocks.advance(2)
        dying.deliver_due()  # Slack takes the digest; its record is never written
        monkeypatch.undo()
    with Store(data, themes=config().themes) as second:  # the process starts again
        take(second, clocks, ("p6", "Is the Hadleigh pool open on Sunday? (6)"))
        drain(worker(second, fake_slack, clocks), clocks)
        assert second.outbox_stats(clocks.now).pending == 0
    digests = [c for c in sent(fake_slack) if c.params.get("thread_ts")]
    listed = [str(c.params["blocks"]) for c in digests]
    counts = {n: sum(f"({n})" in text for text in listed) for n in range(7)}
    assert all(count >= 1 for count in counts.values())
    twice = [n for n, count in counts.items() if count > 1]
    assert twice and all(f"({n})" in listed[0] for n in twice)  # only the first digest again
    assert all(count <= 2 for count in counts.values())


def test_a_timed_out_digest_is_looked_for_before_it_is_sent_again(
    store, fake_slack, clocks
) -> None:
    take(store, clocks, ("p0", "Is the Hadleigh pool open on Sunday? (0)"))
    drain(worker(store, fake_slack, clocks), clocks)
    take(store, clocks, ("p1", "Is the Hadleigh pool open on Sunday? (1)"))
    slow = OutboxWorker(
        store=store,
        client=outbox_client(token=BOT_TOKEN, base_url=fake_slack.url, timeout=0.3),
        messages=ThemeMessages(TemplateRenderer(TEMPLATES_DIR), Presentation.of(config())),
        clock=lambda: clocks.now,
        monotonic=lambda: clocks.mono,
    )
    fake_slack.answer_late("chat.postMessage", seconds=2)  # posted, answered too late
    clocks.advance(2)
    slow.deliver_due()
    [view] = store.theme("T-0001").views.values()
    assert view.uncertain == "digest:2"
    drain(slow, clocks)
    assert fake_slack.calls_to("conversations.replies")
    digests = [c for c in fake_slack.calls_to("chat.postMessage") if c.params.get("thread_ts")]
    assert len(digests) == 1  # found in the thread: not sent again
    assert store.outbox_stats(clocks.now).pending == 0


def test_posts_moved_away_before_their_digest_leave_no_empty_reply(
    store, fake_slack, clocks
) -> None:
    take(
        store, clocks, *((f"p{n}", f"Is the Hadleigh pool open on Sunday? ({n})") for n in range(2))
    )
    work = worker(store, fake_slack, clocks)
    drain(work, clocks)
    take(store, clocks, ("p2", "Is the Hadleigh pool open on Sunday? (2)"))
    store.move_post("x:p2", to=None, by="U1", now=clocks.now)
    drain(work, clocks)
    digests = [c for c in sent(fake_slack) if c.params.get("thread_ts")]
    assert len(digests) == 1 and "2 new posts" in str(digests[0].params["blocks"])
    assert store.theme("T-0001").view(ENQUIRIES).shown == 3
    assert store.outbox_stats(clocks.now).pending == 0


def test_themes_in_a_busy_channel_take_turns(store, fake_slack, clocks) -> None:
    """Two busy themes and a quiet one in one channel: none waits while another is served."""
    take(store, clocks, ("q0", "When is the library in Hadleigh open on Sunday? (0)"))
    take(store, clocks, ("q1", "When is the library in Hadleigh open on Sunday? (1)"))
    take(store, clocks, ("a0", "Is the A140 closed because of the Mill Lane fire? (0)"))
    take(store, clocks, ("p0", "Is the Hadleigh pool open on Sunday? report 0"))
    work = worker(store, fake_slack, clocks)
    drain(work, clocks)
    arrived = 0
    for n in range(1, 300):  # 60 s of two busy themes, five posts a second each
        take(store, clocks, (f"p{n}", f"Is the Hadleigh pool open on Sunday? report {n}"))
        take(store, clocks, (f"a{n}", f"Is the A140 closed because of the Mill Lane fire? ({n})"))
        if n == 100:
            take(store, clocks, ("q2", "When is the library in Hadleigh open on Sunday? (2)"))
            arrived = len(sent(fake_slack))
        work.deliver_due()
        clocks.advance(0.2)
    digests = [
        str(c.params["blocks"]) for c in sent(fake_slack)[arrived:] if c.params.get("thread_ts")
    ]
    pool = sum("report" in d for d in digests)
    road = sum("A140" in d for d in digests)
    assert pool >= 5 and road >= 5 and abs(pool - road) <= 2  # in turn, not one hogging
    assert "(2)" in digests[0] or "(2)" in digests[1]  # the quiet one's post came at once
