"""The repository: every read and write of commsbot's data goes through `Store`.

Layout of the data directory. Every file written when a post arrives or a message is delivered
holds a bounded number of documents, however long the history and however long Slack is away:

- `meta.json`: schema version.
- `outbox/NNNNNNNN.json`: Slack messages waiting to be delivered, 100 to a file by sequence
  number (file `seq // 100`). A message is removed once delivered; a dead letter stays until a
  person deals with it. A file is deleted once empty, except the newest; after a restart the
  sequence continues at the next file's first number, so it never goes back.
- `events/YYYYMMDDHH.json`: Slack event ids already handled, by UTC hour (pruned after a day).
- `index/X/XYZ.json`: which posts file holds each post and when it arrived, in 4,096 buckets
  by a hash of its key. Written first when a post is accepted; the post's outbox message,
  written last, marks the accept complete (see `Store.accept_post`).
- `posts/YYYY/MM/DD/HH.json`: posts by the UTC hour they were received, 100 to a file; a busy
  hour continues in `HH.1.json`, `HH.2.json` and so on.
- `audit/YYYY/MM/DD/HH.json`: the audit trail by UTC hour, 250 entries to a file, continued
  the same way.
- `quarantine/`: damaged files found at start, moved here (never deleted) with a note beside
  each saying what was rebuilt and what to do. /healthz is unhealthy while any note is here.

Every file carries a checksum (see `bot.storage.atomic`). At start, leftover temporary files
are removed and every file is checked; a damaged one is quarantined and what can be rebuilt
is: an index bucket from the posts files, the outbox from the posts never delivered (by the
desk, which renders their messages again: see `posts_to_requeue`). A damaged meta.json stops
start-up, as the data's version is then unknown.
"""

from __future__ import annotations

import copy
import fcntl
import hashlib
import json
import logging
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal

from tinydb import Query, TinyDB
from tinydb.table import Document, Table

from bot.core.posts import Author, Classification, Kind, Network, Post
from bot.storage.atomic import (
    AtomicJSONStorage,
    CorruptFileError,
    StorageError,
    WriteBatch,
    check_data_file,
    encode,
    read_data_file,
    write_atomically,
    write_many_atomically,
)
from bot.storage.offenders import Offenders

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 3  # 3: every file carries a format mark and a checksum
QUARANTINE = "quarantine"
# The folders of the data directory this store writes, each file checksummed. Anything else
# there (a trained model, a backup someone left) is not the store's to check or quarantine.
_STORE_AREAS = frozenset({"outbox", "events", "index", "posts", "audit", "offenders"})
# Slack retries an unacknowledged event after about a minute and again after five.
_EVENT_RETRY_HOURS = 2
_OPEN_FILES = 64
_OUTBOX_PER_FILE = 100
_POSTS_PER_FILE = 100
_AUDIT_PER_FILE = 250
_INDEX_HEX_DIGITS = 3  # 16**3 = 4,096 buckets: about 25 keys each at 100,000 posts
_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)


class DataDirInUseError(StorageError):
    """Another commsbot process holds the data directory."""


@dataclass(frozen=True)
class AcceptOutcome:
    """What happened to one post offered for storage."""

    status: Literal["accepted", "duplicate"]
    key: str


@dataclass(frozen=True)
class PostToAccept:
    """One post of a batch offered for storage, with its routing and its Slack message."""

    post: Post
    classification: Classification
    channel: str
    message: tuple[str, list[dict[str, Any]]]


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
    # Failures that count towards exponential backoff (a 429 does not).
    failures: int = 0
    # The last attempt timed out: Slack may have the message, so look before resending.
    uncertain: bool = False
    queued_at: datetime | None = None
    # Where Slack put it, once sent; the rest of the bookkeeping may still be to do.
    sent: Mapping[str, str] | None = None


@dataclass(frozen=True)
class OutboxStats:
    """How much is waiting for Slack and for how long."""

    pending: int
    dead: int
    oldest_pending_seconds: float | None


_QUARANTINE_ADVICE = {
    "outbox": "Messages of posts never delivered are queued again from the posts files (a "
    "message Slack already had may be sent once more); other messages in it (alerts) are "
    "only in the quarantined copy.",
    "index": "The index was rebuilt from the posts files; nothing is lost.",
    "events": "Slack event ids in it are forgotten: a retried event may be handled twice.",
    "audit": "Its audit entries are only in the quarantined copy: restore them from a backup "
    "if you have one.",
    "posts": "Its posts are only in the quarantined copy: restore the file from a backup, or "
    "keep the copy for the record.",
    "offenders": "Moderation breach counts of the authors in it start again from zero; the old "
    "counts are only in the quarantined copy.",
}


def _bucket(key: str) -> str:
    """Which index file holds a post key (4,096 buckets, so each stays small)."""
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:_INDEX_HEX_DIGITS]


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    return instant.astimezone(UTC)


def _iso(instant: datetime) -> str:
    return _utc(instant).isoformat()


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def _hour_of(instant: datetime) -> datetime:
    return _utc(instant).replace(minute=0, second=0, microsecond=0)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


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


def _routed_doc(
    post: Post, classification: Classification, *, channel: str, received_at: datetime
) -> dict[str, Any]:
    return post_to_doc(post) | {
        "received_at": _iso(received_at),
        "category": classification.category.value,
        "rule": classification.rule,
        "flags": classification.flag_names,
        "flag_reasons": [hit.reason for hit in classification.flags],
        "channel": channel,
        "theme": None,
        "delivery": None,
    }


def _complete(stored: Mapping[str, Any] | None) -> bool:
    """Whether a stored post's accept finished: delivered to Slack, or imported as history."""
    return stored is not None and bool(stored.get("delivery") or stored.get("imported"))


def _get(table: Table, seq: int) -> Document:
    """The outbox document `seq` of a table known to hold it."""
    doc = table.get(doc_id=seq)
    if not isinstance(doc, Document):
        raise StorageError(f"outbox message {seq} is missing from its file")
    return doc


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
        failures=doc.get("failures", doc["attempts"]),
        uncertain=doc.get("uncertain", False),
        queued_at=_parse(doc["queued_at"]) if doc.get("queued_at") else None,
        sent=copy.deepcopy(doc.get("sent")),
    )


class _HourlyFiles:
    """Documents of one kind in files by UTC hour, at most `capacity` to a file.

    An hour's first file is `YYYY/MM/DD/HH.json`; once full it continues in `HH.1.json`,
    `HH.2.json` and so on. A file's path under `root` without `.json` is its *part*, which is
    what the index records.
    """

    def __init__(
        self,
        root: Path,
        *,
        table: str,
        capacity: int,
        open_db: Callable[[Path], TinyDB],
        read: Callable[[Path, str], list[Mapping[str, Any]]],
    ) -> None:
        self.root = root
        self.table_name = table
        self.capacity = capacity
        self._open_db = open_db
        self._read = read
        self._newest: tuple[datetime, int] | None = None  # last hour written, its newest file

    def forget(self) -> None:
        """Forget which file was newest; it is looked up again."""
        self._newest = None

    @staticmethod
    def part(hour: datetime, number: int) -> str:
        return f"{hour:%Y/%m/%d/%H}" + (f".{number}" if number else "")

    def path(self, part: str) -> Path:
        return self.root / f"{part}.json"

    def table(self, part: str) -> Table:
        return self._open_db(self.path(part)).table(self.table_name)

    def documents(self, part: str) -> list[Mapping[str, Any]]:
        return self._read(self.path(part), self.table_name)

    def parts(self, hour: datetime) -> list[str]:
        """The files of one hour that exist, oldest first."""
        found: list[str] = []
        while True:
            part = self.part(hour, len(found))
            if not self.path(part).exists():
                return found
            found.append(part)

    def parts_between(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, str]]:
        """(hour, part) for each file whose hour overlaps [start, end), oldest first."""
        hour = _hour_of(start)
        while hour < end:
            if not (self.root / f"{hour:%Y/%m/%d}").is_dir():
                hour = hour.replace(hour=0) + _DAY
                continue
            for part in self.parts(hour):
                yield hour, part
            hour += _HOUR

    def part_for(self, instant: datetime) -> str:
        """The file a new document of `instant` goes into: its hour's newest, unless full."""
        hour = _hour_of(instant)
        if self._newest is not None and self._newest[0] == hour:
            number = self._newest[1]
        else:
            number = max(len(self.parts(hour)) - 1, 0)
        if len(self.table(self.part(hour, number))) >= self.capacity:
            number += 1
        self._newest = (hour, number)
        return self.part(hour, number)

    def fill(
        self, hour: datetime, docs: list[dict[str, Any]]
    ) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """Split one hour's new documents into (part, batch): the newest file's room first."""
        self._newest = None
        existing = self.parts(hour)
        number = max(len(existing) - 1, 0)
        room = self.capacity - (len(self.documents(existing[-1])) if existing else 0)
        while docs:
            if room <= 0:
                number, room = number + 1, self.capacity
            batch, docs = docs[:room], docs[room:]
            room -= len(batch)
            yield self.part(hour, number), batch


class _OutboxFiles:
    """The outbox: messages in files of `_OUTBOX_PER_FILE` by sequence number.

    Read once, on first use, then kept in memory with a map from post key to sequence number
    so queueing a post's message twice is caught without reading every file.
    """

    def __init__(self, directory: Path, batch: WriteBatch) -> None:
        self.directory = directory
        self._batch = batch
        self._closed = False
        self.forget()

    def forget(self) -> None:
        """Drop everything held in memory; the next use reads the files again."""
        for db in getattr(self, "_dbs", {}).values():
            db.close()
        self._dbs: dict[int, TinyDB] = {}  # file number -> open file, oldest first
        self._loaded = False
        self._next_seq = 1
        self._queued: dict[str, int] = {}
        # channel -> sequence numbers of its waiting (not dead) messages, oldest first.
        self._waiting: dict[str, list[int]] = {}
        self._dead = 0  # how many dead letters are kept
        self._unfinished: list[int] = []  # sent, bookkeeping not yet done

    def _path(self, number: int) -> Path:
        return self.directory / f"{number:08d}.json"

    def _table(self, number: int) -> Table:
        db = self._dbs.get(number)
        if db is None:
            db = self._dbs[number] = TinyDB(
                self._path(number), storage=AtomicJSONStorage, batch=self._batch
            )
        return db.table("messages")

    def _load(self) -> None:
        if self._closed:
            raise StorageError("store is closed")
        if self._loaded:
            return
        numbers = sorted(int(p.stem) for p in self.directory.glob("*.json") if p.stem.isdigit())
        for number in numbers:
            for doc in sorted(self._table(number), key=lambda d: d.doc_id):
                if doc.get("post_key") is not None:
                    self._queued[doc["post_key"]] = doc.doc_id
                if doc.get("sent"):
                    self._unfinished.append(doc.doc_id)
                elif not doc.get("dead"):
                    self._waiting.setdefault(doc["channel"], []).append(doc.doc_id)
                else:
                    self._dead += 1
        if numbers:
            # Numbers already handed out and delivered are not on disk any more; starting at
            # the next file's first number guarantees the sequence never goes back.
            self._next_seq = (numbers[-1] + 1) * _OUTBOX_PER_FILE
            for number in numbers:
                self._drop_if_empty(number)
        self._loaded = True

    def _drop_if_empty(self, number: int) -> None:
        if number == (self._next_seq - 1) // _OUTBOX_PER_FILE:
            return  # the newest file marks how far the sequence has gone
        db = self._dbs.get(number)
        if db is None or len(db.table("messages")) > 0:
            return
        del self._dbs[number]
        db.close()
        self._path(number).unlink(missing_ok=True)

    def _existing(self, seq: int) -> Table | None:
        self._load()
        number = seq // _OUTBOX_PER_FILE
        if number not in self._dbs:
            return None
        table = self._table(number)
        return table if table.contains(doc_id=seq) else None

    def queue(self, doc: dict[str, Any]) -> None:
        """Add a message with the next sequence number, unless its post's is already here."""
        self._load()
        post_key = doc.get("post_key")
        if post_key is not None and post_key in self._queued:
            return
        seq = self._next_seq
        self._table(seq // _OUTBOX_PER_FILE).insert(Document(doc, doc_id=seq))
        self._next_seq = seq + 1
        if post_key is not None:
            self._queued[post_key] = seq
        if not doc.get("dead"):
            self._waiting.setdefault(doc["channel"], []).append(seq)
        if (seq - 1) // _OUTBOX_PER_FILE != seq // _OUTBOX_PER_FILE:
            self._drop_if_empty((seq - 1) // _OUTBOX_PER_FILE)

    def holds(self, post_key: str) -> bool:
        """Whether a message for this post is in the outbox (waiting or dead)."""
        self._load()
        return post_key in self._queued

    def _stop_waiting(self, channel: str, seq: int) -> None:
        seqs = self._waiting.get(channel)
        if seqs and seq in seqs:
            seqs.remove(seq)
            if not seqs:
                del self._waiting[channel]

    def mark_sent(self, seq: int, sent: dict[str, str]) -> None:
        """Record that Slack has the message: it is never sent again."""
        table = self._existing(seq)
        if table is None:
            return
        doc = _get(table, seq)
        table.update({"sent": sent}, doc_ids=[seq])
        self._stop_waiting(doc["channel"], seq)
        if seq not in self._unfinished:
            self._unfinished.append(seq)

    def unfinished(self) -> list[Document]:
        """Messages sent whose bookkeeping is still to do, oldest first."""
        self._load()
        return [_get(self._table(seq // _OUTBOX_PER_FILE), seq) for seq in self._unfinished]

    def update(self, seq: int, fields: dict[str, Any]) -> None:
        table = self._existing(seq)
        if table is not None:
            was_dead = bool(_get(table, seq).get("dead"))
            table.update(fields, doc_ids=[seq])
            if fields.get("dead") and not was_dead:
                self._stop_waiting(_get(table, seq)["channel"], seq)
                self._dead += 1

    def remove(self, seq: int) -> None:
        table = self._existing(seq)
        if table is None:
            return
        doc = _get(table, seq)
        table.remove(doc_ids=[seq])
        if doc.get("dead"):
            self._dead -= 1
        post_key = doc.get("post_key")
        if post_key is not None and self._queued.get(post_key) == seq:
            del self._queued[post_key]
        self._stop_waiting(doc["channel"], seq)
        if seq in self._unfinished:
            self._unfinished.remove(seq)
        self._drop_if_empty(seq // _OUTBOX_PER_FILE)

    def counts(self) -> tuple[int, int]:
        """(waiting, dead) message counts, without reading the messages."""
        self._load()
        return sum(len(seqs) for seqs in self._waiting.values()), self._dead

    def heads(self) -> list[Document]:
        """Each channel's oldest waiting message, oldest first, without reading the rest."""
        self._load()
        firsts = sorted(seqs[0] for seqs in self._waiting.values())
        return [_get(self._table(seq // _OUTBOX_PER_FILE), seq) for seq in firsts]

    def documents(self) -> list[Document]:
        """Every message, oldest first."""
        self._load()
        return [
            doc
            for db in self._dbs.values()
            for doc in sorted(db.table("messages"), key=lambda d: d.doc_id)
        ]

    def close(self) -> None:
        self._closed = True
        for db in self._dbs.values():
            db.close()
        self._dbs.clear()


class Store:
    """commsbot's data directory. One lock serialises listeners, the outbox and the scheduler."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.lock = threading.RLock()
        self._batch = WriteBatch()
        self._dbs: OrderedDict[Path, TinyDB] = OrderedDict()
        self._closed = False
        self._posts = _HourlyFiles(
            self.data_dir / "posts",
            table="posts",
            capacity=_POSTS_PER_FILE,
            open_db=self._db,
            read=self._documents,
        )
        self._audit = _HourlyFiles(
            self.data_dir / "audit",
            table="audit",
            capacity=_AUDIT_PER_FILE,
            open_db=self._db,
            read=self._documents,
        )
        self._outbox = _OutboxFiles(self.data_dir / "outbox", self._batch)
        self._offenders = Offenders(self.data_dir / "offenders")
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create data directory {self.data_dir}: {exc}") from exc
        self._lock_file = self._take_process_lock()
        # Set at start when a damaged outbox file was quarantined: the desk re-queues the
        # messages of posts never delivered (posts_to_requeue, requeue).
        self.outbox_rebuild_needed = False
        try:
            self._remove_temporary_files()
            self._check_schema()
            self._check_every_file()
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

    def _remove_temporary_files(self) -> None:
        """Temporary files of writes a crash cut short: never part of the data."""
        removed = 0
        for path in self.data_dir.rglob(".*.tmp"):
            if QUARANTINE not in path.relative_to(self.data_dir).parts:
                path.unlink(missing_ok=True)
                removed += 1
        if removed:
            logger.warning("removed %d temporary file(s) left by an interrupted write", removed)

    def _check_schema(self) -> None:
        path = self.data_dir / "meta.json"
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raw = None
        if raw is not None and raw.lstrip().startswith(b"{") and not raw.startswith(b'{"commsbot"'):
            self._migrate_from_2(path, raw)
        try:
            meta = self._db(path).table("meta")
            doc = meta.get(doc_id=1)
        except CorruptFileError as exc:
            raise StorageError(
                f"{exc}. It records the data's version: restore it from a backup, or if there "
                f"is none, move it away and start again (commsbot writes a new one)"
            ) from None
        if doc is None:
            meta.insert({"schema_version": SCHEMA_VERSION})
            return
        found = doc.get("schema_version")
        if found != SCHEMA_VERSION:
            raise StorageError(
                f"{self.data_dir}/meta.json: schema version {found}, this commsbot expects "
                f"{SCHEMA_VERSION}; upgrade commsbot or migrate the data"
            )

    def _migrate_from_2(self, meta: Path, raw: bytes) -> None:
        """Data written before files carried checksums: add them, file by file."""
        try:
            version = json.loads(raw)["meta"]["1"]["schema_version"]
        except (ValueError, KeyError, TypeError):
            return  # not the old format either: reported as damaged below
        if version != 2:
            return
        for path in sorted(self.data_dir.rglob("*.json")):
            if path.relative_to(self.data_dir).parts[0] not in _STORE_AREAS:
                continue
            try:
                data = json.loads(path.read_text(encoding="utf-8") or "{}")
            except (ValueError, UnicodeDecodeError):
                continue  # left as it is: the check that follows quarantines it
            write_atomically(path, encode(data))
        write_atomically(meta, encode({"meta": {"1": {"schema_version": SCHEMA_VERSION}}}))
        logger.warning("data directory %s upgraded to schema %d", self.data_dir, SCHEMA_VERSION)

    def _check_every_file(self) -> None:
        """Quarantine every damaged file and rebuild what can be rebuilt."""
        damaged: list[Path] = []
        for path in sorted(self.data_dir.rglob("*.json")):
            relative = path.relative_to(self.data_dir)
            if relative.parts[0] not in _STORE_AREAS:
                continue
            try:
                check_data_file(path)
            except CorruptFileError as exc:
                damaged.append(relative)
                self._quarantine(relative, exc.problem)
        buckets = {p.stem for p in damaged if p.parts[0] == "index"}
        if buckets:
            self._rebuild_index(buckets)
        if any(p.parts[0] == "outbox" for p in damaged):
            self.outbox_rebuild_needed = True

    def _quarantine(self, relative: Path, problem: str) -> None:
        """Move a damaged file aside, with a note of what happened and what to do."""
        source = self.data_dir / relative
        stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%S}"
        target = self.data_dir / QUARANTINE / relative.parent / f"{relative.name}.{stamp}"
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        advice = _QUARANTINE_ADVICE.get(relative.parts[0], _QUARANTINE_ADVICE["posts"])
        if relative.parts[0] == "outbox":
            # An empty file keeps the sequence's place, so numbers never go back.
            write_atomically(source, encode({"messages": {}}))
        note = (
            f"{source} was damaged ({problem}) and moved to {target}. {advice} "
            f"Once dealt with, delete {target} and this note; /healthz is unhealthy until then."
        )
        write_atomically(target.with_name(target.name + ".txt"), note + "\n")
        logger.error("%s", note)

    def _rebuild_index(self, buckets: set[str]) -> None:
        """Write the index buckets again from the posts files (all of them are read)."""
        entries: dict[str, dict[str, dict[str, Any]]] = {bucket: {} for bucket in buckets}
        posts_root = self.data_dir / "posts"
        for path in sorted(posts_root.rglob("*.json")):
            data = read_data_file(path) or {}
            part = str(path.relative_to(posts_root).with_suffix(""))
            for doc in data.get("posts", {}).values():
                bucket = _bucket(doc["key"])
                if bucket in entries:
                    number = str(len(entries[bucket]) + 1)
                    entries[bucket][number] = {
                        "key": doc["key"],
                        "part": part,
                        "received_at": doc.get("received_at"),
                    }
        write_many_atomically(
            [(self._bucket_path(b), encode({"keys": found})) for b, found in entries.items()]
        )
        logger.warning("rebuilt %d index file(s) from the posts files", len(buckets))

    def problems(self) -> list[str]:
        """What is wrong with the data and what to do about it (empty when all is well)."""
        notes = sorted((self.data_dir / QUARANTINE).rglob("*.txt"))
        found = []
        for note in notes:
            try:
                found.append(note.read_text(encoding="utf-8").strip())
            except OSError as exc:
                found.append(f"{note}: {exc}")
        return found

    def posts_to_requeue(self) -> list[dict[str, Any]]:
        """Stored posts never delivered to Slack whose message is not in the outbox.

        After a damaged outbox file is quarantined, these are the posts whose messages it may
        have held. Reads every posts file.
        """
        with self.lock:
            found = []
            for path in sorted((self.data_dir / "posts").rglob("*.json")):
                for doc in self._documents(path, "posts"):
                    if not _complete(doc) and not self._outbox.holds(doc["key"]):
                        found.append(copy.deepcopy(dict(doc)))
            return found

    def requeue(
        self, messages: list[tuple[str, str, tuple[str, list[dict[str, Any]]]]], *, now: datetime
    ) -> None:
        """Queue again (post key, channel, message) for posts whose message was lost."""
        with self.lock, self._batch.together():
            for key, channel, (text, blocks) in messages:
                self._queue(channel=channel, text=text, blocks=blocks, post_key=key, now=now)
        self.outbox_rebuild_needed = False

    def close(self) -> None:
        """Release the files and the data directory lock."""
        with self.lock:
            if self._closed:
                return
            self._closed = True
            for db in self._dbs.values():
                db.close()
            self._dbs.clear()
            self._outbox.close()
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
        db = TinyDB(path, storage=AtomicJSONStorage, batch=self._batch)
        self._dbs[path] = db
        while len(self._dbs) > _OPEN_FILES:
            _, oldest = self._dbs.popitem(last=False)
            oldest.close()
        return db

    def _documents(self, path: Path, table: str) -> list[Mapping[str, Any]]:
        """One table's documents; a file not already open is read without being kept open."""
        if self._closed:
            raise StorageError("store is closed")
        db = self._dbs.get(path)
        if db is not None:
            return list(db.table(table))
        data = AtomicJSONStorage(path, self._batch).read()
        return [] if data is None else list(data.get(table, {}).values())

    def check(self) -> None:
        """Raise StorageError if the data directory cannot be read and written now."""
        with self.lock:
            try:
                probe = self.data_dir / ".probe"
                write_atomically(probe, "ok")
                probe.unlink()
                self._db(self.data_dir / "meta.json").table("meta").get(doc_id=1)
            except (OSError, CorruptFileError) as exc:
                raise StorageError(str(exc)) from exc

    # -- posts -----------------------------------------------------------------------------

    def _index_table(self, key: str) -> Table:
        return self._bucket_table(_bucket(key))

    def _bucket_path(self, bucket: str) -> Path:
        return self.data_dir / "index" / bucket[0] / f"{bucket}.json"

    def _bucket_table(self, bucket: str) -> Table:
        return self._db(self._bucket_path(bucket)).table("keys")

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

        Writes, in order: the index entry (where the post goes and when it arrived), the
        post, its audit entry, and its outbox message, which marks the accept complete. A
        crash or failed write anywhere before the end leaves an index entry whose post has
        no message; offering the post again finishes that accept in the same place, so it is
        stored and sent exactly once.
        """
        key = post.key
        with self.lock:
            index = self._index_table(key)
            entry = index.get(Query().key == key)
            if entry is None:
                received_at = now
                part = self._posts.part_for(now)
                index.insert({"key": key, "part": part, "received_at": _iso(now)})
                resumed = False
            else:
                part = entry["part"]
                received_at = _parse(entry.get("received_at") or _iso(now))
                stored = self._posts.table(part).get(Query().key == key)
                if self._outbox.holds(key) or _complete(stored):
                    return AcceptOutcome("duplicate", key)
                resumed = True
            table = self._posts.table(part)
            if not table.contains(Query().key == key):
                table.insert(
                    _routed_doc(post, classification, channel=channel, received_at=received_at)
                )
            self.record_audit(
                "post.routed",
                now=now,
                post=key,
                account=post.account,
                category=classification.category.value,
                rule=classification.rule,
                channel=channel,
                flagged_by=post.flagged_by,
                resumed=resumed or None,
            )
            text, blocks = message
            self._queue(channel=channel, text=text, blocks=blocks, post_key=key, now=now)
        return AcceptOutcome("accepted", key)

    def accept_posts(self, offers: list[PostToAccept], *, now: datetime) -> list[AcceptOutcome]:
        """Store a batch of posts and queue their messages, one durable write per file touched.

        The same promise and write order as `accept_post`, a step at a time for the whole
        batch: every index entry, then every post, then the audit entries, then the outbox
        messages. A crash or failed write at any step leaves some posts indexed (perhaps
        stored) without a message; offering the batch again finishes those in the same place
        and reports the rest as duplicates, so each post is stored and sent exactly once.
        Returns one outcome per offer, in order; a post offered twice is a duplicate the
        second time.
        """
        outcomes: list[AcceptOutcome] = []
        chosen: dict[str, PostToAccept] = {}
        for offer in offers:
            key = offer.post.key
            outcomes.append(AcceptOutcome("duplicate" if key in chosen else "accepted", key))
            chosen.setdefault(key, offer)
        try:
            with self.lock:
                duplicates = self._accept_batch(chosen, now=now)
        except BaseException:
            self._forget_memory()
            raise
        return [AcceptOutcome("duplicate", o.key) if o.key in duplicates else o for o in outcomes]

    def _accept_batch(self, offers: dict[str, PostToAccept], *, now: datetime) -> set[str]:
        """The steps of `accept_posts`; returns the keys that were already accepted."""
        by_bucket: dict[str, list[str]] = {}
        for key in offers:
            by_bucket.setdefault(_bucket(key), []).append(key)
        entries: dict[str, Mapping[str, Any]] = {}
        for bucket, keys in by_bucket.items():
            wanted = set(keys)
            for entry in self._documents(self._bucket_path(bucket), "keys"):
                if entry["key"] in wanted:
                    entries[entry["key"]] = entry
        new = [key for key in offers if key not in entries]
        # Index entries for the new posts, placed as import_history places them.
        routed = {
            key: _routed_doc(
                offers[key].post,
                offers[key].classification,
                channel=offers[key].channel,
                received_at=now,
            )
            for key in new
        }
        batches = list(self._posts.fill(_hour_of(now), [routed[key] for key in new]))
        part_of = {doc["key"]: part for part, batch in batches for doc in batch}
        with self._batch.together():
            for key in new:
                entry = {"key": key, "part": part_of[key], "received_at": _iso(now)}
                self._index_table(key).insert(entry)
        # Posts indexed by an earlier, interrupted accept: finish them where they were put.
        duplicates: set[str] = set()
        resumed: dict[str, list[str]] = {}
        for key, entry in entries.items():
            if self._outbox.holds(key):
                duplicates.add(key)
                continue
            stored = self._posts.table(entry["part"]).get(Query().key == key)
            if _complete(stored):
                duplicates.add(key)
            else:
                resumed.setdefault(entry["part"], []).append(key)
        with self._batch.together():
            for part, batch in batches:
                self._posts.table(part).insert_multiple(batch)
            for part, keys in resumed.items():
                table = self._posts.table(part)
                present = {doc["key"] for doc in table}
                missing = []
                for key in keys:
                    if key not in present:
                        received_at = _parse(entries[key].get("received_at") or _iso(now))
                        offer = offers[key]
                        missing.append(
                            _routed_doc(
                                offer.post,
                                offer.classification,
                                channel=offer.channel,
                                received_at=received_at,
                            )
                        )
                if missing:
                    table.insert_multiple(missing)
        accepted = [key for key in offers if key not in duplicates]
        resumed_keys = {key for keys in resumed.values() for key in keys}
        with self._batch.together():
            for key in accepted:
                offer = offers[key]
                self.record_audit(
                    "post.routed",
                    now=now,
                    post=key,
                    account=offer.post.account,
                    category=offer.classification.category.value,
                    rule=offer.classification.rule,
                    channel=offer.channel,
                    flagged_by=offer.post.flagged_by,
                    resumed=(key in resumed_keys) or None,
                )
        with self._batch.together():
            for key in accepted:
                offer = offers[key]
                text, blocks = offer.message
                self._queue(channel=offer.channel, text=text, blocks=blocks, post_key=key, now=now)
        return duplicates

    def _forget_memory(self) -> None:
        """After a failed write: forget every cached file so the disk is read afresh."""
        with self.lock:
            for db in self._dbs.values():
                db.close()
            self._dbs.clear()
            self._outbox.forget()
            self._posts.forget()
            self._audit.forget()

    def import_history(self, records: list[tuple[Post, Classification, str, datetime]]) -> int:
        """Store already-handled posts (post, classification, channel, received_at) in bulk.

        For loading history from another system: nothing is queued for Slack, each file is
        written once, and posts already stored are skipped. Index entries are written before
        the posts, so an import cut short can simply be run again. Returns how many posts
        were added.
        """
        offered: dict[str, tuple[datetime, dict[str, Any]]] = {}
        by_bucket: dict[str, list[str]] = {}
        for post, classification, channel, received_at in records:
            if post.key not in offered:
                doc = _routed_doc(post, classification, channel=channel, received_at=received_at)
                offered[post.key] = (_utc(received_at), doc | {"imported": True})
                by_bucket.setdefault(_bucket(post.key), []).append(post.key)
        with self.lock:
            new: dict[str, list[str]] = {}
            indexed: dict[str, list[str]] = {}  # part -> keys indexed by an earlier import
            by_hour: dict[datetime, list[tuple[datetime, dict[str, Any]]]] = {}
            for bucket, keys in by_bucket.items():
                entries = self._documents(self._bucket_path(bucket), "keys")
                stored = {entry["key"]: entry["part"] for entry in entries}
                new[bucket] = [key for key in keys if key not in stored]
                for key in keys:
                    if key in stored:
                        indexed.setdefault(stored[key], []).append(key)
                for key in new[bucket]:
                    received_at, doc = offered[key]
                    by_hour.setdefault(_hour_of(received_at), []).append((received_at, doc))
            batches: list[tuple[str, list[dict[str, Any]]]] = []
            for hour, dated in sorted(by_hour.items()):
                docs = [doc for _, doc in sorted(dated, key=lambda pair: pair[0])]
                batches.extend(self._posts.fill(hour, docs))
            part_of = {doc["key"]: part for part, batch in batches for doc in batch}
            for bucket, keys in new.items():
                if keys:
                    entries = [
                        {"key": key, "part": part_of[key], "received_at": _iso(offered[key][0])}
                        for key in keys
                    ]
                    self._bucket_table(bucket).insert_multiple(entries)
            for part, batch in batches:
                self._posts.table(part).insert_multiple(batch)
            added = len(part_of)
            # Posts an earlier, interrupted import indexed but never wrote.
            for part, keys in indexed.items():
                present = {doc["key"] for doc in self._posts.documents(part)}
                missing = [offered[key][1] for key in keys if key not in present]
                if missing:
                    self._posts.table(part).insert_multiple(missing)
                    added += len(missing)
        return added

    def _locate(self, key: str) -> str | None:
        entry = self._index_table(key).get(Query().key == key)
        return None if entry is None else entry["part"]

    def get_post_record(self, key: str) -> dict[str, Any] | None:
        """The stored record of a post (post fields, routing, delivery), or None."""
        with self.lock:
            part = self._locate(key)
            if part is None:
                return None
            doc = self._posts.table(part).get(Query().key == key)
            return None if doc is None else copy.deepcopy(dict(doc))

    def count_posts(self, day: date) -> int:
        """How many posts were received on a UTC day."""
        start = _start_of(day)
        return self.count_posts_between(start, start + _DAY)

    def count_posts_between(self, start: datetime, end: datetime) -> int:
        """How many posts were received from `start` up to, but not including, `end`."""
        start, end = _utc(start), _utc(end)
        total = 0
        with self.lock:
            for hour, part in self._posts.parts_between(start, end):
                docs = self._posts.documents(part)
                if start <= hour and hour + _HOUR <= end:
                    total += len(docs)
                else:
                    total += sum(start <= _parse(doc["received_at"]) < end for doc in docs)
        return total

    # -- outbox ----------------------------------------------------------------------------

    def _queue(
        self,
        *,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        post_key: str | None,
        now: datetime,
    ) -> None:
        self._outbox.queue(
            {
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
        )

    def queue_message(
        self, *, channel: str, text: str, blocks: list[dict[str, Any]], now: datetime
    ) -> None:
        """Queue a Slack message that belongs to no post."""
        with self.lock:
            self._queue(channel=channel, text=text, blocks=blocks, post_key=None, now=now)

    def outbox_items(self) -> list[OutboxItem]:
        """Every queued message, oldest first (dead letters included)."""
        with self.lock:
            return [_outbox_from_doc(doc) for doc in self._outbox.documents()]

    def outbox_heads(self) -> list[OutboxItem]:
        """The oldest waiting (not dead) message of each channel, oldest first.

        All the outbox worker needs: messages to one channel go in order, so only each
        channel's first can be sent. Copies only those, however long the queue.
        """
        with self.lock:
            return [_outbox_from_doc(doc) for doc in self._outbox.heads()]

    def mark_delivered(self, item: OutboxItem, *, channel_id: str, ts: str, now: datetime) -> None:
        """Record that Slack has a message, then do the rest of the bookkeeping."""
        self.mark_sent(item, channel_id=channel_id, ts=ts, now=now)
        self.finish_delivery(item, channel_id=channel_id, ts=ts, now=now)

    def mark_sent(self, item: OutboxItem, *, channel_id: str, ts: str, now: datetime) -> None:
        """The first write after Slack accepts a message: one small outbox file saying so.

        From then on the message is never sent again, whatever happens to the rest of the
        bookkeeping (`finish_delivery`), which can be retried on its own.
        """
        with self.lock:
            self._outbox.mark_sent(item.seq, {"channel_id": channel_id, "ts": ts, "at": _iso(now)})

    def unfinished_deliveries(self) -> list[OutboxItem]:
        """Messages Slack has whose bookkeeping (`finish_delivery`) is still to do."""
        with self.lock:
            return [_outbox_from_doc(doc) for doc in self._outbox.unfinished()]

    def finish_delivery(self, item: OutboxItem, *, channel_id: str, ts: str, now: datetime) -> None:
        """Note where a sent message landed on its post and in the audit, then drop it.

        In that order: a crash in between does the bookkeeping again, never the sending.
        """
        with self.lock:
            if item.post_key is not None:
                part = self._locate(item.post_key)
                if part is not None:
                    delivery = {"channel_id": channel_id, "ts": ts, "delivered_at": _iso(now)}
                    self._posts.table(part).update(
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
            self._outbox.remove(item.seq)

    def mark_retry(
        self,
        item: OutboxItem,
        *,
        error: str,
        next_attempt_at: datetime,
        now: datetime,
        counts_as_failure: bool = True,
        uncertain: bool = False,
    ) -> None:
        """Record a failed attempt and when to try again.

        A rate limit is not a failure of ours (`counts_as_failure=False`: the backoff does not
        grow); a timeout leaves the message `uncertain` (Slack may have it).
        """
        with self.lock:
            self._outbox.update(
                item.seq,
                {
                    "attempts": item.attempts + 1,
                    "failures": item.failures + (1 if counts_as_failure else 0),
                    "uncertain": uncertain,
                    "last_error": error,
                    "next_attempt_at": _iso(next_attempt_at),
                },
            )

    def instance_id(self) -> str:
        """A random id of this data directory, so its messages are told apart in Slack."""
        with self.lock:
            meta = self._db(self.data_dir / "meta.json").table("meta")
            doc = meta.get(doc_id=1)
            assert doc is not None
            if not doc.get("instance"):
                meta.update({"instance": uuid.uuid4().hex[:16]}, doc_ids=[1])
                doc = meta.get(doc_id=1)
                assert doc is not None
            return str(doc["instance"])

    def mark_dead(self, item: OutboxItem, *, error: str, now: datetime) -> None:
        """Keep a message Slack refused for good, so a person can see and fix it."""
        with self.lock:
            self._outbox.update(
                item.seq, {"attempts": item.attempts + 1, "last_error": error, "dead": True}
            )
            self.record_audit(
                "message.failed", now=now, post=item.post_key, channel=item.channel, error=error
            )

    def outbox_stats(self, now: datetime) -> OutboxStats:
        """Counts of waiting and dead messages and the age of the oldest waiting one."""
        with self.lock:
            pending, dead = self._outbox.counts()
            # Messages queue in time order, so the oldest waiting one is some channel's first.
            heads = self._outbox.heads()
        oldest = min((_parse(doc["queued_at"]) for doc in heads), default=None)
        return OutboxStats(
            pending=pending,
            dead=dead,
            oldest_pending_seconds=None if oldest is None else (now - oldest).total_seconds(),
        )

    # -- moderation: persistent offenders --------------------------------------------------

    def record_breach(self, *, account: str, author: str, post_key: str, now: datetime) -> int:
        """Count a post sent to moderation against its author (once per post); the new count."""
        with self.lock:
            if self._closed:
                raise StorageError("store is closed")
            return self._offenders.record(
                account=account, author=author, post_key=post_key, now=now
            )

    # -- Slack events ----------------------------------------------------------------------

    def _events_path(self, hour: datetime) -> Path:
        return self.data_dir / "events" / f"{hour:%Y%m%d%H}.json"

    def first_sighting(self, event_id: str, *, now: datetime) -> bool:
        """True the first time an event id is seen; records it so retries are ignored.

        Slack retries an event within minutes, so only the last few hours' files are read.
        """
        hour = _hour_of(_utc(now))
        with self.lock:
            for back in range(_EVENT_RETRY_HOURS + 1):
                path = self._events_path(hour - back * _HOUR)
                if back and not path.exists():
                    continue
                if self._db(path).table("events").contains(Query().event_id == event_id):
                    return False
            self._db(self._events_path(hour)).table("events").insert(
                {"event_id": event_id, "seen_at": _iso(now)}
            )
            return True

    def prune_events(self, *, older_than: timedelta, now: datetime) -> int:
        """Forget handled event ids older than `older_than`; Slack stops retrying long before."""
        cutoff_hour = _hour_of(_utc(now - older_than))
        removed = 0
        with self.lock:
            for path in sorted((self.data_dir / "events").glob("*.json")):
                hour = datetime.strptime(path.stem, "%Y%m%d%H").replace(tzinfo=UTC)
                if hour >= cutoff_hour:
                    continue
                removed += len(self._documents(path, "events"))
                db = self._dbs.pop(path, None)
                if db is not None:
                    db.close()
                path.unlink()
            return removed

    # -- audit -----------------------------------------------------------------------------

    def record_audit(self, action: str, *, now: datetime, **details: Any) -> None:
        """Append one entry to the audit trail."""
        with self.lock:
            entry = {"at": _iso(now), "action": action} | {
                k: v for k, v in details.items() if v is not None
            }
            self._audit.table(self._audit.part_for(now)).insert(entry)

    def audit_entries(self, day: date) -> list[dict[str, Any]]:
        """The audit trail of one UTC day, oldest first."""
        start = _start_of(day)
        with self.lock:
            return [
                copy.deepcopy(dict(doc))
                for _, part in self._audit.parts_between(start, start + _DAY)
                for doc in self._audit.documents(part)
            ]

    def iter_audit(self, start: date, end: date) -> Iterator[dict[str, Any]]:
        """Audit entries from `start` to `end` inclusive, oldest first."""
        day = start
        while day <= end:
            yield from self.audit_entries(day)
            day += timedelta(days=1)
