"""One-off Slack messages waiting to be sent: alerts, and messages rendered by schema 3.

Theme views are not here: they are rendered from the themes' state when sent (see
`bot.storage.themes`). What is here is a message that belongs to no theme, stored as data
(`kind` and `data`; the Slack edge renders it), plus any message an earlier commsbot
rendered before it was upgraded (`kind` "rendered", with its text and blocks), delivered
as it was.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.table import Document, Table

from bot.storage.atomic import AtomicJSONStorage, StorageError, WriteBatch
from bot.storage.docs import parse

PER_FILE = 100
RENDERED = "rendered"  # a message rendered before it was queued (schema 3 and earlier)


@dataclass(frozen=True)
class OutboxItem:
    """One one-off Slack message waiting to be delivered, in the order it was queued."""

    seq: int
    channel: str
    kind: str
    data: Mapping[str, Any]
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


def item_from_doc(doc: Document) -> OutboxItem:
    """The message a stored document holds."""
    return OutboxItem(
        seq=doc.doc_id,
        channel=doc["channel"],
        kind=doc.get("kind") or RENDERED,
        data=copy.deepcopy(doc.get("data") or {}),
        text=doc.get("text") or "",
        blocks=copy.deepcopy(doc.get("blocks") or []),
        post_key=doc.get("post_key"),
        attempts=doc["attempts"],
        next_attempt_at=parse(doc["next_attempt_at"]),
        last_error=doc.get("last_error"),
        dead=doc.get("dead", False),
        failures=doc.get("failures", doc["attempts"]),
        uncertain=doc.get("uncertain", False),
        queued_at=parse(doc["queued_at"]) if doc.get("queued_at") else None,
        sent=copy.deepcopy(doc.get("sent")),
    )


def _get(table: Table, seq: int) -> Document:
    """The outbox document `seq` of a table known to hold it."""
    doc = table.get(doc_id=seq)
    if not isinstance(doc, Document):
        raise StorageError(f"outbox message {seq} is missing from its file")
    return doc


class OneOffFiles:
    """The one-off messages, in files of `PER_FILE` by sequence number (`outbox/`).

    A message is removed once delivered; a dead letter stays until a person deals with it. A
    file is deleted once empty, except the newest; after a restart the sequence continues at
    the next file's first number, so it never goes back. Read once, on first use, then kept
    in memory with a map from post key to sequence number (for messages rendered by schema
    3, which belong to a post).
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
            self._next_seq = (numbers[-1] + 1) * PER_FILE
            for number in numbers:
                self._drop_if_empty(number)
        self._loaded = True

    def _drop_if_empty(self, number: int) -> None:
        if number == (self._next_seq - 1) // PER_FILE:
            return  # the newest file marks how far the sequence has gone
        db = self._dbs.get(number)
        if db is None or len(db.table("messages")) > 0:
            return
        del self._dbs[number]
        db.close()
        self._path(number).unlink(missing_ok=True)

    def _existing(self, seq: int) -> Table | None:
        self._load()
        number = seq // PER_FILE
        if number not in self._dbs:
            return None
        table = self._table(number)
        return table if table.contains(doc_id=seq) else None

    def queue(self, doc: dict[str, Any]) -> int:
        """Add a message with the next sequence number, unless its post's is already here."""
        self._load()
        post_key = doc.get("post_key")
        if post_key is not None and post_key in self._queued:
            return self._queued[post_key]
        seq = self._next_seq
        self._table(seq // PER_FILE).insert(Document(doc, doc_id=seq))
        self._next_seq = seq + 1
        if post_key is not None:
            self._queued[post_key] = seq
        if not doc.get("dead"):
            self._waiting.setdefault(doc["channel"], []).append(seq)
        if (seq - 1) // PER_FILE != seq // PER_FILE:
            self._drop_if_empty((seq - 1) // PER_FILE)
        return seq

    def staged(self, docs: list[dict[str, Any]]) -> tuple[list[int], dict[Path, dict[str, Any]]]:
        """Sequence numbers for `docs` and the whole new content of each file that would
        hold them, for a caller to write in one intent with other files (then `took`)."""
        self._load()
        files: dict[Path, dict[str, Any]] = {}
        seqs = []
        seq = self._next_seq
        for doc in docs:
            number = seq // PER_FILE
            path = self._path(number)
            if path not in files:
                self._table(number)  # opens the file
                current = self._dbs[number].storage.read()
                files[path] = copy.deepcopy(dict(current or {}))
            files[path].setdefault("messages", {})[str(seq)] = dict(doc)
            seqs.append(seq)
            seq += 1
        return seqs, files

    def took(self, seqs: list[int], docs: list[dict[str, Any]]) -> None:
        """Hold messages written by someone else's intent (as `staged` laid them out)."""
        for number in {seq // PER_FILE for seq in seqs}:
            table = self._table(number)
            storage = self._dbs[number].storage
            if isinstance(storage, AtomicJSONStorage):
                storage.forget()
            table.clear_cache()
        for seq, doc in zip(seqs, docs, strict=True):
            if not doc.get("dead"):
                self._waiting.setdefault(doc["channel"], []).append(seq)
            self._next_seq = max(self._next_seq, seq + 1)

    def holds(self, post_key: str) -> bool:
        """Whether a message rendered for this post is here (waiting or dead)."""
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
        return [_get(self._table(seq // PER_FILE), seq) for seq in self._unfinished]

    def get(self, seq: int) -> Document | None:
        """Message `seq`, if it is here."""
        table = self._existing(seq)
        return None if table is None else _get(table, seq)

    def update(self, seq: int, fields: dict[str, Any]) -> None:
        """Change some fields of message `seq`."""
        table = self._existing(seq)
        if table is None:
            return
        was_dead = bool(_get(table, seq).get("dead"))
        table.update(fields, doc_ids=[seq])
        channel = _get(table, seq)["channel"]
        if fields.get("dead") and not was_dead:
            self._stop_waiting(channel, seq)
            self._dead += 1
        elif fields.get("dead") is False and was_dead:
            self._dead -= 1
            waiting = self._waiting.setdefault(channel, [])
            waiting.append(seq)
            waiting.sort()

    def remove(self, seq: int) -> None:
        """Forget message `seq` (delivered)."""
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
        self._drop_if_empty(seq // PER_FILE)

    def counts(self) -> tuple[int, int]:
        """(waiting, dead) message counts, without reading the messages."""
        self._load()
        return sum(len(seqs) for seqs in self._waiting.values()), self._dead

    def heads(self) -> list[Document]:
        """Each channel's oldest waiting message, oldest first, without reading the rest."""
        self._load()
        firsts = sorted(seqs[0] for seqs in self._waiting.values())
        return [_get(self._table(seq // PER_FILE), seq) for seq in firsts]

    def documents(self) -> list[Document]:
        """Every message, oldest first."""
        self._load()
        return [
            doc
            for db in self._dbs.values()
            for doc in sorted(db.table("messages"), key=lambda d: d.doc_id)
        ]

    def close(self) -> None:
        """Close the files for good."""
        self._closed = True
        for db in self._dbs.values():
            db.close()
        self._dbs.clear()
