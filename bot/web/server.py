"""Serves the WSGI app with waitress, which reads each whole request before a worker sees it.

Connections are read by one event loop: a client that sends its headers or body slowly, or
promises more body than it sends, holds a socket and a little memory but never a worker
thread, so Slack's requests and intake are answered however many slow clients are connected.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any, cast

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError
from waitress.server import create_server

from bot.web.wsgi import WSGIApp

logger = logging.getLogger(__name__)

# Idle connections (no request in progress) are closed after this long; a client that
# stalls half-way through a request is dropped too.
CHANNEL_TIMEOUT_SECONDS = 30
CONNECTION_LIMIT = 1000
_DISCARD_BYTES = 4 * 1024 * 1024


class _StrictParser(HTTPRequestParser):
    """waitress's parser, refusing a body framed two ways (a request smuggling vector) and a
    Content-Length of more digits than Python turns into a number (400, not a dropped
    connection with an error logged)."""

    def parse_header(self, header_plus: bytes) -> None:
        try:
            super().parse_header(header_plus)
        except ValueError:
            raise ParsingError("malformed request header") from None
        if self.chunked and "CONTENT_LENGTH" in self.headers:
            raise ParsingError("both Transfer-Encoding and Content-Length")


class _StrictChannel(HTTPChannel):
    parser_class = _StrictParser


class HttpServer:
    """A waitress server; `stop()` stops accepting and lets requests in flight finish."""

    def __init__(
        self,
        app: WSGIApp,
        *,
        host: str,
        port: int,
        max_body_bytes: int,
        threads: int = 8,
        shutdown_timeout: float = 10,
    ) -> None:
        # Any: waitress's stubs leave out the parts of the server used here (its socket map,
        # bound address, channels and trigger).
        self._server: Any = cast(Any, create_server)(
            app,
            host=host,
            port=port,
            threads=threads,
            ident="commsbot",
            # A body somewhat over the limit is read and answered 413 by the app (a client
            # that is cut off mid-upload never sees the answer); a far larger one is cut off.
            max_request_body_size=max_body_bytes + _DISCARD_BYTES,
            channel_timeout=CHANNEL_TIMEOUT_SECONDS,
            connection_limit=CONNECTION_LIMIT,
            asyncore_use_poll=True,
            expose_tracebacks=False,
            clear_untrusted_proxy_headers=True,
        )
        self._server.channel_class = _StrictChannel
        self._shutdown_timeout = shutdown_timeout
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Serve in a background thread (the port is bound already)."""
        self._thread = threading.Thread(target=self._serve, name="commsbot-http", daemon=True)
        self._thread.start()
        logger.info("listening on http://%s:%d", *self.address)

    def _serve(self) -> None:
        socket_map: dict[int, Any] = self._server._map
        while not self._closing.is_set():
            wasyncore.loop(timeout=0.5, use_poll=True, map=socket_map, count=1)
        wasyncore.close_all(socket_map)

    def _close_listener(self) -> None:
        """Stop accepting connections (run in the loop's thread; open ones carry on)."""
        wasyncore.dispatcher.close(self._server)

    @property
    def address(self) -> tuple[str, int]:
        """The host and port actually bound (useful when asked for port 0)."""
        return str(self._server.effective_host), int(self._server.effective_port)

    def _in_flight(self) -> int:
        """Requests read in full and not yet answered, on every connection."""
        channels = list(self._server.active_channels.values())
        return sum(bool(channel.requests or channel.total_outbufs_len) for channel in channels)

    def stop(self) -> None:
        """Stop accepting connections, wait for requests in flight, then close everything."""
        if self._thread is None:
            self._server.close()
            return
        # Thunks given to the trigger run in the loop's own thread, which alone touches sockets.
        self._server.trigger.pull_trigger(self._close_listener)
        deadline = time.monotonic() + self._shutdown_timeout
        while self._in_flight() and time.monotonic() < deadline:
            time.sleep(0.02)
        if self._in_flight():
            logger.warning("%d request(s) still in flight at shutdown", self._in_flight())
        # Workers finish the request they hold (and wake the loop to send it) before the
        # loop closes the connections.
        self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
        # The loop checks this at least every half second; the trigger only wakes it sooner,
        # and may already be closed if the loop ended (its wake-up is then not needed).
        self._closing.set()
        self._wake()
        self._thread.join(timeout=15)
        self._thread = None

    def _wake(self) -> None:
        """Wake the loop now rather than at its next poll timeout."""
        # OSError: the loop has closed its sockets, the trigger's among them: nothing to wake.
        with contextlib.suppress(OSError):
            self._server.trigger.pull_trigger()
