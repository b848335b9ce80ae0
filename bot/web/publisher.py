"""The webhook publisher: approved replies POSTed, signed, to the team's social media platform.

Each approved version is one delivery (`publish/<suggestion>.<version>.json`), sent by this
worker with retries and backoff. The request:

- body: JSON `{suggestion, version, theme, account, network, text, approved_by}`;
- `X-Commsbot-Timestamp`: Unix seconds when signed; the platform should refuse old ones;
- `X-Commsbot-Signature`: `sha256=<hex HMAC-SHA256 of "<timestamp>." + body>` with the
  secret in the environment variable `secret_env` names (as the intake signs, plus the
  timestamp against replay);
- `Idempotency-Key`: `<suggestion id>.<version>`: the same for every attempt.

Guarantee: one approval is POSTed once, unless the platform did not answer (timeout, lost
connection, 429, 5xx) or the process stopped between sending and recording the answer; then
it is sent again with the same Idempotency-Key, so a platform that honours the key
publishes it once. A 4xx other than 429 is a permanent failure, reported in the thread.

THE INVARIANT: before every attempt the worker asks the reply desk whether exactly this text
may be published now (`ReplyDesk.publishable`); if not, nothing is sent and the delivery is
withheld (audited).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.core.approval import text_hash
from bot.core.backoff import retry_delay
from bot.replies_desk import ReplyDesk
from bot.services import utcnow

logger = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-Commsbot-Timestamp"
SIGNATURE_HEADER = "X-Commsbot-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
_ANSWER_CHARS = 2000


def signature(body: bytes, *, timestamp: str, secret: str) -> str:
    """`sha256=<hex HMAC-SHA256 of "<timestamp>." + body>`."""
    message = timestamp.encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


# (url, body, headers, timeout) -> (status, answer text); raises OSError without an answer.
Poster = Callable[[str, bytes, Mapping[str, str], float], tuple[int, str]]


def http_post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> tuple[int, str]:
    """POST with urllib; the status and (start of the) answer, whatever the status."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(_ANSWER_CHARS).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read(_ANSWER_CHARS).decode("utf-8", "replace")


class PublisherWorker:
    """A background thread delivering approved replies to webhook publishers."""

    def __init__(
        self,
        *,
        replies: ReplyDesk,
        environ: Mapping[str, str],
        clock: Callable[[], datetime] = utcnow,
        post: Poster = http_post,
        backoff_initial: float = 2.0,
        backoff_max: float = 300.0,
        idle_seconds: float = 5.0,
    ) -> None:
        self._replies = replies
        self._environ = environ
        self._clock = clock
        self._post = post
        self._initial = backoff_initial
        self._max = backoff_max
        self._idle = idle_seconds
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._pass = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start delivering in the background."""
        self._thread = threading.Thread(target=self._run, name="commsbot-publisher", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look for work now."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the delivery in flight."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self.deliver_due()
            self._wake.wait(self._pause())
            self._wake.clear()

    def _pause(self) -> float:
        """Seconds until the next retry is due, at most the idle time."""
        now = self._clock()
        due = [
            datetime.fromisoformat(d["next_attempt_at"])
            for d in self._replies.store.deliveries()
            if d.get("state") in ("waiting", "sending")
        ]
        if not due:
            return self._idle
        return max(0.0, min(self._idle, (min(due) - now).total_seconds()))

    def deliver_due(self) -> int:
        """Attempt every delivery that is due; how many attempts were made."""
        with self._pass:
            store = self._replies.store
            made = 0
            for delivery in store.deliveries():
                if delivery.get("state") not in ("waiting", "sending"):
                    continue
                if datetime.fromisoformat(delivery["next_attempt_at"]) > self._clock():
                    continue
                self._attempt(delivery)
                made += 1
            return made

    def _withhold(self, delivery: dict[str, Any], why: str) -> None:
        now = self._clock()
        store = self._replies.store
        store.save_delivery(delivery | {"state": "withheld", "last_error": why})
        store.record_audit(
            "suggestion.publish_withheld",
            now=now,
            suggestion=delivery["suggestion"],
            theme=delivery.get("theme"),
            version=delivery["version"],
            why=why,
        )
        logger.error("withheld reply %s from the publisher: %s", delivery["key"], why)

    def _attempt(self, delivery: dict[str, Any]) -> None:
        replies, store = self._replies, self._replies.store
        record = store.suggestion(str(delivery["suggestion"]))
        allowed = replies.publishable(record) if record is not None else None
        if (
            allowed is None
            or allowed.version != delivery["version"]
            or allowed.hash != delivery["hash"]
            or text_hash(str(delivery["text"])) != allowed.hash
        ):
            self._withhold(delivery, "no recorded approval of exactly this text")
            return
        account = replies.config.desk.accounts[record.account]  # type: ignore[union-attr]
        publisher = account.publisher
        if publisher.kind != "webhook":
            self._withhold(delivery, "the account's publisher is no longer a webhook")
            return
        secret = self._environ.get(publisher.secret_env)
        if not secret:
            self._fail(delivery, f"{publisher.secret_env} is not set", permanent=True)
            return
        body = json.dumps(
            {
                "suggestion": allowed.suggestion,
                "version": allowed.version,
                "theme": delivery.get("theme"),
                "account": delivery.get("account"),
                "network": delivery.get("network"),
                "text": allowed.text,
                "approved_by": list(allowed.approved_by),
            },
            ensure_ascii=False,
        ).encode("utf-8")
        stamp = str(int(self._clock().timestamp()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: signature(body, timestamp=stamp, secret=secret),
            IDEMPOTENCY_HEADER: str(delivery["key"]),
        }
        attempts = int(delivery.get("attempts", 0)) + 1
        delivery = delivery | {"state": "sending", "attempts": attempts}
        store.save_delivery(delivery)  # a crash from here resends with the same key
        try:
            status, answer = self._post(publisher.url, body, headers, publisher.timeout_seconds)
        except OSError as exc:  # no answer: refused, reset, timed out
            self._retry(delivery, f"no answer: {exc}", max_attempts=publisher.max_attempts)
            return
        if 200 <= status < 300:
            replies.delivered(str(delivery["key"]), status=status, answer=answer, now=self._clock())
        elif status == 429 or status >= 500:
            self._retry(
                delivery, f"HTTP {status}: {answer[:200]}", max_attempts=publisher.max_attempts
            )
        else:
            self._fail(delivery, f"HTTP {status}: {answer[:200]}", permanent=True)

    def _retry(self, delivery: dict[str, Any], error: str, *, max_attempts: int) -> None:
        attempts = int(delivery["attempts"])
        if attempts >= max_attempts:
            self._fail(delivery, f"gave up after {attempts} attempts: {error}", permanent=True)
            return
        delay = retry_delay(attempts, initial=self._initial, maximum=self._max)
        now = self._clock()
        self._replies.store.save_delivery(
            delivery
            | {
                "state": "waiting",
                "last_error": error,
                "next_attempt_at": (now + timedelta(seconds=delay)).isoformat(),
            }
        )
        self._replies.delivery_failed(str(delivery["key"]), error=error, permanent=False, now=now)
        logger.warning("publisher: %s (attempt %d); retrying in %.1fs", error, attempts, delay)

    def _fail(self, delivery: dict[str, Any], error: str, *, permanent: bool) -> None:
        self._replies.store.save_delivery(delivery | {"state": "failed", "last_error": error})
        self._replies.delivery_failed(
            str(delivery["key"]), error=error, permanent=permanent, now=self._clock()
        )
        logger.error("publisher refused reply %s for good: %s", delivery["key"], error)
