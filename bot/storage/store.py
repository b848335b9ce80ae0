"""The Store: every read and write of commsbot's data goes through it.

One facade over aggregates kept apart on disk, so it is also the seam for a server database
later. Layout of the data directory (schema 4); every file written when a post arrives or a
Slack message is sent holds a bounded number of documents, however long the history:

- `meta.json`: schema version and this directory's instance id.
- `index/X/XYZ.json`: which posts file holds each post and when it arrived, in 4,096 buckets
  by a hash of its key. Written first when a post is accepted.
- `posts/YYYY/MM/DD/HH.json`: posts by the UTC hour they arrived, 100 to a file (`HH.1.json`
  and so on in a busy hour), each with its routing and its place in a theme.
- `themes/`: the counter of references, open themes (one small file each, views and change
  markers inside), closed themes (history) and each theme's per-channel post lists; see
  `bot.storage.themes`.
- `outbox/NNNNNNNN.json`: one-off Slack messages (alerts), stored as data and rendered
  when sent; see `bot.storage.outbox`.
- `audit/YYYY/MM/DD/HH.json`: the audit trail, 250 entries to a file.
- `events/YYYYMMDDHH.json`: Slack event ids already handled (pruned after a day).
- `offenders/XX.json`: moderation breaches per author.
- `labels/YYYY-MM-DD.jsonl`: the desk's re-categorisations, for `commsbot train`.
- `intents/`: staff actions being written (see `bot.storage.intents`); empty at rest.
- `backups/`: copies made before an upgrade. `quarantine/`: damaged files found at start.

Every data file carries a checksum (`bot.storage.atomic`; labels lines carry their own). At
start: temporary files of interrupted writes are removed, an earlier schema is upgraded
after a backup, every file is checked, a damaged one is quarantined with a note saying what
it means, and what can be rebuilt is (`bot.storage.rebuild`); then staff actions a crash cut
short are finished. Running totals (posts per quarter hour) are counted again from the last
days' posts files and kept in memory from then on.

One lock serialises listeners, the outbox worker and the scheduler; the counts shown on the
Home tab and /healthz are read without it.
"""

from __future__ import annotations

import copy
import fcntl
import logging
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

from bot.core.approval import SuggestionRecord
from bot.core.clocks import Clocks
from bot.core.crisis import Crisis
from bot.core.deadlines import ClockError, PauseReason
from bot.core.escalation import EscalationSetup
from bot.core.posts import Classification, Post
from bot.core.theme_clock import with_subject_access
from bot.core.theme_state import CloseReason
from bot.core.themes import ThemeSettings
from bot.storage import clockwork
from bot.storage.accept import accept_batch, committed
from bot.storage.actions import StaffActions
from bot.storage.atomic import (
    CorruptFileError,
    StorageError,
    WriteBatch,
    check_data_file,
    encode,
    write_atomically,
)
from bot.storage.audit import AuditLog
from bot.storage.clockwork import DUE_DIGEST, Clockwork, SweepOutcome, outbox_doc
from bot.storage.deskstate import DeskState
from bot.storage.docs import (
    DAY,
    PostToAccept,
    classification_from_doc,
    hour_of,
    iso,
    parse,
    post_from_doc,
    start_of,
    utc,
)
from bot.storage.events import EventIds
from bot.storage.files import Files
from bot.storage.intents import Intents
from bot.storage.labels import LabelLog, check_labels_file
from bot.storage.locks import PROCESS_LOCK, WRITE_LOCK, WriterLock
from bot.storage.offenders import Offenders
from bot.storage.outbox import RENDERED, OneOffFiles, OutboxItem, item_from_doc
from bot.storage.parts import Parts
from bot.storage.posts import PostFiles, bucket_of
from bot.storage.rebuild import rebuild_counter, rebuild_index, rebuild_themes
from bot.storage.suggestions import SuggestionFiles
from bot.storage.themes import StoredTheme, ThemeFiles, ViewWork, journal_of
from bot.storage.totals import KEPT, RunningTotals
from bot.storage.upgrade import SCHEMA_VERSION, upgrade
from bot.storage.views import ViewSnapshot, record, snapshot, theme_docs

logger = logging.getLogger(__name__)
T = TypeVar("T")

QUARANTINE = "quarantine"
# The folders of the data directory this store writes, each file checksummed. Anything else
# there (a trained model, backups) is not the store's to check or quarantine.
STORE_AREAS = frozenset(
    {
        "outbox",
        "events",
        "index",
        "posts",
        "audit",
        "offenders",
        "themes",
        "labels",
        "intents",
        "desk",
        "suggestions",
        "publish",
    }
)

_QUARANTINE_ADVICE = {
    "suggestions": "The suggested reply (or the index of its Slack messages) in it is only in "
    "the quarantined copy: reactions on its messages count for nothing; ask for a new "
    "suggestion from the theme's menu. Its approvals are in the audit trail.",
    "publish": "The reply waiting for the publisher in it is only in the quarantined copy: "
    "check the platform before approving it again.",
    "outbox": "Alerts waiting in it are only in the quarantined copy; posts whose messages "
    "an earlier commsbot had rendered there were placed in themes and will be shown again "
    "(one Slack already had may appear twice).",
    "index": "The index was rebuilt from the posts files; nothing is lost.",
    "events": "Slack event ids in it are forgotten: a retried event may be handled twice.",
    "audit": "Its audit entries are only in the quarantined copy: restore them from a backup "
    "if you have one.",
    "posts": "Its posts are only in the quarantined copy: restore the file from a backup, or "
    "keep the copy for the record.",
    "offenders": "Moderation breach counts of the authors in it start again from zero; the old "
    "counts are only in the quarantined copy.",
    "themes/counter.json": "The counter was rebuilt from the themes found; no reference is "
    "given twice.",
    "themes/journal": "The theme's list of posts in that channel was rebuilt from the posts "
    "files; nothing is lost.",
    "themes/open": "The theme was rebuilt from its posts; its Slack messages are posted again "
    "(the old ones stay in Slack, out of date) and its status and owner were reset (the "
    "audit trail has what staff had done).",
    "themes/closed": "The closed theme was rebuilt from its posts; its close reason and owner "
    "are only in the quarantined copy and the audit trail.",
    "labels": "The corrections in it are only in the quarantined copy: `commsbot train` will "
    "not learn from them until you restore it.",
    "desk": "The desk's state (crisis mode) starts again empty: if a crisis was on, start "
    "it again with /comms crisis start; the audit trail has who started it and when.",
    "intents": "A staff action that was being written is only in the quarantined copy: check "
    "the themes it names.",
}


class DataDirInUseError(StorageError):
    """Another commsbot process holds the data directory."""


@dataclass(frozen=True)
class AcceptOutcome:
    """What happened to one post offered for storage, and the theme it is in."""

    status: Literal["accepted", "duplicate"]
    key: str
    theme: str | None = None


@dataclass(frozen=True)
class DeadLetter:
    """Something Slack refused for good: a theme's view (`ref`) or a one-off message (`seq`)."""

    channel: str
    error: str
    ref: str | None = None
    seq: int | None = None
    kind: str | None = None  # of a one-off message

    def __str__(self) -> str:
        if self.ref is not None:
            return f"{self.ref} in {self.channel}: {self.error}"
        return f"message {self.seq} ({self.kind}) to {self.channel}: {self.error}"


@dataclass(frozen=True)
class OutboxStats:
    """How much is waiting for Slack and for how long."""

    pending: int  # theme views with changes not yet shown, and one-off messages waiting
    dead: int  # views and messages Slack refused for good
    oldest_pending_seconds: float | None
    open_themes: int = 0


_UNSET: Any = object()


class Store:
    """commsbot's data directory. One lock serialises listeners, the outbox and the scheduler."""

    def __init__(
        self,
        data_dir: Path,
        *,
        themes: ThemeSettings | None = None,
        clocks: Clocks | None = None,
        escalation: EscalationSetup | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.lock = WriterLock()
        batch = WriteBatch()
        files = Files(batch)
        self._files = files
        self._closed = False
        self._parts = Parts(
            batch=batch,
            files=files,
            posts=PostFiles(self.data_dir, files),
            audit=AuditLog(self.data_dir / "audit", files),
            outbox=OneOffFiles(self.data_dir / "outbox", batch),
            themes=ThemeFiles(self.data_dir / "themes", batch, themes or ThemeSettings()),
            labels=LabelLog(self.data_dir / "labels"),
            intents=Intents(self.data_dir),
            totals=RunningTotals(),
            clockwork=Clockwork(
                clocks=clocks or Clockwork().clocks, setup=escalation or EscalationSetup()
            ),
        )
        self._offenders = Offenders(self.data_dir / "offenders")
        self._suggestions = SuggestionFiles(self.data_dir)
        self._events = EventIds(self.data_dir / "events", files)
        self._events_in_progress: set[str] = set()
        self._actions = StaffActions(self._parts)
        self._desk_state = DeskState(self.data_dir)
        self._everyone_touched = False
        self.totals = self._parts.totals
        # One-off messages (waiting, dead, oldest queued_at), kept for lock-free reads.
        self._one_offs: tuple[int, int, datetime | None] = (0, 0, None)
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create data directory {self.data_dir}: {exc}") from exc
        self._lock_file = self._take_process_lock()
        self.upgraded_from: int | None = None
        try:
            self.lock.open_file(self.data_dir / WRITE_LOCK)
            self._remove_temporary_files()
            self.upgraded_from = upgrade(self.data_dir, areas=STORE_AREAS)
            self._check_schema()
            legacy_lost = self._check_every_file()
            self._parts.intents.redo_pending()
            self._count_recent_posts()
            with self.lock:
                self._parts.themes.matcher  # noqa: B018 - read the open themes now
                self._note_one_offs()
            if legacy_lost:
                placed = self.place_unshown_posts(now=datetime.now(UTC))
                logger.warning("placed %d post(s) never shown in themes again", placed)
        except BaseException:
            self.close()
            raise

    # -- lifecycle -------------------------------------------------------------------------

    def _take_process_lock(self) -> int:
        path = self.data_dir / PROCESS_LOCK
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
            meta = self._files.db(path).table("meta")
            doc = meta.get(doc_id=1)
        except CorruptFileError as exc:
            raise StorageError(
                f"{exc}. It records the data's version: restore it from a backup, or if there "
                f"is none, move it away and start again (commsbot writes a new one)"
            ) from None
        if doc is None:
            meta.insert({"schema_version": SCHEMA_VERSION, "instance": uuid.uuid4().hex[:16]})
            return
        found = doc.get("schema_version")
        if found != SCHEMA_VERSION:
            raise StorageError(
                f"{self.data_dir}/meta.json: schema version {found}, this commsbot expects "
                f"{SCHEMA_VERSION}; upgrade commsbot or migrate the data"
            )
        if not doc.get("instance"):
            # Written now, not on the first send: sending never needs a write but its record.
            meta.update({"instance": uuid.uuid4().hex[:16]}, doc_ids=[1])

    def _check_every_file(self) -> bool:
        """Quarantine every damaged file and rebuild what can be rebuilt.

        Returns whether an outbox file was lost (posts whose messages an earlier commsbot
        rendered there must be shown again).
        """
        damaged: list[Path] = []
        for path in sorted(self.data_dir.rglob("*.json*")):
            relative = path.relative_to(self.data_dir)
            if relative.parts[0] not in STORE_AREAS or path.suffix not in (".json", ".jsonl"):
                continue
            try:
                if path.suffix == ".jsonl":
                    check_labels_file(path)
                else:
                    check_data_file(path)
            except CorruptFileError as exc:
                damaged.append(relative)
                self._quarantine(relative, exc.problem)
        buckets = {p.stem for p in damaged if p.parts[0] == "index"}
        if buckets:
            rebuild_index(self.data_dir, buckets, bucket_of, self._parts.posts.bucket_path)
        themes = [p for p in damaged if p.parts[0] == "themes"]
        if any(p.parts[1:] == ("counter.json",) for p in themes):
            rebuild_counter(self.data_dir / "themes")
        journals = {journal_of(p) for p in themes if p.parts[1] == "journal"}
        lost = {p.stem: p.parts[1] == "closed" for p in themes if p.parts[1] in ("open", "closed")}
        if journals or lost:
            rebuild_themes(
                self.data_dir,
                journals=journals,
                themes=lost,
                settings=self._parts.themes.settings,
                now=datetime.now(UTC),
            )
        return any(p.parts[0] == "outbox" for p in damaged)

    def _quarantine(self, relative: Path, problem: str) -> None:
        """Move a damaged file aside, with a note of what happened and what to do."""
        source = self.data_dir / relative
        stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%S}"
        target = self.data_dir / QUARANTINE / relative.parent / f"{relative.name}.{stamp}"
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        area = relative.parts[0]
        if area == "themes":
            area = "themes/" + relative.parts[1]
        advice = _QUARANTINE_ADVICE.get(area, _QUARANTINE_ADVICE["posts"])
        if relative.parts[0] == "outbox":
            # An empty file keeps the sequence's place, so numbers never go back.
            write_atomically(source, encode({"messages": {}}))
        note = (
            f"{source} was damaged ({problem}) and moved to {target}. {advice} "
            f"Once dealt with, delete {target} and this note; /healthz is unhealthy until then."
        )
        write_atomically(target.with_name(target.name + ".txt"), note + "\n")
        logger.error("%s", note)

    def _count_recent_posts(self) -> None:
        """Count again the posts received over the last few days (the running totals)."""
        now = datetime.now(UTC)
        since = hour_of(now - KEPT)
        with self.lock:
            received = list(self._parts.posts.received_between(since, now + DAY))
        self.totals.reset(since=since, received=received)

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

    def close(self) -> None:
        """Release the files and the data directory lock."""
        with self.lock:
            if self._closed:
                return
            self._closed = True
            self._files.close()
            self._parts.outbox.close()
            self._parts.themes.close()
            self.lock.close_file()
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            os.close(self._lock_file)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _forget_memory(self) -> None:
        """After a failed write: forget every cached file so the disk is read afresh."""
        with self.lock:
            self._parts.forget()
            self._desk_state.forget()

    def check(self) -> None:
        """Raise StorageError if the data directory cannot be read and written now."""
        with self.lock:
            try:
                probe = self.data_dir / ".probe"
                write_atomically(probe, "ok")
                probe.unlink()
                self._files.db(self.data_dir / "meta.json").table("meta").get(doc_id=1)
            except (OSError, CorruptFileError) as exc:
                raise StorageError(str(exc)) from exc

    def instance_id(self) -> str:
        """A random id of this data directory, so its messages are told apart in Slack."""
        with self.lock:
            doc = self._files.db(self.data_dir / "meta.json").table("meta").get(doc_id=1)
            assert isinstance(doc, Mapping)
            return str(doc["instance"])

    # -- posts -----------------------------------------------------------------------------

    def get_post_record(self, key: str) -> dict[str, Any] | None:
        """The stored record of a post (post fields, routing, theme), or None."""
        with self.lock:
            doc = self._parts.posts.doc(key)
            return None if doc is None else copy.deepcopy(dict(doc))

    def accept_post(
        self,
        post: Post,
        classification: Classification,
        *,
        channel: str,
        also: tuple[str, ...] = (),
        breaches: int | None = None,
        now: datetime,
    ) -> AcceptOutcome:
        """Store one post and place it in a theme (see `accept_posts`)."""
        offer = PostToAccept(post, classification, channel, also, breaches)
        return self.accept_posts([offer], now=now)[0]

    def accept_posts(self, offers: list[PostToAccept], *, now: datetime) -> list[AcceptOutcome]:
        """Store a batch of posts, each placed in a theme; one durable write per file touched.

        Each post is placed by the theme matcher, in the order offered: into an open theme,
        or a new one with the next reference. Then, in order, each step one write per file:

        1. the index entries of new posts (where each goes, when it arrived);
        2. the posts, each with its routing and its place (theme, position in each channel's
           list);
        3. their audit entries;
        4. the theme counter, if new themes were opened;
        5. each theme's channel lists (the journal);
        6. each theme's file: counts, latest posts and the change markers of its views.
           This marks the accepts complete: a post is accepted once its theme lists it.

        A crash or failed write at any step leaves some posts indexed, perhaps stored, that
        no theme lists; offering them again places them afresh (a reference handed out and
        never used is skipped) and finishes the accept where the post was first put, so each
        post is stored once and listed once. Returns one outcome per offer, in order; a post
        offered twice is a duplicate the second time.
        """
        outcomes: list[AcceptOutcome] = []
        chosen: dict[str, PostToAccept] = {}
        for offer in offers:
            key = offer.post.key
            outcomes.append(AcceptOutcome("duplicate" if key in chosen else "accepted", key))
            chosen.setdefault(key, offer)
        try:
            with self.lock:
                if self._closed:
                    raise StorageError("store is closed")
                duplicates, themes = accept_batch(self._parts, chosen, now=now)
        except BaseException:
            self._forget_memory()
            raise
        return [
            AcceptOutcome(
                "duplicate" if o.key in duplicates else o.status, o.key, themes.get(o.key)
            )
            for o in outcomes
        ]

    def place_unshown_posts(self, *, now: datetime) -> int:
        """Place in themes every stored post never shown and in no theme (after an outbox
        file an earlier commsbot had rendered their messages in was lost). Reads every
        posts file. Returns how many were placed."""
        with self.lock:
            offers = [
                PostToAccept(
                    post_from_doc(doc),
                    classification_from_doc(doc),
                    doc["channel"],
                    tuple(doc.get("also") or ()),
                    doc.get("breaches"),
                )
                for doc in self._parts.posts.all_documents()
                if not committed(self._parts, doc["key"], doc)
            ]
        outcomes = self.accept_posts(offers, now=now) if offers else []
        return sum(o.status == "accepted" for o in outcomes)

    def import_history(self, records: list[tuple[Post, Classification, str, datetime]]) -> int:
        """Store already-handled posts (post, classification, channel, received_at) in bulk.

        For loading history from another system: nothing is shown in Slack and no theme is
        made, each file is written once, and posts already stored are skipped. Index entries
        are written before the posts, so an import cut short can simply be run again.
        Returns how many posts were added.
        """
        with self.lock:
            added = self._parts.posts.import_history(records)
        recent = datetime.now(UTC) - KEPT
        for received_at in added:
            if received_at >= recent:
                self.totals.add(received_at)
        return len(added)

    def count_posts(self, day: date) -> int:
        """How many posts were received on a UTC day (reads that day's posts files)."""
        start = start_of(day)
        return self.count_posts_between(start, start + DAY)

    def count_posts_between(self, start: datetime, end: datetime) -> int:
        """How many posts were received from `start` up to, but not including, `end`.

        Reads the posts files of the period; `posts_received_between` answers from the
        running totals instead.
        """
        start, end = utc(start), utc(end)
        with self.lock:
            return self._parts.posts.count_between(start, end)

    def posts_received_between(self, start: datetime, end: datetime) -> int:
        """Posts received in [start, end): from the running totals, without the store's lock,
        when the period is recent and starts on a quarter hour; else from the posts files."""
        counted = self.totals.received_between(start, end)
        aligned = utc(start).minute % 15 == 0 and utc(start).second == 0
        if counted is not None and aligned and utc(start).microsecond == 0:
            return counted
        return self.count_posts_between(start, end)

    # -- moderation: persistent offenders --------------------------------------------------

    def record_breach(self, *, account: str, author: str, post_key: str, now: datetime) -> int:
        """Count a post sent to moderation against its author (once per post); the new count."""
        with self.lock:
            if self._closed:
                raise StorageError("store is closed")
            return self._offenders.record(
                account=account, author=author, post_key=post_key, now=now
            )

    # -- themes ----------------------------------------------------------------------------

    def theme(self, ref: str) -> StoredTheme | None:
        """Theme `ref` with its views (open, or closed from history), or None."""
        with self.lock:
            return self._parts.themes.get(ref)

    def open_themes(self) -> list[StoredTheme]:
        """Every theme in open work, by reference."""
        with self.lock:
            return self._parts.themes.open_themes()

    def theme_posts(self, ref: str, channel: str | None = None) -> list[dict[str, Any]]:
        """The posts in theme `ref` now (in `channel` only, if given), in the order listed."""
        with self.lock:
            stored = self._parts.themes.get(ref)
            if stored is None:
                return []
            return [copy.deepcopy(dict(d)) for d in theme_docs(self._parts, stored, channel)]

    def expire_themes(self, now: datetime) -> tuple[str, ...]:
        """Stop themes whose join window has passed taking new posts (they stay open work)."""
        with self.lock:
            return self._parts.themes.matcher.expire(now)

    # -- views: what the outbox worker shows -----------------------------------------------

    def view_work(self) -> list[ViewWork]:
        """Every theme view with a change not yet shown in Slack, oldest change first."""
        with self.lock:
            return self._parts.themes.work()

    def listed_counts(self) -> dict[str, int]:
        """Posts listed in each channel since the process started (how busy each is)."""
        with self.lock:
            return self._parts.themes.listed_counts()

    def view_snapshot(self, ref: str, channel: str, *, digest_limit: int) -> ViewSnapshot | None:
        """What theme `ref`'s view in `channel` must show now, with at most `digest_limit`
        of the posts its thread does not list yet (reads only the journal files and posts
        files that hold them)."""
        with self.lock:
            return snapshot(self._parts, ref, channel, digest_limit=digest_limit)

    def record_view(
        self,
        ref: str,
        channel: str,
        *,
        now: datetime,
        channel_id: str | None = None,
        parent_ts: str | None = None,
        permalink: str | None = None,
        shown: int | None = None,
        digest_posted: bool = False,
        rendered_hash: str | None = None,
        uncertain: str | None = _UNSET,
        dead: str | None = None,
        done_version: int | None = None,
        since: datetime | None = None,
    ) -> None:
        """Record what one Slack call did to a theme's view: one write of the theme's file.

        The first write after Slack accepts a parent, a digest or an update, so a call is
        never repeated because later bookkeeping failed. A parent newly posted changes the
        links shown in the theme's other views, which are marked to be updated.
        `done_version` says the view now shows that version of the theme: its change marker
        is cleared unless a newer change came meanwhile (whose time is then `since`). A
        closed theme whose views all show it moves to history (a second write, then the
        open file is deleted; a crash in between is finished at the next start).
        """
        fields: dict[str, Any] = {}
        if parent_ts is not None:
            fields |= {"parent_ts": parent_ts, "channel_id": channel_id, "permalink": permalink}
        elif channel_id is not None:
            fields["channel_id"] = channel_id
        if shown is not None:
            fields["shown"] = shown
        if digest_posted:
            fields["digest_posted"] = True
        if rendered_hash is not None:
            fields["hash"] = rendered_hash
        if uncertain is not _UNSET:
            fields["uncertain"] = uncertain
        if dead is not None:
            fields["dead"] = dead
        with self.lock:
            try:
                record(
                    self._parts,
                    ref,
                    channel,
                    now=now,
                    fields=fields,
                    done_version=done_version,
                    since=since,
                )
            except BaseException:
                self._forget_memory()
                raise

    # -- staff actions: the seam for buttons and commands ----------------------------------

    def _act(self, run: Callable[[], T]) -> T:
        """Run a staff action under the lock; after a failed write, forget cached files."""
        with self.lock:
            if self._closed:
                raise StorageError("store is closed")
            try:
                return run()
            except (StorageError, OSError):
                self._forget_memory()
                raise

    def move_post(self, key: str, *, to: str | None, by: str | None, now: datetime) -> str:
        """Move a post to theme `to`, or to a new theme when `to` is None; its theme's ref."""
        return self._act(lambda: self._actions.move_post(key, to=to, by=by, now=now))

    def merge_themes(self, *, into: str, away: str, by: str | None, now: datetime) -> None:
        """Every post of theme `away` joins `into`; `away` is closed as merged into it."""
        self._act(lambda: self._actions.merge(into=into, away=away, by=by, now=now))

    def recategorise_post(
        self, key: str, *, category: str, channels: tuple[str, ...], by: str | None, now: datetime
    ) -> None:
        """A post takes `category` (shown in `channels`); kept as a labelled example."""
        self._act(
            lambda: self._actions.recategorise_post(
                key, category=category, channels=channels, by=by, now=now
            )
        )

    def recategorise_theme(
        self, ref: str, *, category: str, channels: tuple[str, ...], by: str | None, now: datetime
    ) -> None:
        """Every post of theme `ref` takes `category` and moves to `channels`."""
        self._act(
            lambda: self._actions.recategorise_theme(
                ref, category=category, channels=channels, by=by, now=now
            )
        )

    def close_theme(self, ref: str, *, reason: CloseReason, by: str | None, now: datetime) -> None:
        """Close theme `ref` for `reason`."""
        self._act(lambda: self._actions.close(ref, reason=reason, by=by, now=now))

    def mark_theme_answered(self, ref: str, *, by: str | None, now: datetime) -> None:
        """Mark theme `ref` answered."""
        self._act(lambda: self._actions.mark_answered(ref, by=by, now=now))

    def reopen_theme(self, ref: str, *, by: str | None, now: datetime) -> None:
        """Open theme `ref` again (from history too)."""
        self._act(lambda: self._actions.reopen(ref, by=by, now=now))

    def claim_theme(
        self, ref: str, *, owner: str | None, by: str | None = None, now: datetime
    ) -> None:
        """Make `owner` the owner of theme `ref` (None: nobody); `by` who did it."""
        self._act(lambda: self._actions.claim(ref, owner=owner, by=by if by else owner, now=now))

    def labels(self, day: datetime) -> list[dict[str, Any]]:
        """The re-categorisations recorded on one UTC day."""
        return self._parts.labels.entries(day)

    # -- deadlines, reminders, escalations ----------------------------------------------

    @property
    def clocks(self) -> Clocks:
        """The desk's calendar, deadline rules and reminder policies."""
        return self._parts.clockwork.clocks

    def sweep_clocks(self, *, now: datetime) -> SweepOutcome:
        """Queue every reminder and escalation DM due at `now`, once each (one intent);
        reads only the themes the index says have something due."""
        return self._act(lambda: clockwork.sweep(self._parts, self._parts.clockwork, now=now))

    def escalate(self, ref: str, *, target: str, note: str | None, by: str, now: datetime) -> None:
        """Escalate theme `ref` by hand to `target` (a role or <@U…>); EscalationError if
        no officer has that role, KeyError if there is no open theme `ref`."""

        def run() -> None:
            work = self._parts.clockwork
            work.setup.manual_policy(target)  # refuses an unknown role before any write
            stored = self._open_theme(ref)
            changed = work.escalate(
                stored, reason="manual", target=target, note=note, by=by, now=now
            )
            clockwork.write(
                self._parts,
                [changed],
                now=now,
                audit=[("escalation.started", {"theme": ref, "target": target, "by": by})],
                action="escalation.started",
            )

        self._act(run)

    def acknowledge_escalation(
        self, ref: str, escalation_id: str, *, by: str, now: datetime
    ) -> bool:
        """`by` acknowledged an escalation: its later levels are not sent. False if it
        already was acknowledged (a retry) or is gone."""
        return self._act(
            lambda: clockwork.acknowledge_escalation(
                self._parts, ref, escalation_id, by=by, now=now
            )
        )

    def escalation_for_dm(self, channel_id: str, ts: str) -> tuple[str, str] | None:
        """(theme ref, escalation id) of the escalation DM at (channel, ts), if it is one."""
        with self.lock:
            return self._parts.themes.escalation_for_dm(channel_id, ts)

    def subject_access(
        self,
        ref: str,
        *,
        action: str,
        by: str,
        now: datetime,
        reason: PauseReason | None = None,
        months: int = 0,
    ) -> StoredTheme:
        """Pause (`reason`), resume or extend (`months`) theme `ref`'s subject access clock;
        the due date recomputed; audited. ClockError when the action cannot be recorded."""

        def run() -> StoredTheme:
            stored = self._open_theme(ref)
            clock = stored.clock
            if clock is None or clock.sar is None:
                raise ClockError(f"{ref} has no subject access clock")
            today = self.clocks.calendar.local_date(now)
            if action == "pause":
                assert reason is not None
                sar = clock.sar.pause(reason=reason, on=today)
            elif action == "resume":
                sar = clock.sar.resume(on=today)
            else:
                sar = clock.sar.extend(months=months, on=today, calendar=self.clocks.calendar)
            changed = replace(
                stored, clock=with_subject_access(clock, sar, now=now, clocks=self.clocks)
            )
            assert changed.clock is not None
            clockwork.write(
                self._parts,
                [changed],
                now=now,
                audit=[
                    (
                        f"subject_access.{action}",
                        {
                            "theme": ref,
                            "by": by,
                            "reason": reason.value if reason else None,
                            "months": months or None,
                            "due_at": iso(changed.clock.due_at),
                        },
                    )
                ],
                action=f"subject_access.{action}",
            )
            return changed

        return self._act(run)

    def _open_theme(self, ref: str) -> StoredTheme:
        stored = self._parts.themes.get(ref)
        if stored is None or self._parts.themes.in_history(ref):
            raise KeyError(f"no open theme {ref}")
        return stored

    def waiting_themes(
        self, *, owner: str | None = None, limit: int, offset: int = 0
    ) -> tuple[list[StoredTheme], int]:
        """Themes waiting for an answer, nearest deadline first (`owner`'s only, if given),
        `limit` of them from `offset`, and how many there are in all."""
        with self.lock:
            found = []
            for index, stored in enumerate(self._parts.themes.by_due(owner=owner)):
                if index >= offset + limit:
                    break
                if index >= offset:
                    found.append(stored)
            return found, self._parts.themes.waiting_count(owner)

    def owned_themes(self, owner: str) -> list[StoredTheme]:
        """Themes `owner` owns that are not closed, by reference."""
        with self.lock:
            return self._parts.themes.owned(owner)

    def awaiting_acknowledgement(self) -> list[StoredTheme]:
        """Open themes with an escalation nobody has acknowledged yet."""
        with self.lock:
            return self._parts.themes.awaiting_acknowledgement()

    # -- the desk as a whole: crisis mode ------------------------------------------------

    def crisis(self) -> Crisis | None:
        """The active crisis, or None when the desk is not in crisis mode."""
        with self.lock:
            return self._desk_state.crisis()

    def set_crisis(self, crisis: Crisis | None, *, by: str, now: datetime) -> None:
        """Start crisis mode (`crisis`) or end it (None); audited with who and when."""
        self._act(lambda: self._desk_state.set_crisis(self._parts, crisis, by=by, now=now))
        self._everyone_touched = True

    def take_touched(self) -> tuple[frozenset[str], bool]:
        """The people whose own themes or escalations changed since last asked, and whether
        something everyone's App Home shows changed (crisis mode started or ended)."""
        with self.lock:
            everyone, self._everyone_touched = self._everyone_touched, False
            return self._parts.themes.take_touched(), everyone

    def queue_daily_digest(
        self, *, day: date, channels: Mapping[str, Mapping[str, Any]], now: datetime
    ) -> bool:
        """Queue the daily digest of `day` (data for each channel) unless it already was;
        the record that it was is written with the messages, so it goes out once a day."""

        def run() -> bool:
            messages = [
                outbox_doc(channel, DUE_DIGEST, data, now) for channel, data in channels.items()
            ]
            done = self._desk_state.queue_digest(self._parts, day=day, messages=messages, now=now)
            if done:
                self._note_one_offs()
            return done

        return self._act(run)

    # -- one-off messages ------------------------------------------------------------------

    def _note_one_offs(self) -> None:
        waiting, dead = self._parts.outbox.counts()
        heads = self._parts.outbox.heads()
        oldest = min(
            (parse(doc["queued_at"]) for doc in heads if doc.get("queued_at")), default=None
        )
        self._one_offs = (waiting, dead, oldest)

    def queue_message(
        self, *, channel: str, kind: str, data: Mapping[str, Any], now: datetime
    ) -> int:
        """Queue a one-off message of `kind` (rendered by the Slack edge from `data`)."""
        with self.lock:
            seq = self._parts.outbox.queue(
                {
                    "channel": channel,
                    "kind": kind,
                    "data": dict(data),
                    "post_key": None,
                    "attempts": 0,
                    "next_attempt_at": iso(now),
                    "last_error": None,
                    "dead": False,
                    "queued_at": iso(now),
                }
            )
            self._note_one_offs()
            return seq

    def outbox_items(self) -> list[OutboxItem]:
        """Every one-off message, oldest first (dead letters included)."""
        with self.lock:
            return [item_from_doc(doc) for doc in self._parts.outbox.documents()]

    def outbox_heads(self) -> list[OutboxItem]:
        """The oldest waiting one-off message of each channel, oldest first."""
        with self.lock:
            return [item_from_doc(doc) for doc in self._parts.outbox.heads()]

    def mark_sent(self, item: OutboxItem, *, channel_id: str, ts: str, now: datetime) -> None:
        """The first write after Slack accepts a one-off message: it is never sent again."""
        with self.lock:
            self._parts.outbox.mark_sent(
                item.seq, {"channel_id": channel_id, "ts": ts, "at": iso(now)}
            )
            self._note_one_offs()

    def unfinished_deliveries(self) -> list[OutboxItem]:
        """One-off messages Slack has whose bookkeeping (`finish_delivery`) is still to do."""
        with self.lock:
            return [item_from_doc(doc) for doc in self._parts.outbox.unfinished()]

    def finish_delivery(self, item: OutboxItem, *, channel_id: str, ts: str, now: datetime) -> None:
        """Note where a sent one-off landed (on its post, for one an earlier commsbot rendered)
        and in the audit, then drop it. A crash in between does the bookkeeping again."""
        with self.lock:
            if item.post_key is not None:
                self._parts.posts.note_delivery(
                    item.post_key, {"channel_id": channel_id, "ts": ts, "delivered_at": iso(now)}
                )
            if item.data.get("suggestion") and item.data.get("version"):
                # Reactions on this message now act on the suggestion it shows.
                self._suggestions.index_message(
                    ts,
                    suggestion_id=str(item.data["suggestion"]),
                    version=int(item.data["version"]),
                    channel_id=channel_id,
                    shows=str(item.data.get("shows") or item.kind),
                )
            data = item.data
            if item.kind == clockwork.ESCALATION and data.get("ref") and data.get("escalation"):
                clockwork.note_dm(
                    self._parts,
                    str(data["ref"]),
                    str(data["escalation"]),
                    channel_id=channel_id,
                    ts=ts,
                )
            self._parts.audit.record(
                "message.delivered",
                now=now,
                kind=item.kind,
                post=item.post_key,
                channel=item.channel,
                channel_id=channel_id,
                ts=ts,
                attempts=item.attempts + 1,
            )
            self._parts.outbox.remove(item.seq)
            self._note_one_offs()

    def drop_message(self, item: OutboxItem, *, why: str, now: datetime) -> None:
        """Forget a one-off message that needs no Slack call after all, saying why (audit)."""
        with self.lock:
            self._parts.audit.record(
                "message.dropped", now=now, kind=item.kind, channel=item.channel, why=why
            )
            self._parts.outbox.remove(item.seq)
            self._note_one_offs()

    def mark_delivered(self, item: OutboxItem, *, channel_id: str, ts: str, now: datetime) -> None:
        """Record that Slack has a one-off message, then do the rest of the bookkeeping."""
        self.mark_sent(item, channel_id=channel_id, ts=ts, now=now)
        self.finish_delivery(item, channel_id=channel_id, ts=ts, now=now)

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
        """Record a failed attempt at a one-off message and when to try again."""
        with self.lock:
            self._parts.outbox.update(
                item.seq,
                {
                    "attempts": item.attempts + 1,
                    "failures": item.failures + (1 if counts_as_failure else 0),
                    "uncertain": uncertain,
                    "last_error": error,
                    "next_attempt_at": iso(next_attempt_at),
                },
            )

    def mark_dead(self, item: OutboxItem, *, error: str, now: datetime) -> None:
        """Keep a one-off message Slack refused for good, so a person can see and fix it."""
        with self.lock:
            self._parts.outbox.update(
                item.seq, {"attempts": item.attempts + 1, "last_error": error, "dead": True}
            )
            self._parts.audit.record(
                "message.failed", now=now, post=item.post_key, channel=item.channel, error=error
            )
            self._note_one_offs()

    # -- status: read without the store's lock ---------------------------------------------

    def outbox_stats(self, now: datetime) -> OutboxStats:
        """Views and one-off messages waiting for Slack, dead letters, the oldest wait."""
        views, dead_views, oldest_view = self._parts.themes.marks()
        waiting, dead, oldest_message = self._one_offs
        oldest = min((t for t in (oldest_view, oldest_message) if t is not None), default=None)
        return OutboxStats(
            pending=views + waiting,
            dead=dead_views + dead,
            oldest_pending_seconds=None if oldest is None else (now - oldest).total_seconds(),
            open_themes=self._parts.themes.open_count(),
        )

    def dead_letters(self) -> list[str]:
        """What Slack refused for good: each theme view and one-off message, described."""
        return [str(letter) for letter in self.dead_letter_list()]

    def dead_letter_list(self) -> list[DeadLetter]:
        """What Slack refused for good, views first, each as something to retry."""
        letters = [
            DeadLetter(channel=channel, error=error, ref=ref)
            for ref, channel, error in self._parts.themes.dead_views()
        ]
        with self.lock:
            letters.extend(
                DeadLetter(
                    channel=doc["channel"],
                    error=str(doc.get("last_error")),
                    seq=doc.doc_id,
                    kind=doc.get("kind") or RENDERED,
                )
                for doc in self._parts.outbox.documents()
                if doc.get("dead")
            )
        return letters

    def retry_dead_letter(self, letter: DeadLetter, *, now: datetime) -> None:
        """Send a dead letter again (after the config was fixed): a theme's view is marked
        changed, a one-off message waits again. One write."""
        with self.lock:
            if letter.ref is not None:
                stored = self._parts.themes.get(letter.ref)
                if stored is None or letter.channel not in stored.views:
                    raise KeyError(f"no view of {letter.ref} in {letter.channel}")
                view = replace(stored.view(letter.channel), dead=None).changed(now)
                changed = stored.with_view(letter.channel, view)
                self._parts.themes.write_themes([changed])
                self._parts.themes.adopt([changed])
            elif letter.seq is not None:
                self._parts.outbox.update(
                    letter.seq, {"dead": False, "next_attempt_at": iso(now), "failures": 0}
                )
                self._note_one_offs()

    # -- Slack events ----------------------------------------------------------------------

    def first_sighting(self, event_id: str, *, now: datetime) -> bool:
        """True the first time an event id is seen; records it so retries are ignored."""
        with self.lock:
            return self._events.first_sighting(event_id, now=now)

    def begin_event(self, event_id: str, *, now: datetime) -> bool:
        """Whether to handle an event now: not if it was handled, or is being handled (Slack
        retried while the first delivery is still at work). Marks it in progress (memory)."""
        with self.lock:
            if event_id in self._events_in_progress or self._events.handled(event_id, now=now):
                return False
            self._events_in_progress.add(event_id)
            return True

    def finish_event(self, event_id: str, *, now: datetime) -> None:
        """An event was handled: recorded, so Slack's retries of it are ignored."""
        with self.lock:
            try:
                if not self._events.handled(event_id, now=now):
                    self._events.record(event_id, now=now)
            finally:
                self._events_in_progress.discard(event_id)

    def event_in_progress(self, event_id: str) -> bool:
        """Whether an event's listener is at work now."""
        with self.lock:
            return event_id in self._events_in_progress

    def abandon_event(self, event_id: str) -> None:
        """An event's handler failed: not recorded, so Slack's retry of it is processed."""
        with self.lock:
            self._events_in_progress.discard(event_id)

    def prune_events(self, *, older_than: timedelta, now: datetime) -> int:
        """Forget handled event ids older than `older_than`; Slack stops retrying long before."""
        with self.lock:
            return self._events.prune(older_than=older_than, now=now)

    # -- suggested replies -----------------------------------------------------------------

    def suggestion(self, suggestion_id: str) -> SuggestionRecord | None:
        """The suggestion called `suggestion_id`, or None (also for an id that cannot be one)."""
        with self.lock:
            try:
                doc = self._suggestions.get(suggestion_id)
            except ValueError:
                return None
            return None if doc is None else SuggestionRecord.from_dict(doc)

    def theme_suggestions(self, ref: str) -> list[SuggestionRecord]:
        """Every suggestion made for theme `ref`, oldest first."""
        with self.lock:
            return [SuggestionRecord.from_dict(d) for d in self._suggestions.of_theme(ref)]

    def save_suggestion(
        self, record: SuggestionRecord, *, action: str, now: datetime, **details: Any
    ) -> None:
        """Store a suggestion's new state, then its audit entry (`suggestion.<action>`).

        A crash between the two keeps the new state without its audit entry.
        """
        with self.lock:
            self._suggestions.put(record.to_dict())
            self._parts.audit.record(
                f"suggestion.{action}",
                now=now,
                theme=record.theme,
                suggestion=record.id,
                **details,
            )

    def suggestion_message(self, ts: str) -> dict[str, Any] | None:
        """Which suggestion (`id`, `version`) Slack message `ts` shows, or None."""
        with self.lock:
            return self._suggestions.message(ts)

    def suggestion_message_at(
        self, suggestion_id: str, *, version: int, shows: str
    ) -> tuple[str, str] | None:
        """(channel id, ts) of the Slack message showing `version` of a suggestion as `shows`
        (a one-off message kind), or None while there is none."""
        with self.lock:
            return self._suggestions.find_message(suggestion_id, version=version, shows=shows)

    def delivery(self, key: str) -> dict[str, Any] | None:
        """A reply on its way to a publisher (`<suggestion id>.<version>`), or None."""
        with self.lock:
            return self._suggestions.delivery(key)

    def save_delivery(self, doc: dict[str, Any]) -> None:
        """Store a delivery's state (`doc["key"]` names it)."""
        with self.lock:
            self._suggestions.put_delivery(doc)

    def deliveries(self) -> list[dict[str, Any]]:
        """Every reply sent or waiting to be sent to a publisher."""
        with self.lock:
            return self._suggestions.deliveries()

    # -- audit -----------------------------------------------------------------------------

    def record_audit(self, action: str, *, now: datetime, **details: Any) -> None:
        """Append one entry to the audit trail."""
        with self.lock:
            self._parts.audit.record(action, now=now, **details)

    def audit_entries(self, day: date) -> list[dict[str, Any]]:
        """The audit trail of one UTC day, oldest first."""
        with self.lock:
            return self._parts.audit.day(day)

    def iter_audit(self, start: date, end: date) -> Iterator[dict[str, Any]]:
        """Audit entries from `start` to `end` inclusive, oldest first."""
        day = start
        while day <= end:
            yield from self.audit_entries(day)
            day += timedelta(days=1)


__all__ = [
    "SCHEMA_VERSION",
    "AcceptOutcome",
    "DataDirInUseError",
    "OutboxStats",
    "Store",
    "ViewSnapshot",
]
