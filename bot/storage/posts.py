"""Posts on disk: the index by key and the posts files by the hour they arrived.

- `index/X/XYZ.json`: which posts file holds each post and when it arrived, in 4,096
  buckets by a hash of its key, so finding a post reads one small file.
- `posts/YYYY/MM/DD/HH.json`: posts by the UTC hour they arrived, 100 to a file; a busy hour
  continues in `HH.1.json`, `HH.2.json` and so on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from tinydb import Query
from tinydb.table import Table

from bot.core.posts import Classification, Post
from bot.storage.docs import HOUR, PostToAccept, hour_of, iso, parse, routed_doc, utc
from bot.storage.files import Files
from bot.storage.hourly import HourlyFiles

PER_FILE = 100
_INDEX_HEX_DIGITS = 3  # 16**3 = 4,096 buckets: about 25 keys each at 100,000 posts


def bucket_of(key: str) -> str:
    """Which index file holds a post key (4,096 buckets, so each stays small)."""
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:_INDEX_HEX_DIGITS]


class PostFiles:
    """The posts aggregate: the index and the hourly posts files."""

    def __init__(self, data_dir: Path, files: Files) -> None:
        self.data_dir = data_dir
        self.files = files
        self.hourly = HourlyFiles(data_dir / "posts", table="posts", capacity=PER_FILE, files=files)

    def forget(self) -> None:
        """Look the newest posts file up again on the next write."""
        self.hourly.forget()

    def bucket_path(self, bucket: str) -> Path:
        """The index file of a bucket."""
        return self.data_dir / "index" / bucket[0] / f"{bucket}.json"

    def index_table(self, key: str) -> Table:
        """The index table that holds (or will hold) `key`."""
        return self.files.db(self.bucket_path(bucket_of(key))).table("keys")

    def locate(self, key: str) -> str | None:
        """The posts file (part) holding post `key`, if it is indexed."""
        entry = self.index_table(key).get(Query().key == key)
        return None if not isinstance(entry, Mapping) else str(entry["part"])

    def doc(self, key: str, part: str | None = None) -> Mapping[str, Any] | None:
        """The stored post `key` (in `part`, when known), or None."""
        part = part or self.locate(key)
        if part is None:
            return None
        found = self.hourly.table(part).get(Query().key == key)
        return found if isinstance(found, Mapping) else None

    def note_delivery(self, key: str, delivery: Mapping[str, Any]) -> None:
        """Note on a post where the message an earlier commsbot rendered for it landed."""
        part = self.locate(key)
        if part is not None:
            self.hourly.table(part).update({"delivery": dict(delivery)}, Query().key == key)

    def index_entries(self, keys: Iterable[str]) -> dict[str, Mapping[str, Any]]:
        """The index entries of those of `keys` already indexed."""
        by_bucket: dict[str, set[str]] = {}
        for key in keys:
            by_bucket.setdefault(bucket_of(key), set()).add(key)
        entries: dict[str, Mapping[str, Any]] = {}
        for bucket, wanted in by_bucket.items():
            for entry in self.files.documents(self.bucket_path(bucket), "keys"):
                if entry["key"] in wanted:
                    entries[entry["key"]] = entry
        return entries

    def path(self, part: str) -> Path:
        """The file of a part."""
        return self.hourly.path(part)

    def documents(self, part: str) -> list[Mapping[str, Any]]:
        """A part's posts."""
        return self.hourly.documents(part)

    def all_documents(self) -> Iterator[Mapping[str, Any]]:
        """Every stored post, file by file (reads every posts file)."""
        for path in sorted((self.data_dir / "posts").rglob("*.json")):
            yield from self.files.documents(path, "posts")

    def received_between(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """When each post received in the files of [start, end) arrived."""
        for _, part in self.hourly.parts_between(start, end):
            for doc in self.hourly.documents(part):
                if doc.get("received_at"):
                    yield parse(doc["received_at"])

    def count_between(self, start: datetime, end: datetime) -> int:
        """How many posts were received from `start` up to, but not including, `end`."""
        start, end = utc(start), utc(end)
        total = 0
        for hour, part in self.hourly.parts_between(start, end):
            docs = self.hourly.documents(part)
            if start <= hour and hour + HOUR <= end:
                total += len(docs)
            else:
                total += sum(start <= parse(doc["received_at"]) < end for doc in docs)
        return total

    def import_history(
        self, records: list[tuple[Post, Classification, str, datetime]]
    ) -> list[datetime]:
        """Store already-handled posts in bulk (see `Store.import_history`); when each
        added post arrived."""
        offered: dict[str, tuple[datetime, dict[str, Any]]] = {}
        by_bucket: dict[str, list[str]] = {}
        for post, classification, channel, received_at in records:
            if post.key not in offered:
                doc = routed_doc(
                    PostToAccept(post, classification, channel), received_at=received_at
                )
                offered[post.key] = (utc(received_at), doc | {"imported": True})
                by_bucket.setdefault(bucket_of(post.key), []).append(post.key)
        new: dict[str, list[str]] = {}
        indexed: dict[str, list[str]] = {}  # part -> keys indexed by an earlier import
        by_hour: dict[datetime, list[tuple[datetime, dict[str, Any]]]] = {}
        for bucket, keys in by_bucket.items():
            entries = self.files.documents(self.bucket_path(bucket), "keys")
            stored = {entry["key"]: entry["part"] for entry in entries}
            new[bucket] = [key for key in keys if key not in stored]
            for key in keys:
                if key in stored:
                    indexed.setdefault(stored[key], []).append(key)
            for key in new[bucket]:
                received_at, doc = offered[key]
                by_hour.setdefault(hour_of(received_at), []).append((received_at, doc))
        batches: list[tuple[str, list[dict[str, Any]]]] = []
        for hour, dated in sorted(by_hour.items()):
            docs = [doc for _, doc in sorted(dated, key=lambda pair: pair[0])]
            batches.extend(self.hourly.fill(hour, docs))
        part_of = {doc["key"]: part for part, batch in batches for doc in batch}
        for bucket, keys in new.items():
            if keys:
                self.files.db(self.bucket_path(bucket)).table("keys").insert_multiple(
                    {"key": key, "part": part_of[key], "received_at": iso(offered[key][0])}
                    for key in keys
                )
        for part, batch in batches:
            self.hourly.table(part).insert_multiple(batch)
        added = [offered[key][0] for key in part_of]
        # Posts an earlier, interrupted import indexed but never wrote.
        for part, keys in indexed.items():
            present = {doc["key"] for doc in self.hourly.documents(part)}
            missing = [offered[key][1] for key in keys if key not in present]
            if missing:
                self.hourly.table(part).insert_multiple(missing)
                added.extend(parse(doc["received_at"]) for doc in missing)
        return added


__all__ = ["PostFiles", "bucket_of"]
