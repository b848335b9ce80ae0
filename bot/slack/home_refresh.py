"""A background thread that publishes App Homes again after changes (see `bot.home`)."""

from __future__ import annotations

import logging
import threading

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.services import Services
from bot.slack.listeners.clocks import refresh_homes

logger = logging.getLogger(__name__)


class HomeRefresher:
    """Every `interval` seconds, publish the Homes out of date (debounced per person)."""

    def __init__(self, services: Services, client: WebClient, *, interval: float = 2.0) -> None:
        self._services = services
        self._client = client
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread."""
        self._thread = threading.Thread(target=self._run, name="commsbot-home", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                refresh_homes(self._services, self._client)
            except SlackApiError as exc:
                # The next change publishes again; a Home left stale is refreshed when opened.
                logger.warning("could not publish an App Home: %s", exc.response.get("error"))
