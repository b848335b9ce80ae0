"""Themes on disk: open work kept small and apart from history.

Layout under `<data_dir>/themes/`:

- `counter.json`: the last theme reference number handed out (`T-0042` is 42). Written
  before any theme that uses a new number, so a number is never handed out twice.
- `open/T-0042.json`: one small file per theme the desk still has to deal with: its state
  (`bot.core.theme_state.Theme`) and its Slack views, one per channel where it has posts:
  where the parent message is, how many of the channel's posts the thread lists, the hash
  of the parent as last rendered, and whether it has changes not yet shown (`version`
  ahead of `done`, with `since`, the time of the oldest). Those change markers are written
  in the same atomic write as the change itself, so a crash never loses one; at start the
  outbox's work is simply the views they mark.
- `closed/NNN/T-0042.json`: closed themes whose views show it, by reference number // 1000.
  History: read only when a closed theme is asked for by reference.
- `journal/NNN/T-0042.<channel>.NNNNNN.json`: each channel's list of the theme's posts,
  position -> (post key, posts file), 100 positions to a file, so a digest of the posts after
  position N reads only the files that hold them. Folders by reference number // 1000, so a
  new theme needs no new folder (channel names and ids hold no dots).

This module holds the open themes in memory (with the matcher that places new posts among
them) and writes what the `Store` tells it to, in the order the Store's write paths state.
"""

from __future__ import annotations

import bisect
import heapq
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.core.theme_clock import Escalation, ThemeClock
from bot.core.theme_state import LATEST, Change, Theme, ThemeStatus
from bot.core.themes import Priority, ThemeMatcher, ThemeSettings, format_ref
from bot.storage.atomic import AtomicJSONStorage, StorageError, WriteBatch, read_data_file
from bot.storage.docs import iso, parse

JOURNAL_PER_FILE = 100
LATEST_IN_VIEW = LATEST
_CLOSED_PER_FOLDER = 1000
_CACHED_JOURNAL_FILES = 128
_CACHED_CLOSED = 64


def ref_number(ref: str) -> int:
    """The number of a reference: `T-0042` -> 42; ValueError if it is not one."""
    prefix, _, digits = ref.partition("-")
    if not prefix or not digits.isdigit():
        raise ValueError(f"{ref!r} is not a theme reference")
    return int(digits)


@dataclass(frozen=True)
class ViewRecord:
    """Where a theme is shown in one channel, and what is still to show there."""

    channel_id: str | None = None
    parent_ts: str | None = None
    permalink: str | None = None
    shown: int = 0  # positions of the channel's list posted in thread digests
    hash: str | None = None  # the parent as last rendered
    version: int = 0  # changes to show in this channel, counted
    done: int = 0  # the version fully shown
    since: datetime | None = None  # when the oldest change not yet shown was made
    dead: str | None = None  # what Slack answered when it refused the view for good
    dead_version: int = 0  # the version it refused: a later change tries again
    # A send that timed out ("parent", or "digest:<upto>"): look in Slack before resending.
    uncertain: str | None = None
    digests: int = 0  # digest replies posted

    @property
    def dirty(self) -> bool:
        """Whether this view has a change not yet shown that Slack has not refused."""
        if self.dead is not None and self.version <= self.dead_version:
            return False
        return self.version > self.done

    def changed(self, now: datetime) -> ViewRecord:
        """This view with one more change to show."""
        return replace(self, version=self.version + 1, since=self.since or now)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "channel_id": self.channel_id,
            "parent_ts": self.parent_ts,
            "permalink": self.permalink,
            "shown": self.shown,
            "hash": self.hash,
            "version": self.version,
            "done": self.done,
            "since": iso(self.since) if self.since else None,
            "dead": self.dead,
            "dead_version": self.dead_version,
            "uncertain": self.uncertain,
            "digests": self.digests,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ViewRecord:
        """The view `to_dict` wrote."""
        return cls(
            channel_id=data.get("channel_id"),
            parent_ts=data.get("parent_ts"),
            permalink=data.get("permalink"),
            shown=int(data.get("shown", 0)),
            hash=data.get("hash"),
            version=int(data.get("version", 0)),
            done=int(data.get("done", 0)),
            since=parse(data["since"]) if data.get("since") else None,
            dead=data.get("dead"),
            dead_version=int(data.get("dead_version", 0)),
            uncertain=data.get("uncertain"),
            digests=int(data.get("digests", 0)),
        )


@dataclass(frozen=True)
class StoredTheme:
    """A theme with its Slack views, as one file holds them."""

    theme: Theme
    views: Mapping[str, ViewRecord] = field(default_factory=dict)
    clock: ThemeClock | None = None  # its deadline and reminders
    escalations: tuple[Escalation, ...] = ()

    @property
    def next_at(self) -> datetime | None:
        """The next moment a sweep has something to do for this theme (reminder, breach,
        escalation step), or None."""
        moments = [e.next_at for e in self.escalations if e.next_at is not None]
        clock = self.clock
        if clock is not None and not clock.stopped and not clock.paused:
            if clock.next_at is not None:
                moments.append(clock.next_at)
            if not clock.breached:
                moments.append(clock.due_at)
        return min(moments, default=None)

    @property
    def waiting_for_answer(self) -> bool:
        """Whether the theme is open (not answered or closed) with a running clock."""
        return (
            self.theme.status is ThemeStatus.OPEN
            and self.clock is not None
            and not self.clock.stopped
        )

    def escalation(self, escalation_id: str) -> Escalation | None:
        """The escalation with this id, if any."""
        return next((e for e in self.escalations if e.id == escalation_id), None)

    def view(self, channel: str) -> ViewRecord:
        """The view in `channel` (a fresh one if the theme has none there yet)."""
        return self.views.get(channel) or ViewRecord()

    def with_view(self, channel: str, view: ViewRecord) -> StoredTheme:
        """This theme with `channel`'s view replaced."""
        return replace(self, views={**self.views, channel: view})

    def with_changes(self, changes: Iterable[Change], now: datetime) -> StoredTheme:
        """This theme with a change marked on every view `changes` name."""
        views = dict(self.views)
        for change in changes:
            if change.ref != self.theme.ref:
                continue
            for channel in change.channels:
                views[channel] = views.get(channel, ViewRecord()).changed(now)
        return replace(self, views=views)

    @property
    def settled(self) -> bool:
        """Whether every view shows the theme as it is (dead views aside)."""
        return not any(view.dirty for view in self.views.values())

    def to_data(self) -> dict[str, Any]:
        """What the theme's file holds."""
        return {
            "theme": self.theme.to_dict()
            | {"views": {channel: view.to_dict() for channel, view in self.views.items()}}
            | {
                "clock": self.clock.to_dict() if self.clock else None,
                "escalations": [e.to_dict() for e in self.escalations],
            }
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any], path: Path) -> StoredTheme:
        """The theme a file holds; StorageError naming the file if it is not one."""
        try:
            doc = data["theme"]
            views = {
                str(channel): ViewRecord.from_dict(view)
                for channel, view in (doc.get("views") or {}).items()
            }
            clock = ThemeClock.from_dict(doc["clock"]) if doc.get("clock") else None
            escalations = tuple(Escalation.from_dict(e) for e in doc.get("escalations") or ())
            return cls(Theme.from_dict(doc), views, clock, escalations)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StorageError(f"{path}: not a stored theme ({exc})") from None


@dataclass(frozen=True)
class ViewWork:
    """A view with a change not yet shown in Slack: what the outbox worker must do."""

    ref: str
    channel: str
    since: datetime
    priority: Priority
    has_parent: bool
    version: int
    waiting_posts: int  # positions of the channel's list not yet in a digest
    dead: str | None = None  # what Slack answered when it last refused this view


def _people_of(stored: StoredTheme) -> set[str]:
    """Who sees a theme on their own Home: its owner and the officers its escalations told."""
    people = {u for e in stored.escalations for u in e.told}
    if stored.theme.owner is not None:
        people.add(stored.theme.owner)
    return people


class ThemeFiles:
    """The themes aggregate: open themes in memory, history and journals on disk.

    Not thread-safe: the `Store` calls it under its lock.
    """

    def __init__(self, root: Path, batch: WriteBatch, settings: ThemeSettings) -> None:
        self.root = root
        self._batch = batch
        self.settings = settings
        self._closed_store = False
        # Views with changes not shown, and views Slack refused: kept up to date as themes
        # change, and read under their own small lock (the Home tab, /healthz).
        self._marks_lock = threading.Lock()
        self._dirty: dict[tuple[str, str], datetime] = {}
        self._dead: dict[tuple[str, str], str] = {}
        self.forget()

    # -- memory ----------------------------------------------------------------------------

    def forget(self) -> None:
        """Drop everything held in memory; the next use reads the files again."""
        self._loaded = False
        self._open: dict[str, StoredTheme] = {}
        self._matcher: ThemeMatcher | None = None
        self._counter = 0
        self._journals: OrderedDict[Path, dict[str, Any]] = OrderedDict()
        self._closed: OrderedDict[str, StoredTheme | None] = OrderedDict()
        # Posts listed per channel since this process started: how busy each channel is.
        self._listed: dict[str, int] = getattr(self, "_listed", {})
        with self._marks_lock:
            self._dirty, self._dead = {}, {}
        # Indexes of open work kept as themes change (see `_index`).
        self._next: dict[str, datetime] = {}
        self._wake: list[tuple[datetime, str]] = []  # heap of (next_at, ref); stale skipped
        self._by_due: list[tuple[datetime, str]] = []  # themes waiting for an answer, sorted
        self._due_of: dict[str, datetime] = {}
        self._owned: dict[str, set[str]] = {}
        self._owner_of: dict[str, str] = {}
        self._dms: dict[tuple[str, str], tuple[str, str]] = {}
        self._awaiting: set[str] = set()  # themes with an escalation awaiting acknowledgement
        self._unclocked: set[str] = set()  # open themes stored before clocks existed
        self._touched: set[str] = set()  # people whose own themes or escalations changed

    def close(self) -> None:
        """Refuse any further use."""
        self._closed_store = True
        self.forget()

    def _load(self) -> None:
        if self._closed_store:
            raise StorageError("store is closed")
        if self._loaded:
            return
        counter = read_data_file(self._counter_path())
        self._counter = int(((counter or {}).get("counter") or {}).get("last", 0))
        matcher = ThemeMatcher(self.settings)
        for path in sorted((self.root / "open").glob("*.json")):
            data = read_data_file(path)
            if data is None:
                continue
            stored = StoredTheme.from_data(data, path)
            ref = stored.theme.ref
            if self.closed_path(ref).exists():
                # Archived, but the open copy was not yet deleted when the process stopped.
                path.unlink()
                continue
            self._hold(stored)
            self._counter = max(self._counter, ref_number(ref))
            if stored.theme.status is not ThemeStatus.CLOSED:
                matcher.add(stored.theme.as_open_theme())
        self._matcher = matcher
        self._loaded = True

    @property
    def matcher(self) -> ThemeMatcher:
        """The matcher holding the themes new posts may join."""
        self._load()
        assert self._matcher is not None
        return self._matcher

    # -- paths -----------------------------------------------------------------------------

    def _counter_path(self) -> Path:
        return self.root / "counter.json"

    def open_path(self, ref: str) -> Path:
        return self.root / "open" / f"{ref}.json"

    def closed_path(self, ref: str) -> Path:
        folder = ref_number(ref) // _CLOSED_PER_FOLDER
        return self.root / "closed" / f"{folder:03d}" / f"{ref}.json"

    def journal_path(self, ref: str, channel: str, position: int) -> Path:
        """The journal file holding `position` of `channel`'s list of theme `ref`."""
        number = (position - 1) // JOURNAL_PER_FILE
        folder = ref_number(ref) // _CLOSED_PER_FOLDER
        return self.root / "journal" / f"{folder:03d}" / f"{ref}.{channel}.{number:06d}.json"

    # -- reading ---------------------------------------------------------------------------

    def get(self, ref: str) -> StoredTheme | None:
        """Theme `ref`, open (from memory) or closed (from history), or None."""
        self._load()
        found = self._open.get(ref)
        if found is not None:
            return found
        if ref in self._closed:
            self._closed.move_to_end(ref)
            return self._closed[ref]
        try:
            path = self.closed_path(ref)
        except ValueError:
            return None
        data = read_data_file(path)
        stored = None if data is None else StoredTheme.from_data(data, path)
        self._closed[ref] = stored
        while len(self._closed) > _CACHED_CLOSED:
            self._closed.popitem(last=False)
        return stored

    def in_history(self, ref: str) -> bool:
        """Whether theme `ref` is closed and in history (not in open work)."""
        self._load()
        return ref not in self._open and self.closed_path(ref).exists()

    def open_themes(self) -> list[StoredTheme]:
        """Every theme in open work, by reference."""
        self._load()
        return [self._open[ref] for ref in sorted(self._open)]

    def marks(self) -> tuple[int, int, datetime | None]:
        """(views with changes not yet shown, views Slack refused, oldest change not shown).

        Read under a lock of its own: never waits for the store's.
        """
        with self._marks_lock:
            return len(self._dirty), len(self._dead), min(self._dirty.values(), default=None)

    def open_count(self) -> int:
        """How many themes are in open work."""
        return len(self._open)

    def _hold(self, stored: StoredTheme) -> None:
        """Hold `stored` in memory as the current state of its theme, marks included."""
        ref = stored.theme.ref
        previous = self._open.get(ref)
        self._open[ref] = stored
        self._index(ref, stored)
        with self._marks_lock:
            if previous is not None:
                for channel in previous.views:
                    self._dirty.pop((ref, channel), None)
                    self._dead.pop((ref, channel), None)
            for channel, view in stored.views.items():
                if view.dirty:
                    self._dirty[(ref, channel)] = view.since or stored.theme.last_seen
                if view.dead is not None:
                    self._dead[(ref, channel)] = view.dead

    def _unindex(self, ref: str) -> None:
        self._next.pop(ref, None)
        due = self._due_of.pop(ref, None)
        if due is not None:
            at = bisect.bisect_left(self._by_due, (due, ref))
            if at < len(self._by_due) and self._by_due[at] == (due, ref):
                del self._by_due[at]
        owner = self._owner_of.pop(ref, None)
        if owner is not None:
            self._owned.get(owner, set()).discard(ref)
        self._awaiting.discard(ref)
        self._unclocked.discard(ref)

    def _index(self, ref: str, stored: StoredTheme) -> None:
        """Keep the indexes of open work: next moment a sweep acts, open themes by due date,
        themes by owner, escalation DMs, escalations awaiting acknowledgement."""
        self._unindex(ref)
        next_at = stored.next_at
        if next_at is not None:
            self._next[ref] = next_at
            heapq.heappush(self._wake, (next_at, ref))
        if stored.clock is None and stored.theme.status is ThemeStatus.OPEN:
            self._unclocked.add(ref)
        if stored.waiting_for_answer:
            assert stored.clock is not None
            self._due_of[ref] = stored.clock.due_at
            bisect.insort(self._by_due, (stored.clock.due_at, ref))
        if stored.theme.owner is not None and stored.theme.status is not ThemeStatus.CLOSED:
            self._owner_of[ref] = stored.theme.owner
            self._owned.setdefault(stored.theme.owner, set()).add(ref)
        for escalation in stored.escalations:
            for dm in escalation.dms:
                self._dms[dm] = (ref, escalation.id)
            if escalation.awaiting and stored.theme.status is ThemeStatus.OPEN:
                self._awaiting.add(ref)

    def due_refs(self, now: datetime) -> list[str]:
        """Themes with something for a sweep to do by `now`, reading only those."""
        self._load()
        found: list[str] = []
        while self._wake and self._wake[0][0] <= now:
            at, ref = heapq.heappop(self._wake)
            if self._next.get(ref) == at and ref not in found:
                found.append(ref)
        return found

    def take_touched(self) -> frozenset[str]:
        """The people whose themes or escalations changed since last asked."""
        touched, self._touched = frozenset(self._touched), set()
        return touched

    def unclocked(self) -> list[str]:
        """Open themes without a deadline (stored before clocks existed, or rebuilt)."""
        self._load()
        return sorted(self._unclocked)

    def by_due(self, *, owner: str | None = None) -> Iterator[StoredTheme]:
        """Themes waiting for an answer, nearest deadline first (`owner`'s only, if given)."""
        self._load()
        if owner is None:
            for _, ref in list(self._by_due):
                yield self._open[ref]
            return
        mine = [self._open[r] for r in self._owned.get(owner, set()) if r in self._due_of]
        yield from sorted(mine, key=lambda s: (self._due_of[s.theme.ref], s.theme.ref))

    def waiting_count(self, owner: str | None = None) -> int:
        """How many themes wait for an answer (`owner`'s only, if given)."""
        self._load()
        if owner is None:
            return len(self._by_due)
        return sum(1 for r in self._owned.get(owner, set()) if r in self._due_of)

    def owned(self, owner: str) -> list[StoredTheme]:
        """Open themes `owner` owns, by reference."""
        self._load()
        return [self._open[r] for r in sorted(self._owned.get(owner, set()))]

    def escalation_for_dm(self, channel_id: str, ts: str) -> tuple[str, str] | None:
        """(theme ref, escalation id) of the escalation DM at (channel, ts), if it is one."""
        self._load()
        return self._dms.get((channel_id, ts))

    def awaiting_acknowledgement(self) -> list[StoredTheme]:
        """Open themes with an escalation nobody has acknowledged yet, by reference."""
        self._load()
        return [self._open[r] for r in sorted(self._awaiting)]

    def _let_go(self, ref: str) -> None:
        stored = self._open.pop(ref, None)
        if stored is None:
            return
        self._unindex(ref)
        with self._marks_lock:
            for channel in stored.views:
                self._dirty.pop((ref, channel), None)
                self._dead.pop((ref, channel), None)

    def listed_counts(self) -> dict[str, int]:
        """Posts listed in each channel since the process started (how busy it is)."""
        return dict(self._listed)

    def work(self) -> list[ViewWork]:
        """Every view with a change not yet shown, oldest change first."""
        self._load()
        found = []
        with self._marks_lock:
            marked = list(self._dirty)
        for ref, channel in marked:
            stored = self._open[ref]
            view = stored.view(channel)
            posts = stored.theme.channel(channel)
            waiting = 0 if posts.count <= 1 and not view.shown else posts.appended - view.shown
            found.append(
                ViewWork(
                    ref=ref,
                    channel=channel,
                    since=view.since or stored.theme.last_seen,
                    priority=stored.theme.priority,
                    has_parent=view.parent_ts is not None,
                    version=view.version,
                    waiting_posts=max(waiting, 0),
                    dead=view.dead,
                )
            )
        return sorted(found, key=lambda w: (w.since, w.ref, w.channel))

    def dead_views(self) -> list[tuple[str, str, str]]:
        """(ref, channel, Slack's answer) of every view Slack refused for good."""
        with self._marks_lock:
            return sorted((ref, channel, error) for (ref, channel), error in self._dead.items())

    def journal_file(self, path: Path) -> dict[str, Any]:
        cached = self._journals.get(path)
        if cached is not None:
            self._journals.move_to_end(path)
            return cached
        data = AtomicJSONStorage(path, self._batch).read()
        entries = dict((data or {}).get("entries") or {})
        self._journals[path] = entries
        while len(self._journals) > _CACHED_JOURNAL_FILES:
            self._journals.popitem(last=False)
        return entries

    def journal_entry(self, ref: str, channel: str, position: int) -> Mapping[str, Any] | None:
        """The post listed at `position` of `channel`'s list of theme `ref`, if any."""
        if position < 1:
            return None
        entry = self.journal_file(self.journal_path(ref, channel, position)).get(str(position))
        return None if entry is None else dict(entry)

    def journal_range(
        self, ref: str, channel: str, *, after: int, upto: int
    ) -> Iterator[tuple[int, Mapping[str, Any]]]:
        """(position, entry) for positions after `after` up to `upto`, in order; gaps skipped."""
        for position in range(after + 1, upto + 1):
            entry = self.journal_entry(ref, channel, position)
            if entry is not None:
                yield position, entry

    # -- writing (each step is one durable write; the Store orders them) --------------------

    def next_ref(self) -> str:
        """The next unused reference (in memory until `write_counter`)."""
        self._load()
        self._counter += 1
        return format_ref(self._counter)

    @property
    def counter(self) -> int:
        """The last reference number handed out."""
        self._load()
        return self._counter

    def took_journals(self, files: Mapping[Path, Mapping[str, Any]]) -> None:
        """Hold journal files written by someone else (a staff action's intent)."""
        for path, entries in files.items():
            self._journals[path] = dict(entries)

    def write_counter(self) -> None:
        """Put the last reference handed out on disk."""
        self._load()
        AtomicJSONStorage(self._counter_path(), self._batch).write(
            {"counter": {"last": self._counter}}
        )

    def write_journal(self, appends: Iterable[tuple[str, str, int, Mapping[str, Any]]]) -> None:
        """Write (ref, channel, position, entry) into the journals, a file at a time."""
        by_file: dict[Path, list[tuple[int, Mapping[str, Any]]]] = {}
        for ref, channel, position, entry in appends:
            by_file.setdefault(self.journal_path(ref, channel, position), []).append(
                (position, entry)
            )
        for path, entries in by_file.items():
            current = dict(self.journal_file(path))
            for position, entry in entries:
                current[str(position)] = dict(entry)
            AtomicJSONStorage(path, self._batch).write({"entries": current})
            self._journals[path] = current

    def write_themes(self, themes: Iterable[StoredTheme]) -> None:
        """Write each theme's file (in open work, whatever its status)."""
        for stored in themes:
            AtomicJSONStorage(self.open_path(stored.theme.ref), self._batch).write(stored.to_data())

    def adopt(self, themes: Iterable[StoredTheme]) -> None:
        """Hold `themes` as written (after the writes succeeded)."""
        for stored in themes:
            ref = stored.theme.ref
            previous = self._open.get(ref)
            for side in (previous, stored):
                if side is not None:
                    self._touched.update(_people_of(side))
            self._hold(stored)
            self._closed.pop(ref, None)
            for channel in stored.theme.channel_names:
                before = previous.theme.channel(channel).appended if previous else 0
                grown = stored.theme.channel(channel).appended - before
                if grown > 0:
                    self._listed[channel] = self._listed.get(channel, 0) + grown

    def archive(self, ref: str) -> bool:
        """Move a closed theme whose views all show it from open work to history.

        Writes the history file, then deletes the open one: a crash in between leaves both,
        and the next start deletes the open copy. Returns whether it was archived.
        """
        stored = self._open.get(ref)
        if stored is None or stored.theme.status is not ThemeStatus.CLOSED or not stored.settled:
            return False
        AtomicJSONStorage(self.closed_path(ref), self._batch).write(stored.to_data())
        self.open_path(ref).unlink(missing_ok=True)
        self._let_go(ref)
        self._closed[ref] = stored
        self.matcher.close(ref)
        return True


def journal_of(path: Path) -> tuple[str, str]:
    """(theme ref, channel) of a journal file's path."""
    ref, channel, _ = path.name.removesuffix(".json").split(".")
    return ref, channel
