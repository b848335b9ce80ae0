"""The outbox worker: delivers queued messages to Slack, in order per channel, retrying.

Nothing is dropped: transient failures are retried with backoff (HTTP 429 waits for
Retry-After); messages Slack refuses for good are kept as dead letters for a person to fix.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core.backoff import retry_delay
from bot.services import utcnow
from bot.slack.client import retry_after_seconds
from bot.storage import OutboxItem, Store

logger = logging.getLogger(__name__)

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

    def _run(self) -> None:
        while not self._stopping.is_set():
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
        """
        with self._pass:
            return self._deliver_due()

    def _deliver_due(self) -> float | None:
        waiting: dict[str, datetime] = {}  # channel -> when its first message falls due
        while not self._stopping.is_set():
            sent_any = False
            for item in self._store.outbox_heads():
                if self._stopping.is_set():
                    return None
                if item.channel in waiting:
                    continue
                if item.next_attempt_at > self._clock():
                    waiting[item.channel] = item.next_attempt_at
                    continue
                failure = self._send(item)
                if failure is None:
                    sent_any = True
                    continue
                retry_at = self._after_failure(item, failure)
                if retry_at is None:
                    sent_any = True  # a dead letter no longer holds its channel back
                else:
                    waiting[item.channel] = retry_at
            if not sent_any:
                break
        if not waiting:
            return None
        return max((min(waiting.values()) - self._clock()).total_seconds(), 0.0)

    def _send(self, item: OutboxItem) -> Failure | None:
        """Post one message; None on success, else what went wrong."""
        try:
            response = self._client.chat_postMessage(
                channel=item.channel, text=item.text, blocks=item.blocks, unfurl_links=False
            )
        except SlackApiError as exc:
            status = exc.response.status_code
            error = str(exc.response.get("error") or f"HTTP {status}")
            retry_after = retry_after_seconds(exc.response.headers) if status == 429 else None
            permanent = status == 200 and error in PERMANENT_ERRORS
            return Failure(error, retry_after=retry_after, permanent=permanent)
        except (OSError, TimeoutError) as exc:  # connection refused, reset, timed out
            return Failure(f"connection: {exc}")
        self._store.mark_delivered(
            item, channel_id=response["channel"], ts=response["ts"], now=self._clock()
        )
        return None

    def _after_failure(self, item: OutboxItem, failure: Failure) -> datetime | None:
        """Record a failed attempt; returns when to try again, or None for a dead letter."""
        error, retry_after, permanent = failure.error, failure.retry_after, failure.permanent
        now = self._clock()
        if permanent:
            logger.error(
                "Slack refused message %s for %s for good (%s); kept as a dead letter",
                item.seq,
                item.channel,
                error,
            )
            self._store.mark_dead(item, error=error, now=now)
            self.on_dead(item, error)
            return None
        delay = retry_delay(
            item.attempts + 1, initial=self._initial, maximum=self._max, retry_after=retry_after
        )
        retry_at = now + timedelta(seconds=delay)
        log = logger.warning if item.attempts < 3 else logger.error
        log(
            "delivery of message %s to %s failed (%s, attempt %d); retrying in %.1fs",
            item.seq,
            item.channel,
            error,
            item.attempts + 1,
            delay,
        )
        self._store.mark_retry(item, error=error, next_attempt_at=retry_at, now=now)
        return retry_at
