"""Serves the WSGI app with cheroot: a threaded, production-grade HTTP server."""

from __future__ import annotations

import logging
import threading

from cheroot import wsgi

from bot.web.wsgi import WSGIApp

logger = logging.getLogger(__name__)


class HttpServer:
    """A cheroot server; `stop()` stops accepting and lets requests in flight finish."""

    def __init__(
        self, app: WSGIApp, *, host: str, port: int, threads: int = 8, shutdown_timeout: float = 10
    ) -> None:
        self._server = wsgi.Server(
            (host, port),
            app,
            numthreads=threads,
            server_name="commsbot",
            shutdown_timeout=shutdown_timeout,
        )
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind the port and serve in a background thread."""
        self._server.prepare()
        self._thread = threading.Thread(
            target=self._server.serve, name="commsbot-http", daemon=True
        )
        self._thread.start()
        logger.info("listening on http://%s:%d", *self.address)

    @property
    def address(self) -> tuple[str, int]:
        """The host and port actually bound (useful when asked for port 0)."""
        host, port = self._server.bind_addr[:2]
        return host, port

    def stop(self) -> None:
        """Stop accepting connections and wait for requests in flight."""
        self._server.stop()
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None
