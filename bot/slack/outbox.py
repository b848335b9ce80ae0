"""The outbox worker: shows each theme's current state in Slack, paced per channel.

Work is every theme view with a change not yet shown (`Store.view_work`) and every one-off
message waiting (alerts). Nothing is rendered ahead: a view is rendered from the theme's
state when it is sent, so ten changes to a theme while Slack is slow make one update, not
ten. For one view, one Slack call at a time:

1. post the parent message if there is none yet (an update simply waits for it);
2. post the posts its thread does not list yet as one digest reply (more than one only
   when they would not fit one message);
3. update the parent if what it shows has changed;
and after each call, record what it did (`Store.record_view`) before anything else.

Pacing and fairness. Each channel gets at most one call every `pace_seconds` (Slack takes
about one message a second per channel); 429 and Retry-After are still honoured, and
counted in one summary line per channel rather than one per answer. Channels are served in
turn, so a busy channel never holds up another. Within a channel: a person in danger
first, then the first showing of new urgent cases and incidents, alerts, the first showing
of other new themes, then updates, oldest change first. A quiet channel updates views as
soon as its pace allows. A busy one (posts arriving faster than `busy_posts_per_second`)
updates a view when its allowance covers the whole update: it earns `busy_calls_per_post`
calls for each new post, so a crisis costs a fraction of a call per post; an urgent theme
waits at most `urgent_max_wait_seconds` for it. New themes are shown at once.

Delivery is at least once, with at most one duplicate per message per fault:
- The first write after Slack accepts a call records it. If that write fails, the worker
  keeps it in memory and sends nothing until the data directory can be written again; only
  a process killed in that window repeats the call (for a digest: one duplicate reply).
- Parents, digests and alerts carry metadata naming what they are. When Slack does not
  answer in time, the call may have worked all the same: before sending again, the worker
  looks for it in the channel's history (or the thread), and sends again only if it is not
  there (or Slack will not say).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core.backoff import retry_delay
from bot.core.themes import Priority
from bot.services import utcnow
from bot.slack.client import retry_after_seconds
from bot.slack.messages import Message
from bot.slack.theme_messages import ThemeMessages, message_hash, permalink
from bot.storage import OutboxItem, StorageError, Store, ViewSnapshot, ViewWork

logger = logging.getLogger(__name__)

METADATA_EVENT_TYPE = "commsbot_outbox"
VIEW_EVENT_TYPE = "commsbot_view"
DIGEST_EVENT_TYPE = "commsbot_digest"
RATE_LIMITED = "ratelimited"
# How far back, and through how many messages, to look for a message that may have arrived.
_HISTORY_SLACK_SECONDS = 120
_HISTORY_PAGES = 5
_HISTORY_PAGE_SIZE = 200
# Posts read for one digest (more than fit one reply; the rest are read for the next).
_DIGEST_READ = 60
# Posts one digest reply holds, about: to estimate what an update costs.
_POSTS_PER_DIGEST = 20
# How the load of a channel is smoothed (seconds), and the most calls it may save up.
_RATE_SECONDS = 10.0
_MAX_CREDITS = 10.0
# A channel's rate-limit answers are summed up in the log at most this often.
_RATE_LIMIT_SUMMARY_SECONDS = 60.0

# Slack errors that no retry will fix: the message is kept as a dead letter.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "msg_blocks_too_long",
        "no_text",
        "too_many_attachments",
        "invalid_arguments",
        "invalid_metadata_format",
        "restricted_action",
        "restricted_action_read_only_channel",
        "cannot_reply_to_message",
    }
)


@dataclass(frozen=True)
class Pacing:
    """How the worker paces and retries Slack (desk.yaml `outbox`)."""

    backoff_initial: float = 2.0
    backoff_max: float = 300.0
    pace_seconds: float = 1.1
    busy_posts_per_second: float = 0.5
    busy_calls_per_post: float = 0.06
    urgent_max_wait_seconds: float = 8.0
    busy_update_seconds: float = 30.0


class ThreadedKinds(Protocol):
    """One-off messages of other kinds, shown in a theme's thread (suggested replies).

    Kinds in `updates` post nothing: they re-render a message already sent (chat.update),
    which needs no search after a timeout, since updating twice shows the same.
    """

    kinds: tuple[str, ...]
    updates: tuple[str, ...]

    def message_to_update(self, item: OutboxItem) -> tuple[str, str] | None:
        """(channel id, ts) of the message an update re-renders; None when there is none."""

    def thread_of(self, item: OutboxItem) -> str | None:
        """The parent message's ts to reply under; None while it is not posted yet."""

    def render(self, item: OutboxItem) -> Message:
        """The message, rendered from stored state now."""


@dataclass(frozen=True)
class Failure:
    """Why one Slack call failed."""

    error: str
    retry_after: float | None = None
    permanent: bool = False
    timed_out: bool = False


@dataclass(frozen=True)
class Sent:
    """Where Slack put a message."""

    channel_id: str
    ts: str


@dataclass
class _Channel:
    """What the worker knows of one channel: pace, backoff, load and allowance."""

    next_call_at: float = 0.0  # monotonic: not before this (pace, backoff or Retry-After)
    failures: int = 0
    credits: float = 0.0  # calls earned by posts, for updates while busy
    rate: float = 0.0  # posts a second, smoothed
    listed: int | None = None  # posts listed in it so far, when last looked
    looked_at: float | None = None
    rate_limited: int = 0  # 429s not yet summed up in the log
    rate_limited_since: float | None = None
    digest_part: dict[tuple[str, str], int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Task:
    """One thing to do in a channel: a view to bring up to date, or a one-off message."""

    rank: tuple[int, int, datetime]
    channel: str
    view: ViewWork | None = None
    message: OutboxItem | None = None

    @property
    def expedited(self) -> bool:
        """Shown whatever the channel's allowance: people in danger, new themes, alerts."""
        return self.rank[0] < 4


def _rank(work: ViewWork) -> tuple[int, int, datetime]:
    if work.priority is Priority.PERSON_IN_DANGER:
        return (0, int(work.priority), work.since)
    if not work.has_parent:
        return (1 if work.priority <= Priority.URGENT else 3, int(work.priority), work.since)
    return (4, int(work.priority), work.since)


class OutboxWorker:
    """A background thread that keeps Slack showing the themes; `deliver_due` can also be
    called directly (tests)."""

    def __init__(
        self,
        *,
        store: Store,
        client: WebClient,
        messages: ThemeMessages,
        pacing: Pacing = Pacing(),
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        idle_seconds: float = 5.0,
    ) -> None:
        self._store = store
        self._client = client
        self._messages = messages
        self._pacing = pacing
        self._clock = clock
        self._monotonic = monotonic
        self._idle = idle_seconds
        # Called with (channel, what, error) for each thing Slack refused for good.
        self.on_dead: Callable[[str, Mapping[str, Any], str], None] = lambda c, w, e: None
        # Kinds of one-off message sent in a theme's thread, once its parent is posted.
        self.threaded: ThreadedKinds | None = None
        self._wake = threading.Event()
        # One delivery pass at a time, or two passes could send the same thing twice.
        self._pass = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._instance: str | None = None
        self._team_url: str | None = None
        self._channel_ids: dict[str, str] = {}  # channel name -> id, learned from Slack
        self._channels: dict[str, _Channel] = {}
        # When each view's parent was last posted or updated, and when its thread (or
        # parent) last showed new posts (monotonic).
        self._updated: dict[tuple[str, str], float] = {}
        self._shown_at: dict[tuple[str, str], float] = {}
        # The same by the wall clock, to order views by their oldest change not shown.
        self._shown_since: dict[tuple[str, str], datetime] = {}
        self._turn = 0  # whose turn it is among the channels with work
        # Records of calls Slack accepted that could not be written yet: done first.
        self._unrecorded: list[Callable[[], None]] = []
        self._write_problem: str | None = None
        self._slack_problem: str | None = None
        self._outage = False  # the last failure was Slack unreachable, failing or timing out
        self._unreachable_since: datetime | None = None

    # -- thread control --------------------------------------------------------------------

    def start(self) -> None:
        """Start working in a background thread."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="commsbot-outbox", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look for work now (something changed)."""
        self._wake.set()

    def stop(self, timeout: float = 60.0) -> bool:
        """Stop between calls; the one being made finishes first. True once stopped."""
        self._stopping.set()
        self._wake.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.error("outbox worker still sending after %.0fs", timeout)
            return False
        self._thread = None
        return True

    @property
    def running(self) -> bool:
        """Whether the background thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def problem(self) -> str | None:
        """Why the worker is not delivering normally now, or None when all is well."""
        if self._write_problem is not None:
            return (
                "stopped sending: the data directory cannot be written or read "
                f"({self._write_problem})"
            )
        return self._slack_problem

    def stopped_by_storage(self) -> bool:
        """Whether delivery stopped because the data directory cannot be written."""
        return self._write_problem is not None

    def unreachable_seconds(self) -> float | None:
        """How long Slack has been unreachable or failing, or None when it answers."""
        if self._unreachable_since is None:
            return None
        return (self._clock() - self._unreachable_since).total_seconds()

    def _run(self) -> None:
        while not self._stopping.is_set():
            wait: float | None
            try:
                wait = self.deliver_due()
            except Exception:
                logger.exception("outbox pass failed; trying again shortly")
                wait = self._idle
            self._wake.wait(timeout=min(wait, self._idle) if wait is not None else self._idle)
            self._wake.clear()

    # -- the pass --------------------------------------------------------------------------

    def deliver_due(self) -> float | None:
        """Make every Slack call that is due now, in turn across channels.

        Returns the seconds until the next call could be due, or None if nothing waits.
        While the data directory cannot be written nothing is sent; each call checks
        whether it can be again.
        """
        with self._pass:
            if not self._bookkeeping_done():
                return self._idle
            try:
                wait = self._work()
            except (StorageError, OSError) as exc:
                self._cannot_write(exc)
                return self._idle
            if self._write_problem is not None and not self._unrecorded:
                logger.warning("the data directory can be used again; delivery resumes")
                self._write_problem = None
            return wait

    def _work(self) -> float | None:
        settled: set[tuple[str, str]] = set()  # views found up to date in this pass
        while not self._stopping.is_set():
            task, wait = self._next_task(skip=settled)
            if task is None:
                return wait
            if not self._do(task) and task.view is not None:
                settled.add((task.view.ref, task.view.channel))
            if self._unrecorded:
                return self._idle  # a record failed: nothing more is sent until it is written
        return None

    def _bookkeeping_done(self) -> bool:
        """Write what could not be written; False while the data directory refuses writes."""
        try:
            if self._write_problem is not None:
                self._store.check()
            while self._unrecorded:
                self._unrecorded[0]()
                self._unrecorded.pop(0)
            for item in self._store.unfinished_deliveries():
                assert item.sent is not None
                self._store.finish_delivery(
                    item, channel_id=item.sent["channel_id"], ts=item.sent["ts"], now=self._clock()
                )
        except (StorageError, OSError) as exc:
            self._cannot_write(exc)
            return False
        return True

    def _cannot_write(self, exc: BaseException) -> None:
        if self._write_problem is None:
            logger.error(
                "cannot use the data directory (%s): delivery to Slack stops until it can", exc
            )
        self._write_problem = str(exc)

    def _record(self, write: Callable[[], None]) -> None:
        """Write what a call Slack accepted did; if that fails, hold it and stop sending."""
        try:
            write()
        except (StorageError, OSError) as exc:
            self._unrecorded.append(write)
            self._cannot_write(exc)

    # -- choosing what to do ---------------------------------------------------------------

    def _channel(self, name: str) -> _Channel:
        found = self._channels.get(name)
        if found is None:
            found = self._channels[name] = _Channel()
        return found

    def _observe_load(self, now: float) -> None:
        """Update each channel's load and allowance from the posts listed in it."""
        for name, listed in self._store.listed_counts().items():
            channel = self._channel(name)
            if channel.listed is None or channel.looked_at is None:
                channel.listed, channel.looked_at = listed, now
                continue
            new = max(listed - channel.listed, 0)
            elapsed = max(now - channel.looked_at, 0.0)
            decay = math.exp(-elapsed / _RATE_SECONDS)
            channel.rate = channel.rate * decay + new / _RATE_SECONDS
            channel.credits = min(
                _MAX_CREDITS, channel.credits + new * self._pacing.busy_calls_per_post
            )
            channel.listed, channel.looked_at = listed, now

    def _busy(self, channel: _Channel) -> bool:
        return channel.rate > self._pacing.busy_posts_per_second

    def _tasks(self, skip: set[tuple[str, str]]) -> dict[str, list[_Task]]:
        """What waits in each channel, in the order it should go."""
        tasks: dict[str, list[_Task]] = {}
        for work in self._store.view_work():
            key = (work.ref, work.channel)
            if key in skip:
                continue
            shown = self._shown_since.get(key)
            if shown is not None and shown > work.since:
                # Its change marker dates from before its last digest: what it still has to
                # show is newer than that, so it waits its turn behind older changes.
                work = replace(work, since=shown)
            tasks.setdefault(work.channel, []).append(_Task(_rank(work), work.channel, view=work))
        for item in self._store.outbox_heads():
            if self._threaded(item) and self.threaded.thread_of(item) is None:  # type: ignore[union-attr]
                continue  # waits for its theme's parent message, as an update does
            queued = item.queued_at or item.next_attempt_at
            rank = (2, int(Priority.ROUTINE), queued)
            tasks.setdefault(item.channel, []).append(_Task(rank, item.channel, message=item))
        for found in tasks.values():
            found.sort(key=lambda task: task.rank)
        return tasks

    def _next_task(self, *, skip: set[tuple[str, str]]) -> tuple[_Task | None, float | None]:
        """The next call to make now, in turn across channels; or how long until one is due."""
        now = self._monotonic()
        self._observe_load(now)
        tasks = self._tasks(skip)
        if not tasks:
            return None, None
        names = sorted(tasks)
        waits: list[float] = []
        for offset in range(len(names)):
            name = names[(self._turn + offset) % len(names)]
            channel = self._channel(name)
            if channel.next_call_at > now:
                waits.append(channel.next_call_at - now)
                continue
            task = tasks[name][0]
            ready_in = self._ready_in(task, channel)
            if ready_in > 0:
                waits.append(ready_in)
                continue
            self._turn = (names.index(name) + 1) % len(names)
            return task, 0.0
        if self._outage and self._worth_probing(min(waits, default=self._idle)):
            return self._next_task(skip=skip)
        return None, min(waits, default=self._idle)

    def _ready_in(self, task: _Task, channel: _Channel) -> float:
        """Seconds until `task` may go (0: now). In a busy channel an update waits for its
        allowance (an urgent one at most `urgent_max_wait_seconds`), and a parent is not
        updated again within `busy_update_seconds`."""
        if task.expedited or task.view is None or not self._busy(channel):
            return 0.0
        work = task.view
        since_update = self._monotonic() - self._updated.get((work.ref, work.channel), -1e9)
        update_due = since_update >= self._pacing.busy_update_seconds
        if work.waiting_posts == 0 and not update_due:
            return self._pacing.busy_update_seconds - since_update
        cost = math.ceil(work.waiting_posts / _POSTS_PER_DIGEST) + (1 if update_due else 0)
        if channel.credits >= cost or channel.credits >= _MAX_CREDITS:
            return 0.0
        if work.priority <= Priority.URGENT:
            # How long its oldest post not shown has waited, at most.
            shown_at = self._shown_at.get((work.ref, work.channel))
            if shown_at is None:
                waited = (self._clock() - work.since).total_seconds()
            else:
                waited = self._monotonic() - shown_at
            left = self._pacing.urgent_max_wait_seconds - waited
            if left <= 0:
                return 0.0
            return min(left, 1.0)
        return 1.0  # the allowance grows as posts arrive: look again soon

    def _worth_probing(self, wait: float) -> bool:
        """After an outage, whether a cheap call shows Slack is back before backoff ends."""
        if wait <= self._idle:
            return False  # the next retry comes soon enough anyway
        try:
            self._client.api_test()
        except (SlackApiError, OSError):
            return False
        logger.warning("Slack answers again: retrying what was waiting")
        self._outage = False
        now = self._monotonic()
        for channel in self._channels.values():
            channel.next_call_at = min(channel.next_call_at, now)
            channel.failures = 0
        return True

    # -- doing it --------------------------------------------------------------------------

    def _do(self, task: _Task) -> bool:
        """One Slack call for `task`; False when none was needed (the view was up to date)."""
        channel = self._channel(task.channel)
        outcome: Sent | Failure | None
        if task.message is not None:
            outcome = self._send_message(task.message)
        else:
            assert task.view is not None
            outcome = self._step(task.view, channel)
        if outcome is None:
            return False
        now = self._monotonic()
        channel.next_call_at = now + self._pacing.pace_seconds
        if isinstance(outcome, Sent):
            self._slack_answered(task.channel, channel)
            if task.view is not None and task.view.has_parent and self._busy(channel):
                channel.credits = max(channel.credits - 1, 0.0)
            return True
        self._failed(task, channel, outcome, now)
        return True

    def _slack_answered(self, name: str, channel: _Channel) -> None:
        self._slack_problem, self._outage, self._unreachable_since = None, False, None
        channel.failures = 0
        if channel.rate_limited:
            self._summarise_rate_limits(name, channel, ended=True)

    def _summarise_rate_limits(self, name: str, channel: _Channel, *, ended: bool) -> None:
        since = channel.rate_limited_since or self._monotonic()
        logger.info(
            "Slack rate-limited %s %d time(s) in the last %.0fs; %s",
            name,
            channel.rate_limited,
            self._monotonic() - since,
            "sending again" if ended else "pacing continues",
        )
        channel.rate_limited = 0
        channel.rate_limited_since = None if ended else self._monotonic()

    def _failed(self, task: _Task, channel: _Channel, failure: Failure, now: float) -> None:
        """Record a failed call and when the channel may try again."""
        what = self._what(task)
        if failure.permanent:
            logger.error(
                "Slack refused %s for %s for good (%s); kept as a dead letter",
                what,
                task.channel,
                failure.error,
            )
            known = task.view is not None and task.view.dead == failure.error
            self._record(lambda: self._mark_dead(task, failure.error))
            if not known:  # tried again after a change, refused for the same reason
                self.on_dead(task.channel, self._description(task), failure.error)
            return
        if failure.retry_after is not None:
            channel.next_call_at = now + max(failure.retry_after, self._pacing.pace_seconds)
            if not channel.rate_limited:
                channel.rate_limited_since = now
            channel.rate_limited += 1
            if now - (channel.rate_limited_since or now) >= _RATE_LIMIT_SUMMARY_SECONDS:
                self._summarise_rate_limits(task.channel, channel, ended=False)
        else:
            channel.failures += 1
            delay = retry_delay(
                channel.failures,
                initial=self._pacing.backoff_initial,
                maximum=self._pacing.backoff_max,
            )
            channel.next_call_at = now + delay
            self._outage = True
            self._slack_problem = f"Slack: {failure.error} ({what} to {task.channel})"
            if self._unreachable_since is None:
                self._unreachable_since = self._clock()
            log = logger.warning if channel.failures < 3 else logger.error
            log(
                "sending %s to %s failed (%s, attempt %d); retrying in %.1fs",
                what,
                task.channel,
                failure.error,
                channel.failures,
                delay,
            )
        self._record(lambda: self._mark_retry(task, failure))

    @staticmethod
    def _what(task: _Task) -> str:
        if task.view is not None:
            return f"theme {task.view.ref}"
        assert task.message is not None
        return f"message {task.message.seq}"

    def _description(self, task: _Task) -> dict[str, Any]:
        """What could not be delivered, for the alert: the theme (its title and size) or
        the message's kind."""
        found: dict[str, Any]
        if task.view is not None:
            found = {"theme": task.view.ref}
            stored = self._store.theme(task.view.ref)
            if stored is not None:
                found |= {"title": stored.theme.title, "posts": stored.theme.post_count}
            return found
        assert task.message is not None
        found = {"message": task.message.kind}
        if task.message.post_key:
            found["post"] = task.message.post_key
        return found

    def _mark_dead(self, task: _Task, error: str) -> None:
        now = self._clock()
        if task.view is not None:
            self._store.record_view(task.view.ref, task.channel, now=now, dead=error)
        else:
            assert task.message is not None
            self._store.mark_dead(task.message, error=error, now=now)

    def _mark_retry(self, task: _Task, failure: Failure) -> None:
        now = self._clock()
        if task.message is not None:
            retry_at = now + timedelta(seconds=failure.retry_after or self._pacing.backoff_initial)
            self._store.mark_retry(
                task.message,
                error=failure.error,
                next_attempt_at=retry_at,
                now=now,
                counts_as_failure=failure.retry_after is None,
                uncertain=failure.timed_out,
            )

    # -- a view, one call at a time --------------------------------------------------------

    def _step(self, work: ViewWork, channel: _Channel) -> Sent | Failure | None:
        """The next call that brings a view up to date; None when it needed none."""
        started = self._clock()
        snapshot = self._store.view_snapshot(work.ref, work.channel, digest_limit=_DIGEST_READ)
        if snapshot is None:
            return None
        view = snapshot.view
        if view.uncertain is not None:
            found = self._find_lost(snapshot)
            if isinstance(found, Failure):
                return found
            if found is not None:
                return found
        if view.parent_ts is None:
            return self._post_parent(snapshot, started)
        if snapshot.waiting > 0 and not snapshot.digest:
            # Every post after what the thread lists has moved away: nothing to post.
            upto = snapshot.digest_upto
            self._record(
                lambda: self._store.record_view(
                    work.ref, work.channel, now=self._clock(), shown=upto
                )
            )
            snapshot = self._store.view_snapshot(work.ref, work.channel, digest_limit=_DIGEST_READ)
            if snapshot is None:
                return None
            view = snapshot.view
        if snapshot.waiting > 0:
            return self._post_digest(snapshot, channel)
        channel.digest_part.pop((work.ref, work.channel), None)
        message = self._messages.parent(snapshot)
        rendered = message_hash(message)
        if rendered == view.hash:
            self._record(
                lambda: self._store.record_view(
                    work.ref,
                    work.channel,
                    now=self._clock(),
                    done_version=view.version,
                    since=started,
                )
            )
            return None
        parent_ts = view.parent_ts
        assert parent_ts is not None  # posted above, or earlier
        outcome = self._call(
            lambda: self._client.chat_update(
                channel=view.channel_id or work.channel,
                ts=parent_ts,
                text=message[0],
                blocks=message[1],
            )
        )
        if isinstance(outcome, Sent):
            self._updated[(work.ref, work.channel)] = self._monotonic()
            self._record(
                lambda: self._store.record_view(
                    work.ref,
                    work.channel,
                    now=self._clock(),
                    rendered_hash=rendered,
                    done_version=view.version,
                    since=started,
                )
            )
        return outcome

    def _view_id(self, snapshot: ViewSnapshot) -> str:
        return f"{self._instance_id()}:{snapshot.theme.ref}:{snapshot.channel}"

    def _post_parent(self, snapshot: ViewSnapshot, started: datetime) -> Sent | Failure:
        message = self._messages.parent(snapshot)
        rendered = message_hash(message)
        metadata = {
            "event_type": VIEW_EVENT_TYPE,
            "event_payload": {"view": self._view_id(snapshot)},
        }
        outcome = self._post(snapshot.channel, message, metadata=metadata)
        ref, channel, view = snapshot.theme.ref, snapshot.channel, snapshot.view
        if isinstance(outcome, Sent):
            self._updated[(ref, channel)] = self._shown_at[(ref, channel)] = self._monotonic()
            self._shown_since[(ref, channel)] = self._clock()
            link = self._permalink(outcome)
            done = view.version if snapshot.waiting == 0 else None
            self._record(
                lambda: self._store.record_view(
                    ref,
                    channel,
                    now=self._clock(),
                    channel_id=outcome.channel_id,
                    parent_ts=outcome.ts,
                    permalink=link,
                    rendered_hash=rendered,
                    uncertain=None,
                    done_version=done,
                    since=started,
                )
            )
        elif outcome.timed_out:
            self._record(
                lambda: self._store.record_view(ref, channel, now=self._clock(), uncertain="parent")
            )
        return outcome

    def _post_digest(self, snapshot: ViewSnapshot, channel: _Channel) -> Sent | Failure:
        key = (snapshot.theme.ref, snapshot.channel)
        part = channel.digest_part.get(key, 0) + 1
        message, upto = self._messages.digest(snapshot, part=part)
        metadata = {
            "event_type": DIGEST_EVENT_TYPE,
            "event_payload": {"view": self._view_id(snapshot), "upto": upto},
        }
        outcome = self._post(
            snapshot.channel, message, metadata=metadata, thread_ts=snapshot.view.parent_ts
        )
        ref, name = snapshot.theme.ref, snapshot.channel
        if isinstance(outcome, Sent):
            channel.digest_part[key] = part
            self._shown_at[key] = self._monotonic()
            self._shown_since[key] = self._clock()
            self._record(
                lambda: self._store.record_view(
                    ref,
                    name,
                    now=self._clock(),
                    shown=upto,
                    digest_posted=True,
                    channel_id=outcome.channel_id,
                    uncertain=None,
                )
            )
        elif outcome.timed_out:
            self._record(
                lambda: self._store.record_view(
                    ref, name, now=self._clock(), uncertain=f"digest:{upto}"
                )
            )
        return outcome

    def _find_lost(self, snapshot: ViewSnapshot) -> Sent | Failure | None:
        """After a timeout: whether the parent or digest arrived all the same. If it did, it
        is recorded and returned; None when it is not there (send again)."""
        view, ref, channel = snapshot.view, snapshot.theme.ref, snapshot.channel
        assert view.uncertain is not None
        wanted = self._view_id(snapshot)
        if view.uncertain == "parent":
            found = self._search_history(
                channel,
                since=view.since or snapshot.theme.last_seen,
                matches=lambda payload: payload.get("view") == wanted,
                event_type=VIEW_EVENT_TYPE,
            )
            if isinstance(found, Sent):
                logger.warning(
                    "the parent of %s had reached %s although Slack did not answer in time",
                    ref,
                    channel,
                )
                parent, link = found, self._permalink(found)
                self._record(
                    lambda: self._store.record_view(
                        ref,
                        channel,
                        now=self._clock(),
                        channel_id=parent.channel_id,
                        parent_ts=parent.ts,
                        permalink=link,
                        uncertain=None,
                    )
                )
            return found
        upto = int(view.uncertain.partition(":")[2] or 0)
        found = self._search_thread(
            view,
            channel,
            matches=lambda payload: payload.get("view") == wanted and payload.get("upto") == upto,
        )
        if isinstance(found, Sent):
            logger.warning(
                "a digest of %s had reached %s although Slack did not answer in time",
                ref,
                channel,
            )
            self._record(
                lambda: self._store.record_view(
                    ref, channel, now=self._clock(), shown=upto, digest_posted=True, uncertain=None
                )
            )
        elif found is None:
            self._record(
                lambda: self._store.record_view(ref, channel, now=self._clock(), uncertain=None)
            )
        return found

    # -- one-off messages ------------------------------------------------------------------

    def _threaded(self, item: OutboxItem) -> bool:
        return self.threaded is not None and item.kind in self.threaded.kinds

    def _update_message(self, item: OutboxItem) -> Sent | Failure | None:
        """Re-render a message already in Slack; None (and the item dropped) if there is none."""
        assert self.threaded is not None
        target = self.threaded.message_to_update(item)
        if target is None:
            # Never delivered (a dead letter, say): when it is, it shows the state of then.
            self._record(
                lambda: self._store.drop_message(
                    item, why="no message to update", now=self._clock()
                )
            )
            return None
        channel_id, ts = target
        text, blocks = self.threaded.render(item)
        outcome = self._call(
            lambda: self._client.chat_update(
                channel=channel_id or item.channel, ts=ts, text=text, blocks=blocks
            )
        )
        if isinstance(outcome, Sent):
            self._message_sent(item, outcome)
        return outcome

    def _send_message(self, item: OutboxItem) -> Sent | Failure | None:
        """Send one one-off message, first looking for it in Slack if an earlier try timed out."""
        if self.threaded is not None and item.kind in self.threaded.updates:
            return self._update_message(item)
        wanted = f"{self._instance_id()}:{item.seq}"
        # Suggested replies: their theme's thread (and looked for there after a timeout).
        threaded_ts = self.threaded.thread_of(item) if self._threaded(item) else None  # type: ignore[union-attr]
        thread_ts = threaded_ts
        if item.uncertain:
            found = (
                self._search_replies(
                    item.channel,
                    threaded_ts,
                    matches=lambda payload: payload.get("outbox_id") == wanted,
                )
                if threaded_ts is not None
                else self._search_history(
                    item.channel,
                    since=item.queued_at or item.next_attempt_at,
                    matches=lambda payload: payload.get("outbox_id") == wanted,
                    event_type=METADATA_EVENT_TYPE,
                )
            )
            if isinstance(found, Failure):
                return found
            if isinstance(found, Sent):
                logger.warning(
                    "message %s had reached %s although Slack did not answer in time; "
                    "not sending it again",
                    item.seq,
                    item.channel,
                )
                self._message_sent(item, found)
                return found
        metadata = {"event_type": METADATA_EVENT_TYPE, "event_payload": {"outbox_id": wanted}}
        if threaded_ts is None:
            thread_ts = self._thread_of(item)
        message = (
            self.threaded.render(item)  # type: ignore[union-attr]
            if self._threaded(item)
            else self._messages.one_off(item)
        )
        outcome = self._post(
            item.channel,
            message,
            metadata=metadata,
            thread_ts=thread_ts,
            reply_broadcast=thread_ts is not None and bool(item.data.get("broadcast")),
        )
        if isinstance(outcome, Sent):
            self._message_sent(item, outcome)
        return outcome

    def _thread_of(self, item: OutboxItem) -> str | None:
        """The thread a one-off message belongs in: its theme's view in that channel, once
        posted (a reminder); else None, and it goes to the channel itself."""
        ref = item.data.get("thread_of")
        if not ref:
            return None
        stored = self._store.theme(str(ref))
        return stored.view(item.channel).parent_ts if stored is not None else None

    def _message_sent(self, item: OutboxItem, sent: Sent) -> None:
        now = self._clock()
        try:
            self._store.mark_sent(item, channel_id=sent.channel_id, ts=sent.ts, now=now)
        except (StorageError, OSError) as exc:
            self._unrecorded.append(
                lambda: self._store.mark_sent(item, channel_id=sent.channel_id, ts=sent.ts, now=now)
            )
            self._cannot_write(exc)
            return
        try:
            self._store.finish_delivery(item, channel_id=sent.channel_id, ts=sent.ts, now=now)
        except (StorageError, OSError) as exc:
            self._cannot_write(exc)  # finished by the next pass (`unfinished_deliveries`)

    # -- Slack -----------------------------------------------------------------------------

    def _instance_id(self) -> str:
        if self._instance is None:
            self._instance = self._store.instance_id()
        return self._instance

    def _permalink(self, sent: Sent) -> str | None:
        """The link to a message, from the workspace's address (asked of Slack once)."""
        if self._team_url is None:
            try:
                self._team_url = str(self._client.auth_test().get("url") or "")
            except (SlackApiError, OSError) as exc:
                logger.warning("cannot learn the workspace's address (%s); no links yet", exc)
                return None
        if not self._team_url:
            return None
        return permalink(self._team_url, sent.channel_id, sent.ts)

    def _post(
        self,
        channel: str,
        message: Message,
        *,
        metadata: dict[str, Any],
        thread_ts: str | None = None,
        reply_broadcast: bool = False,
    ) -> Sent | Failure:
        text, blocks = message
        arguments: dict[str, Any] = {
            "channel": channel,
            "text": text,
            "blocks": blocks,
            "unfurl_links": False,
            "metadata": metadata,
        }
        if thread_ts is not None:
            arguments["thread_ts"] = thread_ts
        if reply_broadcast:
            arguments["reply_broadcast"] = True
        return self._call(lambda: self._client.chat_postMessage(**arguments), channel=channel)

    def _call(self, make: Callable[[], Any], *, channel: str | None = None) -> Sent | Failure:
        """Make one Slack call; where the message is, or what went wrong."""
        try:
            response = make()
        except SlackApiError as exc:
            return _failure(exc)
        except TimeoutError as exc:
            return Failure(f"timeout: {exc}", timed_out=True)
        except OSError as exc:  # connection refused or reset; a timeout inside urllib
            timed_out = isinstance(getattr(exc, "reason", None), TimeoutError)
            return Failure(f"connection: {exc}", timed_out=timed_out)
        sent = Sent(channel_id=str(response["channel"]), ts=str(response["ts"]))
        if channel is not None:
            self._channel_ids[channel] = sent.channel_id
        return sent

    def _search_history(
        self,
        channel: str,
        *,
        since: datetime,
        matches: Callable[[Mapping[str, Any]], bool],
        event_type: str,
    ) -> Sent | Failure | None:
        """A message of ours in a channel's recent history, if it is there; None if it is
        not (or Slack will not let us look); a Failure if Slack cannot be asked now."""
        channel_id = self._channel_id(channel)
        if channel_id is None:
            return None
        oldest = f"{since.timestamp() - _HISTORY_SLACK_SECONDS:.6f}"
        cursor = None
        try:
            for _ in range(_HISTORY_PAGES):
                page = self._client.conversations_history(
                    channel=channel_id,
                    oldest=oldest,
                    include_all_metadata=True,
                    limit=_HISTORY_PAGE_SIZE,
                    cursor=cursor,
                )
                for message in page.get("messages") or []:
                    metadata = message.get("metadata") or {}
                    if metadata.get("event_type") == event_type and matches(
                        metadata.get("event_payload") or {}
                    ):
                        return Sent(channel_id=channel_id, ts=str(message["ts"]))
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return None
        except SlackApiError as exc:
            return _unknown(exc)
        except OSError as exc:
            return Failure(f"connection: {exc}", timed_out=True)
        return None

    def _search_thread(
        self, view: Any, channel: str, *, matches: Callable[[Mapping[str, Any]], bool]
    ) -> Sent | Failure | None:
        """A digest of ours in a view's thread, if it is there (as `_search_history`)."""
        channel_id = view.channel_id or self._channel_id(channel)
        if channel_id is None or view.parent_ts is None:
            return None
        return self._find_in_thread(channel_id, view.parent_ts, DIGEST_EVENT_TYPE, matches)

    def _search_replies(
        self, channel: str, thread_ts: str, *, matches: Callable[[Mapping[str, Any]], bool]
    ) -> Sent | Failure | None:
        """A one-off message of ours in a thread, if it is there (as `_search_history`)."""
        channel_id = self._channel_id(channel)
        if channel_id is None:
            return None
        return self._find_in_thread(channel_id, thread_ts, METADATA_EVENT_TYPE, matches)

    def _find_in_thread(
        self,
        channel_id: str,
        thread_ts: str,
        event_type: str,
        matches: Callable[[Mapping[str, Any]], bool],
    ) -> Sent | Failure | None:
        """The reply in a thread whose metadata is of `event_type` and `matches`, if any."""
        try:
            page = self._client.conversations_replies(
                channel=channel_id, ts=thread_ts, include_all_metadata=True, limit=1000
            )
        except SlackApiError as exc:
            return _unknown(exc)
        except OSError as exc:
            return Failure(f"connection: {exc}", timed_out=True)
        for message in page.get("messages") or []:
            metadata = message.get("metadata") or {}
            if metadata.get("event_type") == event_type and matches(
                metadata.get("event_payload") or {}
            ):
                return Sent(channel_id=channel_id, ts=str(message["ts"]))
        return None

    def _channel_id(self, channel: str) -> str | None:
        """A channel's id: as given, learned from an earlier send, or looked up by name."""
        if not channel.startswith("#"):
            return channel
        if channel in self._channel_ids:
            return self._channel_ids[channel]
        name = channel.removeprefix("#")
        cursor = None
        try:
            for _ in range(_HISTORY_PAGES):
                page = self._client.conversations_list(
                    types="public_channel,private_channel", limit=1000, cursor=cursor
                )
                for found in page.get("channels") or []:
                    if found.get("name") == name:
                        self._channel_ids[channel] = str(found["id"])
                        return self._channel_ids[channel]
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except (SlackApiError, OSError) as exc:
            logger.warning("cannot look up the id of %s (%s)", channel, exc)
        return None


def _failure(exc: SlackApiError) -> Failure:
    """What a Slack error answer means for delivery."""
    status = exc.response.status_code
    error = str(exc.response.get("error") or f"HTTP {status}")
    retry_after = retry_after_seconds(exc.response.headers) if status == 429 else None
    if status == 429:
        error = RATE_LIMITED
    permanent = status == 200 and error in PERMANENT_ERRORS
    return Failure(error, retry_after=retry_after, permanent=permanent)


def _unknown(exc: SlackApiError) -> Failure | None:
    """A failed look in Slack: None when looking is refused for good (send again), else a
    Failure that leaves it not known whether Slack has the message."""
    failure = _failure(exc)
    if failure.permanent or exc.response.status_code == 200:
        return None  # e.g. missing_scope: sending again is the only way forward
    return replace(failure, timed_out=True)
