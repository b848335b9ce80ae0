"""The WSGI application: Slack at /slack/events, the intake webhook and the health check."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from bot.services import Services
from bot.slack.verify import header, rate_limited_notice, shape_rejection, signature_rejection
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


# Slack's own requests are small; anything larger at /slack/events is not from Slack.
SLACK_MAX_BODY = 1024 * 1024


def _read_body(environ: dict[str, Any]) -> bytes:
    """The whole request body (the server has already read it and checked its framing)."""
    length = environ.get("CONTENT_LENGTH") or ""
    if not length.isdigit():
        return b""
    body: bytes = environ["wsgi.input"].read(int(length))
    return body


def refuse(
    start_response: Callable[..., Any],
    environ: dict[str, Any],
    *,
    status: int,
    error: str,
    reason: str,
    size: int,
    extra: dict[str, Any] | None = None,
) -> list[bytes]:
    """Answer a refused request and log it as one short line, never with its body."""
    logger.warning(
        "refused %s %s: %d %s (%d bytes)",
        environ.get("REQUEST_METHOD", "?"),
        environ.get("PATH_INFO", "?"),
        status,
        reason,
        size,
    )
    return _json(start_response, status, {"error": error, "message": reason} | (extra or {}))


class HealthSources:
    """What /healthz looks at besides storage: the outbox worker and the scheduler."""

    def __init__(
        self,
        *,
        outbox_running: Callable[[], bool],
        scheduler_running: Callable[[], bool],
        delivery_problem: Callable[[], str | None] = lambda: None,
        delivery_stopped: Callable[[], bool] = lambda: False,
        slack_unreachable_seconds: Callable[[], float | None] = lambda: None,
        unhealthy_after_seconds: float = 300.0,
    ) -> None:
        self.outbox_running = outbox_running
        self.scheduler_running = scheduler_running
        self.delivery_problem = delivery_problem
        self.delivery_stopped = delivery_stopped
        self.slack_unreachable_seconds = slack_unreachable_seconds
        self.unhealthy_after_seconds = unhealthy_after_seconds


def make_wsgi_app(
    services: Services,
    *,
    intake_secret: str,
    health: HealthSources,
    slack_handler: WSGIApp | None,
    slack_signing_secret: str | None = None,
    wall_clock: Callable[[], float] = time.time,
) -> WSGIApp:
    """The WSGI app; `slack_handler` is Bolt's (None in Socket Mode).

    A request for Slack reaches Bolt only once its signature (checked with
    `slack_signing_secret` against `wall_clock`) and the shape of its body are right.
    """
    max_body = services.config.desk.intake.max_body_bytes

    def intake(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length_header = environ.get("CONTENT_LENGTH") or ""
        if not length_header.isdigit():
            return refuse(
                start_response,
                environ,
                status=411,
                error="length_required",
                reason="send the body with a Content-Length or chunked",
                size=0,
            )
        length = int(length_header)
        if length > max_body:
            return refuse(
                start_response,
                environ,
                status=413,
                error="too_large",
                reason=f"body over {max_body} bytes; send smaller batches",
                size=length,
            )
        raw = _read_body(environ)
        if not signature_valid(raw, header(environ, SIGNATURE_HEADER), intake_secret):
            return refuse(
                start_response,
                environ,
                status=401,
                error="invalid_signature",
                reason=f"missing or wrong {SIGNATURE_HEADER}",
                size=len(raw),
            )
        result = handle_intake(services, raw)
        if result.status >= 400:
            logger.warning(
                "refused POST /intake: %d %s (%d bytes)",
                result.status,
                result.body.get("message") or result.body.get("error"),
                len(raw),
            )
        return _json(start_response, result.status, result.body)

    def slack(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        assert slack_handler is not None and slack_signing_secret is not None
        length = environ.get("CONTENT_LENGTH") or ""
        if length.isdigit() and int(length) > SLACK_MAX_BODY:
            return refuse(
                start_response,
                environ,
                status=413,
                error="too_large",
                reason=f"body over {SLACK_MAX_BODY} bytes",
                size=int(length),
            )
        raw = _read_body(environ)
        rejection = signature_rejection(
            raw,
            timestamp=header(environ, "X-Slack-Request-Timestamp"),
            signature=header(environ, "X-Slack-Signature"),
            secret=slack_signing_secret,
            now=wall_clock(),
        ) or shape_rejection(raw, content_type=environ.get("CONTENT_TYPE") or "")
        if rejection is not None:
            error = "invalid_signature" if rejection.status == 401 else "invalid_body"
            return refuse(
                start_response,
                environ,
                status=rejection.status,
                error=error,
                reason=rejection.reason,
                size=len(raw),
            )
        if rate_limited_notice(raw):
            logger.warning("Slack is dropping events: it says commsbot answered too slowly")
            return _json(start_response, 200, {})
        environ = environ | {"wsgi.input": io.BytesIO(raw), "CONTENT_LENGTH": str(len(raw))}
        return slack_handler(environ, start_response)

    def healthz(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        checks: dict[str, Any] = {}
        reasons: list[str] = []
        limit = health.unhealthy_after_seconds
        try:
            services.store.check()
            checks["storage"] = "ok"
        except (StorageError, OSError, ValueError) as exc:
            checks["storage"] = f"error: {exc}"
            reasons.append("the data directory cannot be used")
        # Counts kept as running totals: nothing here waits for the store's lock.
        stats = services.store.outbox_stats(services.clock())
        delivery = health.delivery_problem()
        checks["delivery"] = delivery or "ok"
        if health.delivery_stopped():
            reasons.append("delivery stopped: the data directory cannot be written")
        unreachable = health.slack_unreachable_seconds()
        if unreachable is not None and unreachable > limit:
            reasons.append(f"Slack unreachable or failing for {unreachable:.0f}s")
        oldest = stats.oldest_pending_seconds
        if oldest is not None and oldest > limit:
            reasons.append(f"a change has waited {oldest:.0f}s to reach Slack")
        problems = services.store.problems()
        if problems:
            checks["data_problems"] = problems
            reasons.append("damaged data files were found")
        for name, running in (
            ("outbox_worker", health.outbox_running()),
            ("scheduler", health.scheduler_running()),
        ):
            checks[name] = "running" if running else "stopped"
            if not running:
                reasons.append(f"the {name.replace('_', ' ')} is stopped")
        checks["outbox"] = {
            "pending": stats.pending,
            "dead": stats.dead,
            "oldest_pending_seconds": oldest,
            "open_themes": stats.open_themes,
            "unhealthy_after_seconds": limit,
        }
        if stats.dead:
            checks["outbox"]["dead_letters"] = services.store.dead_letters()[:20]
        healthy = not reasons
        body = {"status": "ok" if healthy else "unhealthy"} | checks
        if reasons:
            body["reasons"] = reasons
        return _json(start_response, 200 if healthy else 503, body)

    routes: dict[str, tuple[str, WSGIApp]] = {
        "/intake": ("POST", intake),
        "/healthz": ("GET", healthz),
    }
    if slack_handler is not None:
        routes["/slack/events"] = ("POST", slack)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        route = routes.get(path)
        if route is None:
            return _json(start_response, 404, {"error": "not_found"})
        method, handler = route
        if environ.get("REQUEST_METHOD") != method:
            return _json(start_response, 405, {"error": "method_not_allowed", "allowed": method})
        try:
            return handler(environ, start_response)
        except Exception:
            logger.exception("unhandled error serving %s", path)
            return _json(start_response, 500, {"error": "internal_error"})

    return application
