"""The Store: durable, atomic, deduplicating, and one process at a time."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.core.posts import Author, Category, Classification, Flag, FlagHit, Network, Post
from bot.storage import (
    SCHEMA_VERSION,
    DataDirInUseError,
    PostToAccept,
    StorageError,
    Store,
    atomic,
)
from bot.storage.atomic import write_atomically

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
ROUTED = Classification(
    Category.ENQUIRY, 'enquiry-question: matched "when"', (FlagHit(Flag.LINK, "link"),)
)


def make_post(post_id: str = "1", *, network: Network = Network.X) -> Post:
    return Post(
        id=post_id,
        network=network,
        account="council",
        author=Author("@someone", "Some One", 5),
        text="When does the library open?",
        posted_at=NOW - timedelta(minutes=5),
        url="https://x.com/someone/status/1",
    )


def accept(store: Store, post: Post, *, now: datetime = NOW) -> str:
    return store.accept_post(
        post,
        ROUTED,
        channel="#comms-enquiries",
        message=("fallback", [{"type": "divider"}]),
        now=now,
    ).status


def queue(store: Store, count: int) -> None:
    for n in range(count):
        store.queue_message(channel="#comms-desk", text=f"note {n}", blocks=[], now=NOW)


def documents_in(path: Path) -> int:
    """How many documents a TinyDB file holds, over all its tables."""
    return sum(len(table) for table in atomic.read_data_file(path).values())


@pytest.fixture
def written(monkeypatch) -> list[Path]:
    """The files the store writes, in order."""
    paths: list[Path] = []
    real_write = atomic.write_atomically

    def record(path: Path, text: str) -> None:
        real_write(path, text)
        paths.append(path)

    monkeypatch.setattr(atomic, "write_atomically", record)
    return paths


def test_accepted_post_round_trips_with_routing(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        assert accept(store, make_post()) == "accepted"
        record = store.get_post_record("x:1")
    assert record is not None
    assert record["category"] == "enquiry"
    assert record["flags"] == ["link"]
    assert record["received_at"] == NOW.isoformat()
    assert record["delivery"] is None


def test_duplicates_are_detected_across_restarts_and_days(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        accept(store, make_post())
    with Store(tmp_path) as store:
        assert accept(store, make_post(), now=NOW + timedelta(days=40)) == "duplicate"
        assert accept(store, make_post(network=Network.FACEBOOK)) == "accepted"
        assert len(store.outbox_items()) == 2


def test_history_is_partitioned_so_hot_files_stay_small(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        for day in range(3):
            for n in range(4):
                accept(store, make_post(f"{day}-{n}"), now=NOW + timedelta(days=day))
        assert store.count_posts((NOW + timedelta(days=1)).date()) == 4
    assert (tmp_path / "posts" / "2026" / "11" / "21" / "10.json").exists()
    assert (tmp_path / "audit" / "2026" / "11" / "21" / "10.json").exists()
    assert len(list((tmp_path / "index").glob("*/*.json"))) > 1


def test_outbox_keeps_order_and_records_delivery(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        for n in range(3):
            accept(store, make_post(str(n)))
        items = store.outbox_items()
        assert [i.post_key for i in items] == ["x:0", "x:1", "x:2"]
        store.mark_retry(
            items[0], error="HTTP 500", next_attempt_at=NOW + timedelta(seconds=4), now=NOW
        )
        store.mark_delivered(items[1], channel_id="C0ENQ", ts="1.0001", now=NOW)
        store.mark_dead(items[2], error="channel_not_found", now=NOW)
        left = store.outbox_items()
        assert [(i.post_key, i.attempts, i.dead) for i in left] == [
            ("x:0", 1, False),
            ("x:2", 1, True),
        ]
        assert store.get_post_record("x:1")["delivery"]["ts"] == "1.0001"
        stats = store.outbox_stats(NOW + timedelta(seconds=30))
        assert (stats.pending, stats.dead, stats.oldest_pending_seconds) == (1, 1, 30.0)
        actions = [e["action"] for e in store.audit_entries(NOW.date())]
        assert actions.count("post.routed") == 3
        assert "message.delivered" in actions and "message.failed" in actions


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


def test_schema_version_is_recorded_and_checked(tmp_path: Path) -> None:
    Store(tmp_path).close()
    meta = atomic.read_data_file(tmp_path / "meta.json")
    assert meta["meta"]["1"]["schema_version"] == SCHEMA_VERSION
    meta["meta"]["1"]["schema_version"] = SCHEMA_VERSION + 1
    (tmp_path / "meta.json").write_text(atomic.encode(meta))
    with pytest.raises(StorageError, match="schema version"):
        Store(tmp_path)


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
    with Store(tmp_path) as store:
        accept(store, make_post("a"))
        real_replace = os.replace

        def fail_once(*args, **kwargs):
            monkeypatch.setattr(os, "replace", real_replace)
            raise OSError("disk full")

        monkeypatch.setattr(os, "replace", fail_once)
        with pytest.raises(OSError):
            accept(store, make_post("b"))
        # Whatever was half-done, offering the post again stores it exactly once.
        assert accept(store, make_post("b")) == "accepted"
        assert accept(store, make_post("b")) == "duplicate"
        assert [i.post_key for i in store.outbox_items()] == ["x:a", "x:b"]


def test_a_long_outbox_is_kept_in_files_of_at_most_a_hundred(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        queue(store, 250)
        items = store.outbox_items()
        assert [i.text for i in items] == [f"note {n}" for n in range(250)]
        assert [i.seq for i in items] == sorted({i.seq for i in items})
        assert store.outbox_stats(NOW).pending == 250
    files = sorted((tmp_path / "outbox").glob("*.json"))
    assert len(files) == 3
    assert all(documents_in(f) <= 100 for f in files)
    assert sum(documents_in(f) for f in files) == 250


def test_delivering_old_messages_leaves_the_newest_outbox_file_alone(
    tmp_path: Path, written: list[Path]
) -> None:
    with Store(tmp_path) as store:
        queue(store, 250)
        items = store.outbox_items()
        written.clear()
        for item in items[:10]:
            store.mark_delivered(item, channel_id="C0DESK", ts="1.0", now=NOW)
        delivered_into = {p for p in written if p.parent.name == "outbox"}
        written.clear()
        queue(store, 1)
        queued_into = {p for p in written if p.parent.name == "outbox"}
        assert len(delivered_into) == len(queued_into) == 1
        assert delivered_into != queued_into
        assert len(store.outbox_items()) == 241


def test_emptied_outbox_files_go_but_dead_letters_stay(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        queue(store, 150)
        items = store.outbox_items()
        store.mark_dead(items[0], error="channel_not_found", now=NOW)
        for item in items[1:]:
            store.mark_delivered(item, channel_id="C0DESK", ts="1.0", now=NOW)
        left = store.outbox_items()
        assert [(i.seq, i.dead) for i in left] == [(items[0].seq, True)]
        stats = store.outbox_stats(NOW)
        assert (stats.pending, stats.dead) == (0, 1)
    # The dead letter's file and the newest file (which holds the sequence's place) remain.
    assert len(list((tmp_path / "outbox").glob("*.json"))) == 2


def test_outbox_sequence_never_goes_back(tmp_path: Path) -> None:
    seen: list[int] = []
    with Store(tmp_path) as store:
        queue(store, 150)
        for item in store.outbox_items():
            seen.append(item.seq)
            store.mark_delivered(item, channel_id="C0DESK", ts="1.0", now=NOW)
        assert store.outbox_items() == []
        queue(store, 1)
        [after_emptying] = store.outbox_items()
        seen.append(after_emptying.seq)
        store.mark_delivered(after_emptying, channel_id="C0DESK", ts="1.0", now=NOW)
    assert len(list((tmp_path / "outbox").glob("*.json"))) == 1
    with Store(tmp_path) as store:
        queue(store, 2)
        seen.extend(i.seq for i in store.outbox_items())
    with Store(tmp_path) as store:
        queue(store, 1)
        seen.append(store.outbox_items()[-1].seq)
    assert seen == sorted(seen) and len(set(seen)) == len(seen) == 154


def test_posts_and_audit_are_kept_by_hour(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        accept(store, make_post("a"), now=NOW + timedelta(minutes=59))
        accept(store, make_post("b"), now=NOW + timedelta(hours=1))
        accept(store, make_post("c"), now=NOW + timedelta(hours=14))  # 00:00 the next day
        assert store.count_posts(NOW.date()) == 2
        assert store.count_posts((NOW + timedelta(days=1)).date()) == 1
        assert store.get_post_record("x:b")["received_at"] == (NOW + timedelta(hours=1)).isoformat()
        assert len(store.audit_entries(NOW.date())) == 2
    day = tmp_path / "posts" / "2026" / "11" / "20"
    assert sorted(p.name for p in day.iterdir()) == ["10.json", "11.json"]
    assert (tmp_path / "posts" / "2026" / "11" / "21" / "00.json").exists()
    assert sorted(p.name for p in (tmp_path / "audit" / "2026" / "11" / "20").iterdir()) == [
        "10.json",
        "11.json",
    ]


def test_a_busy_hour_continues_in_new_files(tmp_path: Path) -> None:
    history = [(make_post(f"h{n}"), ROUTED, "#comms-enquiries", NOW) for n in range(230)]
    with Store(tmp_path) as store:
        assert store.import_history(history) == 230
        for n in range(300):
            store.record_audit("note", now=NOW, n=n)
        accept(store, make_post("new"))
        assert store.count_posts(NOW.date()) == 231
        assert store.get_post_record("x:h0")["key"] == "x:h0"
        assert store.get_post_record("x:new")["key"] == "x:new"
        assert [e["n"] for e in store.audit_entries(NOW.date())[:300]] == list(range(300))
    hour = tmp_path / "posts" / "2026" / "11" / "20"
    assert [documents_in(hour / name) for name in ("10.json", "10.1.json", "10.2.json")] == [
        100,
        100,
        31,
    ]
    audit = tmp_path / "audit" / "2026" / "11" / "20"
    assert [documents_in(audit / name) for name in ("10.json", "10.1.json")] == [250, 51]


def test_the_hot_path_writes_only_small_files(tmp_path: Path, written: list[Path]) -> None:
    history = [(make_post(f"h{n}"), ROUTED, "#c", NOW + timedelta(seconds=n)) for n in range(450)]
    later = NOW + timedelta(minutes=30)
    with Store(tmp_path) as store:
        store.import_history(history)
        queue(store, 150)
        for n in range(260):
            store.record_audit("note", now=NOW, n=n)
        written.clear()
        accept(store, make_post("new"), now=later)
        [item] = [i for i in store.outbox_items() if i.post_key == "x:new"]
        store.mark_delivered(item, channel_id="C0DESK", ts="1.0", now=later)
        assert store.get_post_record("x:new")["delivery"]["ts"] == "1.0"
        # Accept: index, post, audit, outbox. Deliver: outbox (sent), post, audit, outbox.
        assert len(written) == 8
        assert all(documents_in(path) <= 250 for path in written)
        assert all(documents_in(path) <= 100 for path in written if "audit" not in path.parts)


def test_the_index_spreads_keys_over_4096_buckets(tmp_path: Path) -> None:
    history = [(make_post(f"h{n}"), ROUTED, "#c", NOW) for n in range(600)]
    with Store(tmp_path) as store:
        store.import_history(history)
        assert accept(store, make_post("h599")) == "duplicate"
    buckets = list((tmp_path / "index").glob("*/*.json"))
    assert len(buckets) > 500  # 600 keys in 256 buckets would fill at most 256 files
    assert all(len(p.stem) == 3 and p.stem.startswith(p.parent.name) for p in buckets)


def test_import_writes_each_file_once_and_skips_stored_posts(
    tmp_path: Path, written: list[Path]
) -> None:
    with Store(tmp_path) as store:
        accept(store, make_post("0"))
        history = [
            (make_post(str(n)), ROUTED, "#c", NOW - timedelta(hours=n % 5)) for n in range(300)
        ]
        written.clear()
        assert store.import_history(history + history[:10]) == 299
        assert len(written) == len(set(written))
        assert store.count_posts(NOW.date()) == 300
        assert len(store.outbox_items()) == 1


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
    with Store(tmp_path) as store:
        for name, at in received.items():
            accept(store, make_post(name), now=at)
        start = datetime(2026, 7, 1, tzinfo=london)
        assert store.count_posts_between(start, start + timedelta(days=1)) == 3
        assert store.count_posts(summer.date()) == 3  # midday, last and after, by UTC day
        assert store.count_posts_between(summer, summer) == 0
        with pytest.raises(ValueError, match="timezone-aware"):
            store.count_posts_between(datetime(2026, 7, 1), summer)


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


@pytest.mark.parametrize("write_number", [1, 2, 3, 4])
@pytest.mark.parametrize("delivered_before_retry", [False, True])
def test_an_accept_cut_short_anywhere_stores_and_sends_once(
    tmp_path: Path, monkeypatch, write_number: int, delivered_before_retry: bool
) -> None:
    """Accepting writes four files; die at each, restart, deliver what is queued, offer again."""
    with Store(tmp_path) as store:
        accept(store, make_post("a"))
        _crash_at(monkeypatch, write_number)
        with pytest.raises(OSError, match="killed"):
            accept(store, make_post("b"))
    later = NOW + timedelta(hours=1, minutes=5)
    with Store(tmp_path) as store:
        delivered = []
        if delivered_before_retry:
            for item in store.outbox_items():
                store.mark_delivered(item, channel_id="C1", ts="1.1", now=later)
                delivered.append(item.post_key)
        assert accept(store, make_post("b"), now=later) == "accepted"
        assert accept(store, make_post("b"), now=later) == "duplicate"
        sent = delivered + [i.post_key for i in store.outbox_items()]
        assert sorted(sent) == ["x:a", "x:b"]  # each post's message exactly once
        assert store.count_posts_between(NOW, later + timedelta(hours=1)) == 2
        record = store.get_post_record("x:b")
        # Once the index entry is written, the post keeps the time it first arrived.
        first_seen = later if write_number == 1 else NOW
        assert record is not None and record["received_at"] == first_seen.isoformat()


def test_a_delivered_post_offered_again_after_a_cut_short_accept_is_a_duplicate(
    tmp_path: Path, monkeypatch
) -> None:
    """Killed after the message was queued: Slack gets it once even when offered again."""
    with Store(tmp_path) as store:
        _crash_at(monkeypatch, 4)  # index, post, audit written; the outbox write dies
        with pytest.raises(OSError):
            accept(store, make_post("c"))
        assert accept(store, make_post("c")) == "accepted"  # the retry queues it
        [item] = store.outbox_items()
        store.mark_delivered(item, channel_id="C1", ts="1.1", now=NOW)
        assert accept(store, make_post("c")) == "duplicate"
        assert store.outbox_items() == []


def test_outbox_sequence_never_goes_back_across_restarts(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        for n in range(150):
            accept(store, make_post(str(n)))
        items = store.outbox_items()
        store.mark_dead(items[120], error="channel_not_found", now=NOW)
        for item in items[121:]:
            store.mark_delivered(item, channel_id="C1", ts="1", now=NOW)
        highest = items[-1].seq
    with Store(tmp_path) as store:
        accept(store, make_post("new"))
        assert store.outbox_items()[-1].seq > highest


def test_outbox_heads_are_each_channels_oldest_waiting_message(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        for n, channel in enumerate(["#a", "#b", "#a", "#c", "#b"]):
            store.accept_post(
                make_post(str(n)),
                ROUTED,
                channel=channel,
                message=("fallback", [{"type": "divider"}]),
                now=NOW,
            )
        first = store.outbox_items()[0]
        store.mark_dead(first, error="channel_not_found", now=NOW)
        heads = store.outbox_heads()
    assert [(h.channel, h.post_key) for h in heads] == [("#b", "x:1"), ("#a", "x:2"), ("#c", "x:3")]


def test_new_directories_are_synced_into_their_parents(tmp_path: Path, monkeypatch) -> None:
    from bot.storage import atomic

    synced: list[Path] = []
    real = atomic._fsync_dir
    monkeypatch.setattr(atomic, "_fsync_dir", lambda d: (synced.append(Path(d)), real(d)))
    atomic.write_atomically(tmp_path / "posts" / "2026" / "11" / "20" / "10.json", "{}")
    for parent in ("", "posts", "posts/2026", "posts/2026/11", "posts/2026/11/20"):
        assert tmp_path / parent in synced


def test_outbox_stats_stay_right_through_deliveries_deaths_and_restarts(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        for n in range(5):
            accept(store, make_post(str(n)), now=NOW + timedelta(seconds=n))
        items = store.outbox_items()
        store.mark_dead(items[0], error="channel_not_found", now=NOW)
        store.mark_dead(items[0], error="channel_not_found", now=NOW)  # counted once
        store.mark_delivered(items[1], channel_id="C1", ts="1", now=NOW)
        stats = store.outbox_stats(NOW + timedelta(seconds=10))
        assert (stats.pending, stats.dead, stats.oldest_pending_seconds) == (3, 1, 8.0)
    with Store(tmp_path) as store:
        stats = store.outbox_stats(NOW + timedelta(seconds=10))
        assert (stats.pending, stats.dead, stats.oldest_pending_seconds) == (3, 1, 8.0)


def offers(*ids: str, channel: str = "#comms-enquiries") -> list[PostToAccept]:
    return [
        PostToAccept(make_post(i), ROUTED, channel, ("fallback", [{"type": "divider"}]))
        for i in ids
    ]


BATCH = [f"b{n}" for n in range(12)]


def _replaces(monkeypatch) -> list[Path]:
    """Record the target of every atomic replace from now on."""
    targets: list[Path] = []
    real_replace = os.replace

    def replace(source, target, *args, **kwargs):
        targets.append(Path(target))
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    return targets


def test_a_batch_writes_each_file_it_touches_once(tmp_path: Path, monkeypatch) -> None:
    with Store(tmp_path) as store:
        accept(store, make_post("before"))
        targets = _replaces(monkeypatch)
        outcomes = store.accept_posts(offers(*BATCH, "b0"), now=NOW)
        assert [o.status for o in outcomes] == ["accepted"] * 12 + ["duplicate"]
        assert len(targets) == len(set(targets))
        kinds = {p.relative_to(tmp_path).parts[0] for p in targets}
        assert kinds == {"index", "posts", "audit", "outbox"}
        assert [i.post_key for i in store.outbox_items()] == ["x:before"] + [
            f"x:{i}" for i in BATCH
        ]
        assert store.count_posts(NOW.date()) == 13
        again = store.accept_posts(offers(*BATCH[:3], "new"), now=NOW)
        assert [o.status for o in again] == ["duplicate"] * 3 + ["accepted"]


def _writes_in_a_batch(tmp_path: Path, monkeypatch) -> int:
    with monkeypatch.context() as patch, Store(tmp_path / "count") as store:
        accept(store, make_post("z"))
        targets = _replaces(patch)
        store.accept_posts(offers(*BATCH), now=NOW)
        return len(targets)


@pytest.mark.parametrize("delivered_before_retry", [False, True])
def test_a_batch_cut_short_at_any_write_stores_and_sends_each_post_once(
    tmp_path: Path, monkeypatch, delivered_before_retry: bool
) -> None:
    """Die at every write of a batch in turn, restart, deliver what is queued, offer again."""
    writes = _writes_in_a_batch(tmp_path, monkeypatch)
    assert writes >= 4
    later = NOW + timedelta(minutes=5)
    for write_number in range(1, writes + 1):
        data = tmp_path / f"crash-{write_number}"
        with Store(data) as store:
            accept(store, make_post("z"))
            _crash_at(monkeypatch, write_number)
            with pytest.raises(OSError, match="killed"):
                store.accept_posts(offers(*BATCH), now=NOW)
            monkeypatch.undo()
        with Store(data) as store:
            delivered = []
            if delivered_before_retry:
                for item in store.outbox_items():
                    store.mark_delivered(item, channel_id="C1", ts="1.1", now=later)
                    delivered.append(item.post_key)
            retry = store.accept_posts(offers(*BATCH), now=later)
            assert {o.status for o in retry} <= {"accepted", "duplicate"}
            assert [o.status for o in store.accept_posts(offers(*BATCH), now=later)] == [
                "duplicate"
            ] * len(BATCH)
            sent = delivered + [i.post_key for i in store.outbox_items()]
            assert sorted(sent) == sorted(["x:z"] + [f"x:{i}" for i in BATCH]), write_number
            assert store.count_posts_between(NOW, later + timedelta(hours=1)) == 13
