"""Builds the Bolt app: middleware common to all listeners, the listeners, the error handler."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import Executor

from slack_bolt import App, BoltResponse
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient

from bot.core.errors import DeskError
from bot.core.staff import ActionRefused
from bot.services import Services
from bot.slack.authorize import BotTokenAuthorizer
from bot.slack.listeners import (
    actions,
    clocks,
    commands,
    events,
    intake,
    reactions,
    replies,
    views,
)
from bot.slack.staff_views import StaffViews

logger = logging.getLogger(__name__)


def build_app(
    services: Services,
    *,
    client: WebClient,
    signing_secret: str | None,
    authorizer: BotTokenAuthorizer | None = None,
    listener_executor: Executor | None = None,
) -> App:
    """The Bolt app for commsbot, talking to Slack only through `client`'s settings."""
    # With `authorize`, Bolt gives each request a copy of this client carrying the token the
    # authorizer returns; the template itself holds no token.
    template = WebClient(
        base_url=client.base_url, timeout=client.timeout, retry_handlers=client.retry_handlers
    )
    app = App(
        client=template,
        authorize=(authorizer or BotTokenAuthorizer(client)).as_bolt_authorize(),
        # Socket Mode has no request signatures; Bolt still wants a value.
        signing_secret=signing_secret or "socket-mode-has-no-signing-secret",
        request_verification_enabled=signing_secret is not None,
        logger=_bolt_logger(),
        listener_executor=listener_executor,
    )
    app.middleware(_handle_each_event_once(services))
    commands.register(app, services)
    reactions.register(app, services)
    actions.register(app, services)
    views.register(app, services)
    clocks.register(app, services)
    intake.register(app, services)
    replies.register(app, services)
    events.register(app, services)  # last: its catch-all must not hide another listener
    app.error(_error_handler(services))
    return app


class _DropTokenFromEnvironmentWarning(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment itself and then warns that the client
    we pass wins; that is intended here (the authorizer supplies the token), so the warning
    would only confuse whoever reads the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


class _NoRequestBodies(logging.Filter):
    """Bolt puts (filtered) request bodies in its "unhandled request" warning: posts from the
    public must not reach the logs, so only the fact is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith("Unhandled request"):
            record.msg, record.args = (
                "Unhandled request: no listener for it (body not logged)",
                None,
            )
        return True


def _bolt_logger() -> logging.Logger:
    bolt_logger = logging.getLogger("bot.slack.bolt")
    # Bolt logs request bodies at DEBUG (e.g. a request whose signature failed): never shown.
    bolt_logger.setLevel(logging.INFO)
    for kind in (_DropTokenFromEnvironmentWarning, _NoRequestBodies):
        if not any(isinstance(f, kind) for f in bolt_logger.filters):
            bolt_logger.addFilter(kind())
    return bolt_logger


def _handle_each_event_once(services: Services) -> Callable[..., BoltResponse | None]:
    """Middleware: Slack retries events it thinks were missed; act on each event_id once."""

    def handle_each_event_once(body: dict, next: Callable[[], None]) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        # Recorded as handled only when its listener finishes (`event_handled`); while it
        # is at work, a retry is ignored; if it fails, a retry is processed.
        if event_id and not services.store.begin_event(event_id, now=services.clock()):
            logger.info("event %s handled or being handled; ignoring Slack's retry", event_id)
            return BoltResponse(status=200, body="")
        next()
        return None

    return handle_each_event_once


def _first_input(view: dict) -> str | None:
    """The block id of a modal's first input (where a problem with no field is shown)."""
    for block in view.get("blocks") or ():
        if isinstance(block, dict) and block.get("type") == "input" and block.get("block_id"):
            return str(block["block_id"])
    return None


def _error_handler(services: Services) -> Callable[..., BoltResponse | None]:
    """The one error handler: domain errors become a polite private reply; anything
    unexpected is logged in full and the person is told it failed."""

    def handle_error(
        error: Exception, request: BoltRequest, response: BoltResponse | None
    ) -> BoltResponse | None:
        if isinstance(error, ActionRefused):
            text = StaffViews(services.renderer).refused(error)
        elif isinstance(error, DeskError):
            text = str(error)
        else:
            logger.error("listener failed", exc_info=(type(error), error, error.__traceback__))
            text = services.renderer.render("slack/sorry.j2")
        payload = request.body if isinstance(request.body, dict) else {}
        event_id = payload.get("event_id") if payload.get("type") == "event_callback" else None
        if isinstance(event_id, str) and event_id:
            services.store.abandon_event(event_id)
        if payload.get("type") == "view_submission" and response is not None:
            # The modal is still open: show the problem on the field it is about.
            field = getattr(error, "field", None) or _first_input(payload.get("view") or {})
            if field is not None:
                errors = {"response_action": "errors", "errors": {field: text[:2000]}}
                return BoltResponse(
                    status=200,
                    body=json.dumps(errors),
                    headers={"content-type": "application/json"},
                )
        if payload.get("type") in ("block_actions", "message_action", "shortcut"):
            # Slack shows nothing of the answer to a click: reply privately via response_url.
            respond = request.context.respond
            if respond is not None:
                respond(text=text, response_type="ephemeral", replace_original=False)
            return None if response is None else BoltResponse(status=200, body="")
        if response is None:  # already acknowledged: nobody is waiting for a reply
            return None
        body = json.dumps({"response_type": "ephemeral", "text": text})
        return BoltResponse(status=200, body=body, headers={"content-type": "application/json"})

    return handle_error
