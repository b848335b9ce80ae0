"""The WSGI application: Slack at /slack/events, the intake webhook and the health check."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from bot.intake import Item
from bot.services import Services
from bot.slack.verify import header, rate_limited_notice, shape_rejection, signature_rejection
from bot.sources.credentials import SourceSecrets
from bot.sources.mapping import source_items
from bot.storage import StorageError
from bot.web import sources
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


def _signature_refusal(raw: bytes, *, environ: dict[str, Any], secret: str) -> str | None:
    """Why a POST /intake body is refused (its signature is missing or wrong), or None."""
    if signature_valid(raw, header(environ, SIGNATURE_HEADER), secret):
        return None
    return f"missing or wrong {SIGNATURE_HEADER}"


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
    source_secrets: SourceSecrets | None = None,
) -> WSGIApp:
    """The WSGI app; `slack_handler` is Bolt's (None in Socket Mode).

    A request for Slack reaches Bolt only once its signature (checked with
    `slack_signing_secret` against `wall_clock`) and the shape of its body are right.
    `source_secrets` are the secrets of the intake sources in sources.yaml.
    """
    max_body = services.config.desk.intake.max_body_bytes
    secrets = source_secrets or SourceSecrets()

    def take_intake(
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        *,
        refusal: Callable[[bytes], str | None],
        parse: Callable[[bytes], list[Item]] | None = None,
    ) -> list[bytes]:
        """Check the size and origin of an intake body, then take its posts."""
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
        refused = refusal(raw)
        if refused is not None:
            return refuse(
                start_response,
                environ,
                status=401,
                error="invalid_signature",
                reason=refused,
                size=len(raw),
            )
        result = handle_intake(services, raw, parse=parse)
        if result.status >= 400:
            logger.warning(
                "refused POST %s: %d %s (%d bytes)",
                environ.get("PATH_INFO", "/intake"),
                result.status,
                result.body.get("message") or result.body.get("error"),
                len(raw),
            )
        return _json(start_response, result.status, result.body)

    def intake(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        return take_intake(
            environ,
            start_response,
            refusal=partial(_signature_refusal, environ=environ, secret=intake_secret),
        )

    def source_intake(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        name = sources.source_name(environ.get("PATH_INFO", ""))
        source = services.config.sources.sources.get(name)
        if source is None:
            return _json(
                start_response,
                404,
                {
                    "error": "unknown_source",
                    "message": f"no intake source {name!r} in sources.yaml",
                },
            )
        secret = secrets.secrets.get(name)
        if secret is None:
            return refuse(
                start_response,
                environ,
                status=503,
                error="source_off",
                reason=f"intake source {name!r} is off: its secret "
                f"({source.auth.secret_env}) is not set where commsbot runs",
                size=0,
            )
        desk = services.config.desk
        return take_intake(
            environ,
            start_response,
            refusal=partial(sources.refusal, source=source, secret=secret, environ=environ),
            parse=partial(
                source_items,
                source=source,
                accounts=desk.networks_by_account(),
                max_text_chars=desk.intake.max_text_chars,
                max_items=desk.intake.max_items,
            ),
        )

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
        if route is None and path.startswith(sources.PREFIX):
            route = ("POST", source_intake)
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
