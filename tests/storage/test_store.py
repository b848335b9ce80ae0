"""The Store: durable, atomic, deduplicating, and one process at a time."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.posts import Author, Category, Classification, Flag, FlagHit, Network, Post
from bot.storage import SCHEMA_VERSION, DataDirInUseError, StorageError, Store
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
    assert (tmp_path / "posts" / "2026" / "11" / "21.json").exists()
    assert len(list((tmp_path / "index").glob("*.json"))) > 1


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
        assert store.first_sighting("Ev1", now=NOW)
        assert not store.first_sighting("Ev1", now=NOW + timedelta(minutes=5))
        assert store.prune_events(older_than=timedelta(days=1), now=NOW + timedelta(days=2)) == 1
        assert store.first_sighting("Ev1", now=NOW + timedelta(days=2))


def test_a_second_process_cannot_open_the_same_data(tmp_path: Path) -> None:
    with Store(tmp_path), pytest.raises(DataDirInUseError, match="in use"):
        Store(tmp_path)
    Store(tmp_path).close()  # released once the first closes


def test_schema_version_is_recorded_and_checked(tmp_path: Path) -> None:
    Store(tmp_path).close()
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["meta"]["1"]["schema_version"] == SCHEMA_VERSION
    meta["meta"]["1"]["schema_version"] = SCHEMA_VERSION + 1
    (tmp_path / "meta.json").write_text(json.dumps(meta))
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
