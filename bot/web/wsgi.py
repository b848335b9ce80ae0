"""The WSGI application: Slack at /slack/events, the intake webhook and the health check."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from bot.services import Services
from bot.storage import StorageError
from bot.web.intake import SIGNATURE_HEADER, handle_intake, signature_valid

logger = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_REASONS = {
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Content Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _json(start_response: Callable[..., Any], status: int, body: dict[str, Any]) -> list[bytes]:
    payload = json.dumps(body).encode("utf-8")
    start_response(
        f"{status} {_REASONS.get(status, '')}".strip(),
        [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
    )
    return [payload]


# A client sending a somewhat over-large body is read to the end and the bytes thrown away,
# so it gets the 413 answer rather than a broken connection; beyond this, it is cut off.
_DISCARD_LIMIT = 4 * 1024 * 1024
# Slack's own requests are small; anything larger at /slack/events is not from Slack.
SLACK_MAX_BODY = 1024 * 1024


def _discard(stream: Any, length: int) -> None:
    remaining = min(length, _DISCARD_LIMIT)
    while remaining > 0:
        chunk = stream.read(min(remaining, 64 * 1024))
        if not chunk:
            return
        remaining -= len(chunk)


class HealthSources:
    """What /healthz looks at besides storage: the outbox worker and the scheduler."""

    def __init__(
        self,
        *,
        outbox_running: Callable[[], bool],
        scheduler_running: Callable[[], bool],
    ) -> None:
        self.outbox_running = outbox_running
        self.scheduler_running = scheduler_running


def make_wsgi_app(
    services: Services,
    *,
    intake_secret: str,
    health: HealthSources,
    slack_handler: WSGIApp | None,
) -> WSGIApp:
    """The WSGI app; `slack_handler` is Bolt's (None in Socket Mode)."""
    max_body = services.config.desk.intake.max_body_bytes

    def intake(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length_header = environ.get("CONTENT_LENGTH") or ""
        if not length_header.isdigit():
            return _json(start_response, 411, {"error": "length_required"})
        length = int(length_header)
        if length > max_body:
            _discard(environ["wsgi.input"], length)
            return _json(
                start_response,
                413,
                {
                    "error": "too_large",
                    "message": f"body over {max_body} bytes; send smaller batches",
                },
            )
        raw = environ["wsgi.input"].read(length)
        signature = environ.get("HTTP_" + SIGNATURE_HEADER.upper().replace("-", "_"))
        if not signature_valid(raw, signature, intake_secret):
            return _json(start_response, 401, {"error": "invalid_signature"})
        result = handle_intake(services, raw)
        return _json(start_response, result.status, result.body)

    def healthz(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        checks: dict[str, Any] = {}
        healthy = True
        try:
            services.store.check()
            stats = services.store.outbox_stats(services.clock())
            checks["storage"] = "ok"
        except (StorageError, OSError, ValueError) as exc:
            checks["storage"] = f"error: {exc}"
            stats = None
            healthy = False
        for name, running in (
            ("outbox_worker", health.outbox_running()),
            ("scheduler", health.scheduler_running()),
        ):
            checks[name] = "running" if running else "stopped"
            healthy = healthy and running
        if stats is not None:
            checks["outbox"] = {
                "pending": stats.pending,
                "dead": stats.dead,
                "oldest_pending_seconds": stats.oldest_pending_seconds,
            }
        body = {"status": "ok" if healthy else "unhealthy"} | checks
        return _json(start_response, 200 if healthy else 503, body)

    routes: dict[str, tuple[str, WSGIApp]] = {
        "/intake": ("POST", intake),
        "/healthz": ("GET", healthz),
    }
    if slack_handler is not None:
        routes["/slack/events"] = ("POST", slack_handler)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        route = routes.get(path)
        if route is None:
            return _json(start_response, 404, {"error": "not_found"})
        method, handler = route
        if environ.get("REQUEST_METHOD") != method:
            return _json(start_response, 405, {"error": "method_not_allowed", "allowed": method})
        length = environ.get("CONTENT_LENGTH") or ""
        if path == "/slack/events" and length.isdigit() and int(length) > SLACK_MAX_BODY:
            _discard(environ["wsgi.input"], int(length))
            return _json(start_response, 413, {"error": "too_large"})
        try:
            return handler(environ, start_response)
        except Exception:
            logger.exception("unhandled error serving %s", path)
            return _json(start_response, 500, {"error": "internal_error"})

    return application
