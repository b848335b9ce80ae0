"""The repository: every read and write of commsbot's data goes through `Store`.

Layout of the data directory (kept so the files touched when a post arrives stay small
however long the history grows):

- `meta.json`: schema version.
- `outbox.json`: Slack messages waiting to be delivered (removed once delivered).
- `events.json`: Slack event ids already handled (pruned after a day).
- `index/<xx>.json`: which day's file holds each post, bucketed by a hash of its key.
- `posts/YYYY/MM/DD.json`: posts by the UTC day they were received.
- `audit/YYYY/MM/DD.json`: the audit trail by UTC day.
"""

from __future__ import annotations

import copy
import fcntl
import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from tinydb import Query, TinyDB
from tinydb.table import Document, Table

from bot.core.posts import Author, Classification, Kind, Network, Post
from bot.storage.atomic import AtomicJSONStorage, CorruptFileError

SCHEMA_VERSION = 1
_OPEN_FILES = 64


class StorageError(Exception):
    """The data directory cannot be used as it is."""


class DataDirInUseError(StorageError):
    """Another commsbot process holds the data directory."""


@dataclass(frozen=True)
class AcceptOutcome:
    """What happened to one post offered for storage."""

    status: Literal["accepted", "duplicate"]
    key: str


@dataclass(frozen=True)
class OutboxItem:
    """One Slack message waiting to be delivered, in the order it was queued."""

    seq: int
    channel: str
    text: str
    blocks: list[dict[str, Any]]
    post_key: str | None
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    dead: bool


@dataclass(frozen=True)
class OutboxStats:
    """How much is waiting for Slack and for how long."""

    pending: int
    dead: int
    oldest_pending_seconds: float | None


def _bucket(key: str) -> str:
    """Which index file holds a post key (256 buckets, so each stays small)."""
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:2]


def _iso(instant: datetime) -> str:
    if instant.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    return instant.astimezone(UTC).isoformat()


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def post_to_doc(post: Post) -> dict[str, Any]:
    """The plain-dict form of a post, as stored."""
    return {
        "key": post.key,
        "id": post.id,
        "network": post.network.value,
        "account": post.account,
        "author": {
            "handle": post.author.handle,
            "name": post.author.name,
            "followers": post.author.followers,
        },
        "text": post.text,
        "url": post.url,
        "posted_at": _iso(post.posted_at),
        "kind": post.kind.value,
        "flagged_by": post.flagged_by,
    }


def post_from_doc(doc: dict[str, Any]) -> Post:
    """A post back from its stored form."""
    author = doc["author"]
    return Post(
        id=doc["id"],
        network=Network(doc["network"]),
        account=doc["account"],
        author=Author(
            handle=author["handle"], name=author.get("name"), followers=author.get("followers")
        ),
        text=doc["text"],
        url=doc.get("url"),
        posted_at=_parse(doc["posted_at"]),
        kind=Kind(doc.get("kind", "post")),
        flagged_by=doc.get("flagged_by"),
    )


def _outbox_from_doc(doc: Document) -> OutboxItem:
    return OutboxItem(
        seq=doc.doc_id,
        channel=doc["channel"],
        text=doc["text"],
        blocks=copy.deepcopy(doc["blocks"]),
        post_key=doc.get("post_key"),
        attempts=doc["attempts"],
        next_attempt_at=_parse(doc["next_attempt_at"]),
        last_error=doc.get("last_error"),
        dead=doc.get("dead", False),
    )


class Store:
    """commsbot's data directory. One lock serialises listeners, the outbox and the scheduler."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.lock = threading.RLock()
        self._dbs: OrderedDict[Path, TinyDB] = OrderedDict()
        self._closed = False
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create data directory {self.data_dir}: {exc}") from exc
        self._lock_file = self._take_process_lock()
        try:
            self._check_schema()
        except BaseException:
            self.close()
            raise

    # -- lifecycle -------------------------------------------------------------------------

    def _take_process_lock(self) -> int:
        path = self.data_dir / ".lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DataDirInUseError(
                f"data directory {self.data_dir} is in use by another commsbot process"
            ) from None
        return fd

    def _check_schema(self) -> None:
        meta = self._db(self.data_dir / "meta.json").table("meta")
        doc = meta.get(doc_id=1)
        if doc is None:
            meta.insert({"schema_version": SCHEMA_VERSION})
            return
        found = doc.get("schema_version")
        if found != SCHEMA_VERSION:
            raise StorageError(
                f"{self.data_dir}/meta.json: schema version {found}, this commsbot expects "
                f"{SCHEMA_VERSION}; upgrade commsbot or migrate the data"
            )

    def close(self) -> None:
        """Release the files and the data directory lock."""
        with self.lock:
            if self._closed:
                return
            self._closed = True
            for db in self._dbs.values():
                db.close()
            self._dbs.clear()
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            os.close(self._lock_file)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _db(self, path: Path) -> TinyDB:
        db = self._dbs.get(path)
        if db is not None:
            self._dbs.move_to_end(path)
            return db
        if self._closed:
            raise StorageError("store is closed")
        db = TinyDB(path, storage=AtomicJSONStorage)
        self._dbs[path] = db
        while len(self._dbs) > _OPEN_FILES:
            _, oldest = self._dbs.popitem(last=False)
            oldest.close()
        return db

    def check(self) -> None:
        """Raise StorageError if the data directory cannot be read and written now."""
        with self.lock:
            try:
                probe = self.data_dir / ".probe"
                probe.write_text("ok", encoding="utf-8")
                probe.unlink()
                self._db(self.data_dir / "meta.json").table("meta").get(doc_id=1)
            except (OSError, CorruptFileError) as exc:
                raise StorageError(str(exc)) from exc

    # -- posts -----------------------------------------------------------------------------

    def _index_table(self, key: str) -> Table:
        return self._bucket_table(_bucket(key))

    def _bucket_table(self, bucket: str) -> Table:
        return self._db(self.data_dir / "index" / f"{bucket}.json").table("keys")

    def _posts_table(self, day: date) -> Table:
        path = self.data_dir / "posts" / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}.json"
        return self._db(path).table("posts")

    def accept_post(
        self,
        post: Post,
        classification: Classification,
        *,
        channel: str,
        message: tuple[str, list[dict[str, Any]]],
        now: datetime,
    ) -> AcceptOutcome:
        """Store a new post with its routing and queue its Slack message; repeats change nothing.

        The index entry is written last: until it exists the post counts as new, and writing
        the post and its outbox entry again is harmless (both are upserts by key).
        """
        key = post.key
        with self.lock:
            index = self._index_table(key)
            if index.get(Query().key == key) is not None:
                return AcceptOutcome("duplicate", key)
            day = now.astimezone(UTC).date()
            record = post_to_doc(post) | {
                "received_at": _iso(now),
                "category": classification.category.value,
                "rule": classification.rule,
                "flags": classification.flag_names,
                "flag_reasons": [hit.reason for hit in classification.flags],
                "channel": channel,
                "theme": None,
                "delivery": None,
            }
            self._posts_table(day).upsert(record, Query().key == key)
            text, blocks = message
            self._queue(channel=channel, text=text, blocks=blocks, post_key=key, now=now)
            index.insert({"key": key, "day": day.isoformat()})
            self.record_audit(
                "post.routed",
                now=now,
                post=key,
                account=post.account,
                category=classification.category.value,
                rule=classification.rule,
                channel=channel,
                flagged_by=post.flagged_by,
            )
        return AcceptOutcome("accepted", key)

    def import_history(self, records: list[tuple[Post, Classification, str, datetime]]) -> int:
        """Store already-handled posts (post, classification, channel, received_at) in bulk.

        For loading history from another system: nothing is queued for Slack, each file is
        written once, and posts already stored are skipped. Returns how many were added.
        """
        by_day: dict[date, list[dict[str, Any]]] = {}
        by_bucket: dict[str, list[dict[str, Any]]] = {}
        added = 0
        with self.lock:
            for post, classification, channel, received_at in records:
                key = post.key
                bucket = _bucket(key)
                if self._index_table(key).get(Query().key == key) is not None or any(
                    entry["key"] == key for entry in by_bucket.get(bucket, ())
                ):
                    continue
                day = received_at.astimezone(UTC).date()
                by_day.setdefault(day, []).append(
                    post_to_doc(post)
                    | {
                        "received_at": _iso(received_at),
                        "category": classification.category.value,
                        "rule": classification.rule,
                        "flags": classification.flag_names,
                        "flag_reasons": [hit.reason for hit in classification.flags],
                        "channel": channel,
                        "theme": None,
                        "delivery": None,
                        "imported": True,
                    }
                )
                by_bucket.setdefault(bucket, []).append({"key": key, "day": day.isoformat()})
                added += 1
            for day, docs in by_day.items():
                self._posts_table(day).insert_multiple(docs)
            for bucket, entries in by_bucket.items():
                self._bucket_table(bucket).insert_multiple(entries)
        return added

    def _locate(self, key: str) -> date | None:
        entry = self._index_table(key).get(Query().key == key)
        return None if entry is None else date.fromisoformat(entry["day"])

    def get_post_record(self, key: str) -> dict[str, Any] | None:
        """The stored record of a post (post fields, routing, delivery), or None."""
        with self.lock:
            day = self._locate(key)
            if day is None:
                return None
            doc = self._posts_table(day).get(Query().key == key)
            return None if doc is None else copy.deepcopy(dict(doc))

    def count_posts(self, day: date) -> int:
        """How many posts were received on a UTC day."""
        with self.lock:
            return len(self._posts_table(day))

    # -- outbox ----------------------------------------------------------------------------

    def _outbox(self) -> Table:
        return self._db(self.data_dir / "outbox.json").table("messages")

    def _queue(
        self,
        *,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        post_key: str | None,
        now: datetime,
    ) -> None:
        doc = {
            "channel": channel,
            "text": text,
            "blocks": blocks,
            "post_key": post_key,
            "attempts": 0,
            "next_attempt_at": _iso(now),
            "last_error": None,
            "dead": False,
            "queued_at": _iso(now),
        }
        outbox = self._outbox()
        if post_key is not None and outbox.get(Query().post_key == post_key) is not None:
            return
        outbox.insert(doc)

    def queue_message(
        self, *, channel: str, text: str, blocks: list[dict[str, Any]], now: datetime
    ) -> None:
        """Queue a Slack message that belongs to no post."""
        with self.lock:
            self._queue(channel=channel, text=text, blocks=blocks, post_key=None, now=now)

    def outbox_items(self) -> list[OutboxItem]:
        """Every queued message, oldest first (dead letters included)."""
        with self.lock:
            docs = sorted(self._outbox().all(), key=lambda d: d.doc_id)
            return [_outbox_from_doc(doc) for doc in docs]

    def mark_delivered(self, item: OutboxItem, *, channel_id: str, ts: str, now: datetime) -> None:
        """Remove a delivered message from the outbox and note where it landed."""
        with self.lock:
            self._outbox().remove(doc_ids=[item.seq])
            if item.post_key is not None:
                day = self._locate(item.post_key)
                if day is not None:
                    delivery = {"channel_id": channel_id, "ts": ts, "delivered_at": _iso(now)}
                    self._posts_table(day).update(
                        {"delivery": delivery}, Query().key == item.post_key
                    )
            self.record_audit(
                "message.delivered",
                now=now,
                post=item.post_key,
                channel=item.channel,
                channel_id=channel_id,
                ts=ts,
                attempts=item.attempts + 1,
            )

    def mark_retry(
        self, item: OutboxItem, *, error: str, next_attempt_at: datetime, now: datetime
    ) -> None:
        """Record a failed attempt and when to try again."""
        with self.lock:
            self._outbox().update(
                {
                    "attempts": item.attempts + 1,
                    "last_error": error,
                    "next_attempt_at": _iso(next_attempt_at),
                },
                doc_ids=[item.seq],
            )

    def mark_dead(self, item: OutboxItem, *, error: str, now: datetime) -> None:
        """Keep a message Slack refused for good, so a person can see and fix it."""
        with self.lock:
            self._outbox().update(
                {"attempts": item.attempts + 1, "last_error": error, "dead": True},
                doc_ids=[item.seq],
            )
            self.record_audit(
                "message.failed", now=now, post=item.post_key, channel=item.channel, error=error
            )

    def outbox_stats(self, now: datetime) -> OutboxStats:
        """Counts of waiting and dead messages and the age of the oldest waiting one."""
        with self.lock:
            docs = self._outbox().all()
        pending = [d for d in docs if not d.get("dead")]
        oldest = min((_parse(d["queued_at"]) for d in pending), default=None)
        return OutboxStats(
            pending=len(pending),
            dead=len(docs) - len(pending),
            oldest_pending_seconds=None if oldest is None else (now - oldest).total_seconds(),
        )

    # -- Slack events ----------------------------------------------------------------------

    def first_sighting(self, event_id: str, *, now: datetime) -> bool:
        """True the first time an event id is seen; records it so retries are ignored."""
        with self.lock:
            events = self._db(self.data_dir / "events.json").table("events")
            if events.get(Query().event_id == event_id) is not None:
                return False
            events.insert({"event_id": event_id, "seen_at": _iso(now)})
            return True

    def prune_events(self, *, older_than: timedelta, now: datetime) -> int:
        """Forget handled event ids older than `older_than`; Slack stops retrying long before."""
        cutoff = now - older_than
        with self.lock:
            events = self._db(self.data_dir / "events.json").table("events")
            removed = events.remove(Query().seen_at.test(lambda v: _parse(v) < cutoff))
            return len(removed)

    # -- audit -----------------------------------------------------------------------------

    def _audit_table(self, day: date) -> Table:
        path = self.data_dir / "audit" / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}.json"
        return self._db(path).table("audit")

    def record_audit(self, action: str, *, now: datetime, **details: Any) -> None:
        """Append one entry to the audit trail."""
        with self.lock:
            entry = {"at": _iso(now), "action": action} | {
                k: v for k, v in details.items() if v is not None
            }
            self._audit_table(now.astimezone(UTC).date()).insert(entry)

    def audit_entries(self, day: date) -> list[dict[str, Any]]:
        """The audit trail of one UTC day, oldest first."""
        with self.lock:
            return [copy.deepcopy(dict(d)) for d in self._audit_table(day).all()]

    def iter_audit(self, start: date, end: date) -> Iterator[dict[str, Any]]:
        """Audit entries from `start` to `end` inclusive, oldest first."""
        day = start
        while day <= end:
            yield from self.audit_entries(day)
            day += timedelta(days=1)
