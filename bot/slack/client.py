"""Web API clients: the only place commsbot constructs slack_sdk's WebClient."""

from __future__ import annotations

from collections.abc import Mapping

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

# A listener waits out a short rate limit; a longer one fails the call rather than hold a
# Bolt worker thread (the durable outbox is where long waits belong).
LISTENER_MAX_RETRY_AFTER_SECONDS = 5


def retry_after_seconds(headers: Mapping[str, list[str] | str]) -> float | None:
    """The Retry-After header of a response in seconds, or None if absent or unreadable."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(float(raw), 0.0)
            except (TypeError, ValueError):
                return None
    return None


class ShortRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack_sdk's rate-limit retry, only when Slack asks for a short wait."""

    def __init__(self, *, max_retry_count: int = 2, max_wait: float) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        assert response is not None
        wait = retry_after_seconds(response.headers)
        return wait is not None and wait <= self.max_wait


def listener_client(*, token: str, base_url: str | None, timeout: int = 10) -> WebClient:
    """The client Bolt's listeners use: retries connection errors, 5xx and short rate limits."""
    handlers: list[RetryHandler] = [
        ConnectionErrorRetryHandler(max_retry_count=2),
        ServerErrorRetryHandler(max_retry_count=1),
        ShortRateLimitRetryHandler(max_wait=LISTENER_MAX_RETRY_AFTER_SECONDS),
    ]
    return _client(token=token, base_url=base_url, timeout=timeout, retry_handlers=handlers)


def outbox_client(*, token: str, base_url: str | None, timeout: float = 30) -> WebClient:
    """The outbox's client: one connection retry; the outbox keeps its own durable schedule.

    A long timeout: a slow answer is better than not knowing whether Slack took a message.
    """
    handlers: list[RetryHandler] = [ConnectionErrorRetryHandler(max_retry_count=1)]
    return _client(token=token, base_url=base_url, timeout=timeout, retry_handlers=handlers)


def _client(
    *, token: str, base_url: str | None, timeout: float, retry_handlers: list[RetryHandler]
) -> WebClient:
    return WebClient(
        token=token,
        base_url=base_url or WebClient.BASE_URL,
        timeout=timeout,  # type: ignore[arg-type]  # urllib takes fractions of a second
        retry_handlers=retry_handlers,
    )
