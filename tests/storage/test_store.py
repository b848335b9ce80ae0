"""The Store: durable, atomic, deduplicating, one process at a time, posts placed in themes."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import load_config
from bot.core.posts import Author, Category, Classification, Flag, FlagHit, Network, Post
from bot.core.themes import ThemeSettings
from bot.storage import (
    SCHEMA_VERSION,
    DataDirInUseError,
    PostToAccept,
    StorageError,
    Store,
    atomic,
)
from bot.storage.atomic import write_atomically
from tests.conftest import CONFIG_DIR

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
ROUTED = Classification(
    Category.ENQUIRY, 'enquiry-question: matched "when"', (FlagHit(Flag.LINK, "link"),)
)
ENQUIRIES = "#comms-enquiries"
# Texts that are each about something else, so each post opens a theme of its own.
TOPICS = [
    "When does the library open?",
    "Is the tip open on Sunday?",
    "Where do I pay my council tax?",
    "How do I report a pothole?",
    "When are the bins collected?",
    "Is the swimming pool open?",
    "Can I park at the station?",
    "Where is the nearest school?",
]


@cache
def settings() -> ThemeSettings:
    return load_config(CONFIG_DIR).themes


def open_store(path: Path) -> Store:
    return Store(path, themes=settings())


def make_post(post_id: str = "1", *, network: Network = Network.X, text: str | None = None) -> Post:
    return Post(
        id=post_id,
        network=network,
        account="council",
        author=Author("@someone", "Some One", 5),
        text=text or "When does the library open?",
        posted_at=NOW - timedelta(minutes=5),
        url="https://x.com/someone/status/1",
    )


def accept(store: Store, post: Post, *, now: datetime = NOW, channel: str = ENQUIRIES) -> str:
    return store.accept_post(post, ROUTED, channel=channel, now=now).status


def queue(store: Store, count: int) -> None:
    for n in range(count):
        store.queue_message(channel="#comms-desk", kind="note", data={"n": n}, now=NOW)


def documents_in(path: Path) -> int:
    """How many documents a TinyDB file holds, over all its tables."""
    return sum(len(table) for table in atomic.read_data_file(path).values())


def listed(store: Store) -> list[str]:
    """Every post key listed by any theme, as often as it is listed (once per channel)."""
    return sorted(
        doc["key"] for stored in store.open_themes() for doc in store.theme_posts(stored.theme.ref)
    )


@pytest.fixture
def written(monkeypatch) -> list[Path]:
    """The files the store writes one at a time, in order."""
    paths: list[Path] = []
    real_write = atomic.write_atomically

    def record(path: Path, text: str) -> None:
        real_write(path, text)
        paths.append(path)

    monkeypatch.setattr(atomic, "write_atomically", record)
    return paths


def test_an_accepted_post_round_trips_with_its_routing_and_theme(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        outcome = store.accept_post(make_post(), ROUTED, channel=ENQUIRIES, now=NOW)
        assert (outcome.status, outcome.theme) == ("accepted", "T-0001")
        record = store.get_post_record("x:1")
        stored = store.theme("T-0001")
    assert record is not None
    assert record["category"] == "enquiry" and record["flags"] == ["link"]
    assert record["received_at"] == NOW.isoformat()
    assert (record["theme"], record["theme_seq"], record["positions"]) == (
        "T-0001",
        1,
        {ENQUIRIES: 1},
    )
    assert stored is not None and stored.theme.post_count == 1
    assert stored.view(ENQUIRIES).dirty  # a change its Slack view does not show yet


def test_duplicates_are_detected_across_restarts_and_days(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        accept(store, make_post())
    with open_store(tmp_path) as store:
        assert accept(store, make_post(), now=NOW + timedelta(days=40)) == "duplicate"
        assert accept(store, make_post(network=Network.FACEBOOK)) == "accepted"
        assert listed(store) == ["facebook:1", "x:1"]


def test_similar_posts_share_a_theme_and_others_open_their_own(tmp_path: Path) -> None:
    texts = [
        "The bins on Elm Road have not been collected this week",
        "Our bins on Elm Road were missed again",
        "How much did the council spend on consultants in 2024?",
    ]
    offers = [
        PostToAccept(make_post(f"b{n}", text=text), ROUTED, ENQUIRIES)
        for n, text in enumerate(texts[:2])
    ]
    foi = Classification(Category.FOI, "foi-request")
    offers.append(PostToAccept(make_post("f1", text=texts[2]), foi, "#info-governance-foi"))
    with open_store(tmp_path) as store:
        outcomes = store.accept_posts(offers, now=NOW)
        assert [o.theme for o in outcomes] == ["T-0001", "T-0001", "T-0002"]
        bins = store.theme("T-0001")
        assert bins is not None and bins.theme.post_count == 2
        assert bins.theme.channel(ENQUIRIES).latest == ("x:b0", "x:b1")
    with open_store(tmp_path) as store:  # the matcher is rebuilt from the open themes
        again = store.accept_post(
            make_post("b3", text="Bins still not collected on Elm Road"),
            ROUTED,
            channel=ENQUIRIES,
            now=NOW,
        )
        assert again.theme == "T-0001"


def test_a_duty_copy_lists_the_post_in_both_channels(tmp_path: Path) -> None:
    urgent = Classification(Category.URGENT, "urgent-risk")
    with open_store(tmp_path) as store:
        store.accept_post(
            make_post("u1", text="I am going to the bridge tonight, I can't go on"),
            urgent,
            channel="#comms-urgent",
            also=("#duty",),
            now=NOW,
        )
        stored = store.theme("T-0001")
        assert stored is not None
        assert set(stored.views) == {"#comms-urgent", "#duty"}
        assert [d["key"] for d in store.theme_posts("T-0001", "#duty")] == ["x:u1"]


def test_a_view_is_done_only_when_it_shows_the_latest_change(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        accept(store, make_post("a"))
        [work] = store.view_work()
        snapshot = store.view_snapshot(work.ref, work.channel, digest_limit=10)
        assert snapshot is not None and snapshot.single and snapshot.waiting == 0
        store.record_view(
            work.ref,
            work.channel,
            now=NOW,
            channel_id="C0ENQ",
            parent_ts="1.1",
            rendered_hash="h1",
            done_version=work.version,
        )
        assert store.view_work() == []
        assert store.outbox_stats(NOW).pending == 0
        accept(store, make_post("b", text="When does the library open on Sunday?"))
        [work] = store.view_work()
        snapshot = store.view_snapshot(work.ref, work.channel, digest_limit=10)
        assert not snapshot.single and snapshot.waiting == 2  # the thread lists both
        assert [pos for pos, _ in snapshot.digest] == [1, 2]
        store.record_view(work.ref, work.channel, now=NOW, shown=2, digest_posted=True)
        # A post arrives while the parent is being updated: the view stays to do.
        accept(store, make_post("c", text="Library opening hours on Sunday please?"))
        store.record_view(
            work.ref, work.channel, now=NOW, rendered_hash="h2", done_version=work.version
        )
        [left] = store.view_work()
        assert left.version > work.version and left.waiting_posts == 1
    with open_store(tmp_path) as store:  # the change marker survives a restart
        [left] = store.view_work()
        assert left.has_parent and store.theme(left.ref).view(ENQUIRIES).digests == 1


def test_a_new_parent_marks_the_themes_other_views_to_show_its_link(tmp_path: Path) -> None:
    urgent = Classification(Category.URGENT, "urgent-risk")
    with open_store(tmp_path) as store:
        store.accept_post(make_post("u1"), urgent, channel="#a", also=("#b",), now=NOW)
        for channel, ts in (("#a", "1.1"), ("#b", "1.2")):
            version = store.theme("T-0001").view(channel).version
            store.record_view(
                "T-0001",
                channel,
                now=NOW,
                channel_id="C" + channel[1:].upper() * 7,
                parent_ts=ts,
                permalink=f"https://x.slack.com/{ts}",
                done_version=version,
            )
        views = store.theme("T-0001").views
        assert not views["#b"].dirty  # posted after #a: it showed #a's link already
        assert views["#a"].dirty  # must be updated to link to #b


def test_schema_version_is_recorded_and_checked(tmp_path: Path) -> None:
    Store(tmp_path).close()
    meta = atomic.read_data_file(tmp_path / "meta.json")
    assert meta["meta"]["1"]["schema_version"] == SCHEMA_VERSION == 4
    meta["meta"]["1"]["schema_version"] = SCHEMA_VERSION + 1
    (tmp_path / "meta.json").write_text(atomic.encode(meta))
    with pytest.raises(StorageError, match="schema version"):
        Store(tmp_path)


def test_event_ids_are_remembered_then_pruned(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        assert store.first_sighting("Ev1", now=NOW + timedelta(minutes=58))
        # A retry after Slack's back-off, across the turn of the hour, is still caught.
        assert not store.first_sighting("Ev1", now=NOW + timedelta(minutes=64))
        assert store.first_sighting("Ev2", now=NOW + timedelta(hours=5))
        pruned_at = NOW + timedelta(days=1, hours=1)
        assert store.prune_events(older_than=timedelta(days=1), now=pruned_at) == 1
        assert store.first_sighting("Ev1", now=NOW + timedelta(days=2))
        assert not store.first_sighting("Ev2", now=NOW + timedelta(hours=5, minutes=1))
    # Each hour's sightings are a small file of their own.
    assert len(list((tmp_path / "events").glob("*.json"))) == 2


def test_a_second_process_cannot_open_the_same_data(tmp_path: Path) -> None:
    with Store(tmp_path), pytest.raises(DataDirInUseError, match="in use"):
        Store(tmp_path)
    Store(tmp_path).close()  # released once the first closes


def test_a_crash_during_a_write_leaves_the_old_file(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "file.json"
    write_atomically(target, '{"old": true}')

    def crash(*args, **kwargs):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        write_atomically(target, '{"new": true}')
    assert json.loads(target.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["file.json"]  # no temp files left


def test_a_failed_write_is_not_remembered_as_done(tmp_path: Path, monkeypatch) -> None:
    with open_store(tmp_path) as store:
        accept(store, make_post("a"))
        real_replace = os.replace

        def fail_once(*args, **kwargs):
            monkeypatch.setattr(os, "replace", real_replace)
            raise OSError("disk full")

        monkeypatch.setattr(os, "replace", fail_once)
        with pytest.raises(OSError):
            accept(store, make_post("b", text=TOPICS[1]))
        # Whatever was half-done, offering the post again stores it exactly once.
        assert accept(store, make_post("b", text=TOPICS[1])) == "accepted"
        assert accept(store, make_post("b", text=TOPICS[1])) == "duplicate"
        assert listed(store) == ["x:a", "x:b"]


def test_one_off_messages_wait_in_order_and_are_kept_when_refused(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        queue(store, 3)
        items = store.outbox_items()
        assert [(i.kind, i.data["n"]) for i in items] == [("note", 0), ("note", 1), ("note", 2)]
        store.mark_retry(
            items[0], error="HTTP 500", next_attempt_at=NOW + timedelta(seconds=4), now=NOW
        )
        store.mark_delivered(items[1], channel_id="C0DESK", ts="1.0001", now=NOW)
        store.mark_dead(items[2], error="channel_not_found", now=NOW)
        left = store.outbox_items()
        assert [(i.data["n"], i.attempts, i.dead) for i in left] == [(0, 1, False), (2, 1, True)]
        stats = store.outbox_stats(NOW + timedelta(seconds=30))
        assert (stats.pending, stats.dead, stats.oldest_pending_seconds) == (1, 1, 30.0)
        actions = [e["action"] for e in store.audit_entries(NOW.date())]
        assert "message.delivered" in actions and "message.failed" in actions
        assert store.dead_letters() == [
            f"message {items[2].seq} (note) to #comms-desk: channel_not_found"
        ]


def test_a_long_outbox_is_kept_in_files_of_at_most_a_hundred(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        queue(store, 250)
        items = store.outbox_items()
        assert [i.data["n"] for i in items] == list(range(250))
        assert store.outbox_stats(NOW).pending == 250
    files = sorted((tmp_path / "outbox").glob("*.json"))
    assert len(files) == 3
    assert all(documents_in(f) <= 100 for f in files)


def test_emptied_outbox_files_go_but_dead_letters_stay(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        queue(store, 150)
        items = store.outbox_items()
        store.mark_dead(items[0], error="channel_not_found", now=NOW)
        for item in items[1:]:
            store.mark_delivered(item, channel_id="C0DESK", ts="1.0", now=NOW)
        assert [(i.seq, i.dead) for i in store.outbox_items()] == [(items[0].seq, True)]
    # The dead letter's file and the newest file (which holds the sequence's place) remain.
    assert len(list((tmp_path / "outbox").glob("*.json"))) == 2


def test_outbox_sequence_never_goes_back(tmp_path: Path) -> None:
    seen: list[int] = []
    with Store(tmp_path) as store:
        queue(store, 150)
        for item in store.outbox_items():
            seen.append(item.seq)
            store.mark_delivered(item, channel_id="C0DESK", ts="1.0", now=NOW)
        queue(store, 1)
        [after_emptying] = store.outbox_items()
        seen.append(after_emptying.seq)
        store.mark_delivered(after_emptying, channel_id="C0DESK", ts="1.0", now=NOW)
    with Store(tmp_path) as store:
        queue(store, 2)
        seen.extend(i.seq for i in store.outbox_items())
    assert seen == sorted(seen) and len(set(seen)) == len(seen) == 153


def test_posts_and_audit_are_kept_by_hour(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        accept(store, make_post("a"), now=NOW + timedelta(minutes=59))
        accept(store, make_post("b"), now=NOW + timedelta(hours=1))
        accept(store, make_post("c"), now=NOW + timedelta(hours=14))  # 00:00 the next day
        assert store.count_posts(NOW.date()) == 2
        assert store.count_posts((NOW + timedelta(days=1)).date()) == 1
        assert len(store.audit_entries(NOW.date())) == 2
    day = tmp_path / "posts" / "2026" / "11" / "20"
    assert sorted(p.name for p in day.iterdir()) == ["10.json", "11.json"]
    assert (tmp_path / "posts" / "2026" / "11" / "21" / "00.json").exists()


def test_a_busy_hour_continues_in_new_files(tmp_path: Path) -> None:
    history = [(make_post(f"h{n}"), ROUTED, ENQUIRIES, NOW) for n in range(230)]
    with open_store(tmp_path) as store:
        assert store.import_history(history) == 230
        for n in range(300):
            store.record_audit("note", now=NOW, n=n)
        accept(store, make_post("new"))
        assert store.count_posts(NOW.date()) == 231
        assert store.get_post_record("x:h0")["key"] == "x:h0"
        assert [e["n"] for e in store.audit_entries(NOW.date())[:300]] == list(range(300))
    hour = tmp_path / "posts" / "2026" / "11" / "20"
    assert [documents_in(hour / name) for name in ("10.json", "10.1.json", "10.2.json")] == [
        100,
        100,
        31,
    ]


def test_the_hot_path_writes_only_small_files(tmp_path: Path, written: list[Path]) -> None:
    history = [(make_post(f"h{n}"), ROUTED, "#c", NOW + timedelta(seconds=n)) for n in range(450)]
    later = NOW + timedelta(minutes=30)
    with open_store(tmp_path) as store:
        store.import_history(history)
        for n in range(260):
            store.record_audit("note", now=NOW, n=n)
        for n, text in enumerate(TOPICS[:5]):
            accept(store, make_post(f"t{n}", text=text))
        written.clear()
        accept(store, make_post("new", text="The library should open earlier on Sundays"))
        # Accept (joining a theme): index, post, audit, journal, theme.
        assert len(written) == 5
        [work] = [w for w in store.view_work() if w.ref == "T-0001"]
        written.clear()
        store.record_view(work.ref, work.channel, now=later, parent_ts="1.0", channel_id="C0")
        assert len(written) == 1  # a Slack call is recorded in the theme's own file
    assert all(documents_in(path) <= 250 for path in written)


def test_the_index_spreads_keys_over_4096_buckets(tmp_path: Path) -> None:
    history = [(make_post(f"h{n}"), ROUTED, "#c", NOW) for n in range(600)]
    with Store(tmp_path) as store:
        store.import_history(history)
        assert accept(store, make_post("h599")) == "duplicate"
    buckets = list((tmp_path / "index").glob("*/*.json"))
    assert len(buckets) > 500  # 600 keys in 256 buckets would fill at most 256 files
    assert all(len(p.stem) == 3 and p.stem.startswith(p.parent.name) for p in buckets)


def test_import_writes_each_file_once_and_makes_no_theme(
    tmp_path: Path, written: list[Path]
) -> None:
    with open_store(tmp_path) as store:
        accept(store, make_post("0"))
        history = [
            (make_post(str(n)), ROUTED, "#c", NOW - timedelta(hours=n % 5)) for n in range(300)
        ]
        written.clear()
        assert store.import_history(history + history[:10]) == 299
        assert len(written) == len(set(written))
        assert store.count_posts(NOW.date()) == 300
        assert len(store.open_themes()) == 1


def test_count_posts_between_spans_utc_midnight(tmp_path: Path) -> None:
    london = ZoneInfo("Europe/London")
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    received = {
        "before": datetime(2026, 6, 30, 22, 30, tzinfo=UTC),  # 23:30 on 30 June in London
        "late": datetime(2026, 6, 30, 23, 30, tzinfo=UTC),  # 00:30 on 1 July in London
        "midday": summer,
        "last": datetime(2026, 7, 1, 22, 59, tzinfo=UTC),  # 23:59 in London
        "after": datetime(2026, 7, 1, 23, 0, tzinfo=UTC),  # midnight in London
    }
    with open_store(tmp_path) as store:
        for name, at in received.items():
            accept(store, make_post(name), now=at)
        start = datetime(2026, 7, 1, tzinfo=london)
        assert store.count_posts_between(start, start + timedelta(days=1)) == 3
        assert store.posts_received_between(start, start + timedelta(days=1)) == 3
        assert store.count_posts(summer.date()) == 3  # midday, last and after, by UTC day
        assert store.count_posts_between(summer, summer) == 0
        with pytest.raises(ValueError, match="timezone-aware"):
            store.count_posts_between(datetime(2026, 7, 1), summer)


def test_todays_count_is_a_running_total_that_survives_a_restart(
    tmp_path: Path, monkeypatch
) -> None:
    today = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with open_store(tmp_path) as store:
        for n, text in enumerate(TOPICS[:4]):
            accept(store, make_post(f"r{n}", text=text), now=today)
        start = today - timedelta(hours=today.hour)
    with open_store(tmp_path) as store:
        # Answered from the totals rebuilt at start, without reading a posts file again.
        def no_reading(*args, **kwargs):
            raise AssertionError("read history")

        monkeypatch.setattr(store, "count_posts_between", no_reading)
        assert store.posts_received_between(start, start + timedelta(days=1)) == 4


def _crash_at(monkeypatch, write_number: int) -> None:
    """Make the `write_number`-th atomic replace from now on fail, as if the process died."""
    real_replace = os.replace
    calls: list[object] = []

    def replace(*args, **kwargs):
        calls.append(args)
        if len(calls) == write_number:
            monkeypatch.setattr(os, "replace", real_replace)
            raise OSError("killed")
        return real_replace(*args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


@pytest.mark.parametrize(
    ("write_number", "step"),
    [
        (1, "index"),
        (2, "post"),
        (3, "audit"),
        (4, "counter"),
        (5, "journal"),
        (6, "theme"),
    ],
)
def test_an_accept_cut_short_anywhere_stores_and_lists_once(
    tmp_path: Path, monkeypatch, write_number: int, step: str
) -> None:
    """Accepting a post that opens a theme writes six files; die at each, restart, offer again."""
    with open_store(tmp_path) as store:
        accept(store, make_post("a"))
        _crash_at(monkeypatch, write_number)
        with pytest.raises(OSError, match="killed"):
            accept(store, make_post("b", text=TOPICS[1]))
    later = NOW + timedelta(hours=1, minutes=5)
    with open_store(tmp_path) as store:
        assert accept(store, make_post("b", text=TOPICS[1]), now=later) == "accepted"
        assert accept(store, make_post("b", text=TOPICS[1]), now=later) == "duplicate"
        assert listed(store) == ["x:a", "x:b"]  # each post in exactly one theme, once
        assert store.count_posts_between(NOW, later + timedelta(hours=1)) == 2
        record = store.get_post_record("x:b")
        # Once the index entry is written, the post keeps the time it first arrived.
        first_seen = later if step == "index" else NOW
        assert record is not None and record["received_at"] == first_seen.isoformat()
        stored = store.theme(record["theme"])
        assert stored is not None and stored.view(ENQUIRIES).dirty
        assert stored.theme.post_count == 1


def test_a_batch_writes_each_file_it_touches_once(tmp_path: Path, monkeypatch) -> None:
    with open_store(tmp_path) as store:
        accept(store, make_post("before"))
        targets = _replaces(monkeypatch)
        outcomes = store.accept_posts(offers(*BATCH, "b0"), now=NOW)
        assert [o.status for o in outcomes] == ["accepted"] * 8 + ["duplicate"]
        assert len(targets) == len(set(targets))
        kinds = {p.relative_to(tmp_path).parts[0] for p in targets}
        assert kinds == {"index", "posts", "audit", "themes"}
        assert len(listed(store)) == 9
        assert store.count_posts(NOW.date()) == 9
        again = store.accept_posts(offers(*BATCH[:3], "new"), now=NOW)
        assert [o.status for o in again] == ["duplicate"] * 3 + ["accepted"]


def offers(*ids: str, channel: str = ENQUIRIES) -> list[PostToAccept]:
    """Posts of different topics, so a batch opens several themes."""
    return [
        PostToAccept(make_post(i, text=TOPICS[n % len(TOPICS)]), ROUTED, channel)
        for n, i in enumerate(ids)
    ]


BATCH = [f"b{n}" for n in range(8)]


def _replaces(monkeypatch) -> list[Path]:
    """Record the target of every atomic replace from now on."""
    targets: list[Path] = []
    real_replace = os.replace

    def replace(source, target, *args, **kwargs):
        targets.append(Path(target))
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    return targets


def _writes_in_a_batch(tmp_path: Path, monkeypatch) -> int:
    with monkeypatch.context() as patch, open_store(tmp_path / "count") as store:
        accept(store, make_post("z"))
        targets = _replaces(patch)
        store.accept_posts(offers(*BATCH), now=NOW)
        return len(targets)


def test_a_batch_cut_short_at_any_write_stores_and_lists_each_post_once(
    tmp_path: Path, monkeypatch
) -> None:
    """Die at every write of a batch in turn, restart, offer the batch again."""
    writes = _writes_in_a_batch(tmp_path, monkeypatch)
    assert writes >= 6
    later = NOW + timedelta(minutes=5)
    for write_number in range(1, writes + 1):
        data = tmp_path / f"crash-{write_number}"
        with open_store(data) as store:
            accept(store, make_post("z"))
            _crash_at(monkeypatch, write_number)
            with pytest.raises(OSError, match="killed"):
                store.accept_posts(offers(*BATCH), now=NOW)
            monkeypatch.undo()
        with open_store(data) as store:
            retry = store.accept_posts(offers(*BATCH), now=later)
            assert {o.status for o in retry} <= {"accepted", "duplicate"}
            assert [o.status for o in store.accept_posts(offers(*BATCH), now=later)] == [
                "duplicate"
            ] * len(BATCH)
            assert listed(store) == sorted(["x:z"] + [f"x:{i}" for i in BATCH]), write_number
            assert store.count_posts_between(NOW, later + timedelta(hours=1)) == 9
            counter = atomic.read_data_file(data / "themes" / "counter.json")["counter"]["last"]
            refs = [s.theme.ref for s in store.open_themes()]
            assert len(set(refs)) == len(refs) and all(int(r[2:]) <= counter for r in refs)


def test_stats_stay_right_through_deliveries_deaths_and_restarts(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        for n, text in enumerate(TOPICS[:3]):
            accept(store, make_post(str(n), text=text), now=NOW + timedelta(seconds=n))
        queue(store, 2)
        first, _ = store.outbox_items()
        store.mark_dead(first, error="channel_not_found", now=NOW)
        store.mark_dead(first, error="channel_not_found", now=NOW)  # counted once
        work = store.view_work()
        store.record_view(work[0].ref, ENQUIRIES, now=NOW, dead="not_in_channel")
        store.record_view(
            work[1].ref, ENQUIRIES, now=NOW, parent_ts="1.1", done_version=work[1].version
        )
        stats = store.outbox_stats(NOW + timedelta(seconds=10))
        # Views: T-0003 waits; T-0001 dead, T-0002 done. Messages: one waits, one dead.
        assert (stats.pending, stats.dead, stats.open_themes) == (2, 2, 3)
        assert stats.oldest_pending_seconds == 10.0
    with open_store(tmp_path) as store:
        again = store.outbox_stats(NOW + timedelta(seconds=10))
        assert again == stats


def test_dead_letters_can_be_sent_again_once_fixed(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        accept(store, make_post("a"))
        queue(store, 1)
        [item] = store.outbox_items()
        store.mark_dead(item, error="channel_not_found", now=NOW)
        [work] = store.view_work()
        store.record_view(work.ref, ENQUIRIES, now=NOW, dead="not_in_channel")
        letters = store.dead_letter_list()
        assert [str(letter) for letter in letters] == [
            f"T-0001 in {ENQUIRIES}: not_in_channel",
            f"message {item.seq} (note) to #comms-desk: channel_not_found",
        ]
        for letter in letters:
            store.retry_dead_letter(letter, now=NOW)
        stats = store.outbox_stats(NOW)
        assert (stats.pending, stats.dead) == (2, 0)
        assert [w.ref for w in store.view_work()] == ["T-0001"]
        assert [i.dead for i in store.outbox_items()] == [False]


def test_themes_past_their_window_stop_taking_posts_but_stay_open_work(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from bot.scheduling import jobs

    with open_store(tmp_path) as store:
        accept(store, make_post("a"))
        later = NOW + timedelta(days=8)
        assert jobs.expire_themes(SimpleNamespace(store=store), later) == 1
        assert [s.theme.ref for s in store.open_themes()] == ["T-0001"]
        again = make_post("b")
        again = again.__class__(**{**again.__dict__, "posted_at": later})
        outcome = store.accept_post(again, ROUTED, channel=ENQUIRIES, now=later)
        assert outcome.theme == "T-0002"
