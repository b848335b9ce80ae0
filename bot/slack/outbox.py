"""The outbox worker: delivers queued messages to Slack, in order per channel, retrying.

Nothing is dropped: transient failures are retried with backoff (HTTP 429 waits for
Retry-After, which is not counted as a failure); messages Slack refuses for good are kept as
dead letters for a person to fix.

Delivery is at least once, with at most one duplicate per message per fault:
- Once Slack accepts a message, the first write records that (`Store.mark_sent`), before
  any other bookkeeping, so a failure later in the bookkeeping never sends it again. If even
  that write fails, the worker remembers the send in memory and stops sending until the data
  directory can be written again; only a process killed in that window sends it once more.
- Each message carries its outbox id in Slack message metadata. When Slack does not answer
  in time, the message may have arrived all the same: before sending it again the worker
  looks for that id in the channel's recent history, and sends again only if it is not
  there (or Slack will not say).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core.backoff import retry_delay
from bot.services import utcnow
from bot.slack.client import retry_after_seconds
from bot.storage import OutboxItem, StorageError, Store

logger = logging.getLogger(__name__)

METADATA_EVENT_TYPE = "commsbot_outbox"
RATE_LIMITED = "ratelimited"
# How far back, and through how many messages, to look for a message that may have arrived.
_HISTORY_SLACK_SECONDS = 120
_HISTORY_PAGES = 5
_HISTORY_PAGE_SIZE = 200

# Slack errors that no retry will fix: the message is kept as a dead letter.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
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
class Failure:
    """Why one delivery attempt failed."""

    error: str
    retry_after: float | None = None
    permanent: bool = False
    timed_out: bool = False


@dataclass(frozen=True)
class Sent:
    """Where Slack put a message."""

    channel_id: str
    ts: str


class OutboxWorker:
    """A background thread that works the outbox; `deliver_due` can also be called directly."""

    def __init__(
        self,
        *,
        store: Store,
        client: WebClient,
        backoff_initial: float,
        backoff_max: float,
        clock: Callable[[], datetime] = utcnow,
        idle_seconds: float = 5.0,
    ) -> None:
        self._store = store
        self._client = client
        self._initial = backoff_initial
        self._max = backoff_max
        self._clock = clock
        self._idle = idle_seconds
        # Called with each message Slack refused for good, after it is kept as a dead letter.
        self.on_dead: Callable[[OutboxItem, str], None] = lambda item, error: None
        self._wake = threading.Event()
        # One delivery pass at a time, or two passes could send the same message twice.
        self._pass = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._instance: str | None = None
        self._channel_ids: dict[str, str] = {}  # channel name -> id, learned from Slack
        # Sends Slack accepted that could not be recorded yet: never sent again meanwhile.
        self._unrecorded: dict[int, tuple[OutboxItem, Sent]] = {}
        self._write_problem: str | None = None
        self._slack_problem: str | None = None
        self._outage = False  # the last failure was Slack unreachable, failing or timing out

    # -- thread control --------------------------------------------------------------------

    def start(self) -> None:
        """Start working the outbox in a background thread."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="commsbot-outbox", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look at the outbox now (something was queued)."""
        self._wake.set()

    def stop(self, timeout: float = 60.0) -> bool:
        """Stop between messages; the one being sent finishes first. True once stopped."""
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

    # -- delivery --------------------------------------------------------------------------

    def deliver_due(self) -> float | None:
        """Send every message that is due, oldest first per channel.

        Returns the seconds until the next message falls due, or None if nothing waits.
        While the data directory cannot be written nothing is sent; each call checks
        whether it can be again.
        """
        with self._pass:
            if not self._bookkeeping_done():
                return self._idle
            return self._deliver_due()

    def _bookkeeping_done(self) -> bool:
        """Record what could not be recorded; False while the data directory refuses writes."""
        try:
            if self._write_problem is not None:
                self._store.check()
            for seq, (item, sent) in list(self._unrecorded.items()):
                self._store.mark_sent(
                    item, channel_id=sent.channel_id, ts=sent.ts, now=self._clock()
                )
                del self._unrecorded[seq]
            for item in self._store.unfinished_deliveries():
                assert item.sent is not None
                self._store.finish_delivery(
                    item, channel_id=item.sent["channel_id"], ts=item.sent["ts"], now=self._clock()
                )
        except (StorageError, OSError) as exc:
            self._cannot_write(exc)
            return False
        if self._write_problem is not None:
            logger.warning("the data directory can be written again; delivery resumes")
            self._write_problem = None
        return True

    def _cannot_write(self, exc: BaseException) -> None:
        if self._write_problem is None:
            logger.error(
                "cannot use the data directory (%s): delivery to Slack stops until it can",
                exc,
            )
        self._write_problem = str(exc)

    def _deliver_due(self) -> float | None:
        waiting: dict[str, datetime] = {}  # channel -> when its first message falls due
        failed_now: set[str] = set()  # channels whose message failed during this pass
        slack_back = False  # Slack answered in this pass: earlier backoffs are moot
        while not self._stopping.is_set():
            sent_any = False
            waiting = {}
            for item in self._store.outbox_heads():
                if self._stopping.is_set():
                    return None
                if self._write_problem is not None:
                    return self._idle
                if item.seq in self._unrecorded:
                    continue
                backing_off = item.next_attempt_at > self._clock()
                rate_limited = item.last_error == RATE_LIMITED
                if item.channel in failed_now or (backing_off and (rate_limited or not slack_back)):
                    waiting[item.channel] = item.next_attempt_at
                    continue
                outcome = self._attempt(item)
                if isinstance(outcome, Sent):
                    sent_any = slack_back = True
                    self._slack_problem, self._outage = None, False
                    self._record_sent(item, outcome)
                    continue
                failed_now.add(item.channel)
                retry_at = self._after_failure(item, outcome)
                if retry_at is None:
                    sent_any = True  # a dead letter no longer holds its channel back
                else:
                    waiting[item.channel] = retry_at
            if sent_any:
                continue
            if waiting and not slack_back and self._worth_probing(waiting):
                slack_back = True  # Slack is back: bring the backed-off channels forward
                continue
            break
        if not waiting:
            return None
        return max((min(waiting.values()) - self._clock()).total_seconds(), 0.0)

    def _worth_probing(self, waiting: Mapping[str, datetime]) -> bool:
        """After an outage, whether a cheap call shows Slack is back before backoff ends."""
        if not self._outage:
            return False
        if (min(waiting.values()) - self._clock()).total_seconds() <= self._idle:
            return False  # the next retry comes soon enough anyway
        try:
            self._client.api_test()
        except (SlackApiError, OSError):
            return False
        logger.warning("Slack answers again: retrying the messages that were waiting")
        return True

    def _attempt(self, item: OutboxItem) -> Sent | Failure:
        """Send one message, first looking for it in Slack if an earlier try timed out."""
        if item.uncertain:
            found = self._find_in_slack(item)
            if isinstance(found, Sent):
                logger.warning(
                    "message %s had reached %s although Slack did not answer in time; "
                    "not sending it again",
                    item.seq,
                    item.channel,
                )
                return found
            if isinstance(found, Failure):
                return found
        return self._send(item)

    def _metadata(self, item: OutboxItem) -> dict[str, Any]:
        if self._instance is None:
            self._instance = self._store.instance_id()
        return {
            "event_type": METADATA_EVENT_TYPE,
            "event_payload": {"outbox_id": f"{self._instance}:{item.seq}"},
        }

    def _send(self, item: OutboxItem) -> Sent | Failure:
        """Post one message; where it went, or what went wrong."""
        try:
            response = self._client.chat_postMessage(
                channel=item.channel,
                text=item.text,
                blocks=item.blocks,
                unfurl_links=False,
                metadata=self._metadata(item),
            )
        except SlackApiError as exc:
            return _failure(exc)
        except TimeoutError as exc:
            return Failure(f"timeout: {exc}", timed_out=True)
        except OSError as exc:  # connection refused or reset; a timeout inside urllib
            timed_out = isinstance(getattr(exc, "reason", None), TimeoutError)
            return Failure(f"connection: {exc}", timed_out=timed_out)
        sent = Sent(channel_id=str(response["channel"]), ts=str(response["ts"]))
        self._channel_ids[item.channel] = sent.channel_id
        return sent

    def _find_in_slack(self, item: OutboxItem) -> Sent | Failure | None:
        """The message in its channel's recent history if it is there; None if it is not
        (or Slack will not let us look); a Failure if Slack cannot be asked now."""
        channel_id = self._channel_id(item.channel)
        if channel_id is None:
            return None
        wanted = self._metadata(item)["event_payload"]["outbox_id"]
        since = item.queued_at or item.next_attempt_at
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
                    payload = (message.get("metadata") or {}).get("event_payload") or {}
                    if payload.get("outbox_id") == wanted:
                        return Sent(channel_id=channel_id, ts=str(message["ts"]))
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return None
        except SlackApiError as exc:
            failure = _failure(exc)
            if failure.permanent or exc.response.status_code == 200:
                return None  # e.g. missing_scope: sending again is the only way forward
            return replace(failure, timed_out=True)  # still not known whether Slack has it
        except OSError as exc:
            return Failure(f"connection: {exc}", timed_out=True)
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

    def _record_sent(self, item: OutboxItem, sent: Sent) -> None:
        """The bookkeeping after Slack accepted a message; a send is never repeated for it."""
        now = self._clock()
        try:
            self._store.mark_sent(item, channel_id=sent.channel_id, ts=sent.ts, now=now)
        except (StorageError, OSError) as exc:
            self._unrecorded[item.seq] = (item, sent)
            self._cannot_write(exc)
            return
        try:
            self._store.finish_delivery(item, channel_id=sent.channel_id, ts=sent.ts, now=now)
        except (StorageError, OSError) as exc:
            self._cannot_write(exc)

    def _after_failure(self, item: OutboxItem, failure: Failure) -> datetime | None:
        """Record a failed attempt; returns when to try again, or None for a dead letter."""
        now = self._clock()
        if not failure.permanent:
            self._slack_problem = f"Slack: {failure.error} (message {item.seq} to {item.channel})"
            self._outage = failure.retry_after is None
        try:
            return self._schedule_retry(item, failure, now=now)
        except (StorageError, OSError) as exc:
            self._cannot_write(exc)
            return now + timedelta(seconds=self._idle)

    def _schedule_retry(
        self, item: OutboxItem, failure: Failure, *, now: datetime
    ) -> datetime | None:
        if failure.permanent:
            logger.error(
                "Slack refused message %s for %s for good (%s); kept as a dead letter",
                item.seq,
                item.channel,
                failure.error,
            )
            self._store.mark_dead(item, error=failure.error, now=now)
            self.on_dead(item, failure.error)
            return None
        rate_limited = failure.retry_after is not None
        failures = item.failures + (0 if rate_limited else 1)
        delay = retry_delay(
            max(failures, 1),
            initial=self._initial,
            maximum=self._max,
            retry_after=failure.retry_after,
        )
        retry_at = now + timedelta(seconds=delay)
        log = logger.warning if failures < 3 else logger.error
        log(
            "delivery of message %s to %s failed (%s, attempt %d); retrying in %.1fs",
            item.seq,
            item.channel,
            failure.error,
            item.attempts + 1,
            delay,
        )
        self._store.mark_retry(
            item,
            error=failure.error,
            next_attempt_at=retry_at,
            now=now,
            counts_as_failure=not rate_limited,
            uncertain=failure.timed_out,
        )
        return retry_at


def _failure(exc: SlackApiError) -> Failure:
    """What a Slack error answer means for delivery."""
    status = exc.response.status_code
    error = str(exc.response.get("error") or f"HTTP {status}")
    retry_after = retry_after_seconds(exc.response.headers) if status == 429 else None
    if status == 429:
        error = RATE_LIMITED
    permanent = status == 200 and error in PERMANENT_ERRORS
    return Failure(error, retry_after=retry_after, permanent=permanent)
