"""Assembles the running bot from its settings and starts and stops it cleanly."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import DeskConfig, load_config
from bot.config.sources_model import SourcesFile
from bot.core.templating import TemplateRenderer
from bot.desk import Desk
from bot.logs import redact_too
from bot.replies_desk import ReplyDesk
from bot.scheduling.scheduler import Scheduler
from bot.services import Services, utcnow
from bot.settings import SHARE_DIR, Settings, SettingsError
from bot.slack.app import build_app
from bot.slack.authorize import BotTokenAuthorizer
from bot.slack.client import listener_client, outbox_client
from bot.slack.clock_messages import TEMPLATES as CLOCK_TEMPLATES
from bot.slack.home_refresh import HomeRefresher
from bot.slack.messages import TEMPLATES
from bot.slack.outbox import OutboxWorker, Pacing
from bot.slack.people import PeopleResolver
from bot.slack.suggestion_messages import TEMPLATES as SUGGESTION_TEMPLATES
from bot.slack.suggestion_messages import SuggestionMessages
from bot.slack.theme_messages import Presentation, ThemeMessages
from bot.sources.credentials import SourceSecrets, off_warnings, source_secrets
from bot.storage import Store
from bot.web.publisher import PublisherWorker
from bot.web.server import HttpServer
from bot.web.wsgi import SLACK_MAX_BODY, HealthSources, make_wsgi_app

logger = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


class StartupError(Exception):
    """The bot cannot start; the message says what to fix."""


def find_templates_dir() -> Path:
    """templates/ of the checkout commsbot runs from, else of the install, else of the cwd."""
    candidates = (TEMPLATES_DIR, SHARE_DIR / "templates", Path.cwd() / "templates")
    for candidate in candidates:
        if (candidate / "slack").is_dir():
            return candidate
    raise StartupError("no templates/ directory in any of " + ", ".join(str(c) for c in candidates))


def load_templates(directory: Path) -> TemplateRenderer:
    """A renderer for `directory`, having checked every template the bot uses."""
    renderer = TemplateRenderer(directory)
    problems = renderer.problems((*TEMPLATES, *CLOCK_TEMPLATES, *SUGGESTION_TEMPLATES))
    if problems:
        raise StartupError("template problems:\n  " + "\n  ".join(problems))
    return renderer


@dataclass
class Runtime:
    """The running parts of one commsbot process."""

    settings: Settings
    services: Services
    app: App
    outbox: OutboxWorker
    scheduler: Scheduler
    http: HttpServer
    listeners: ThreadPoolExecutor
    homes: HomeRefresher
    socket_mode: SocketModeHandler | None = None
    publisher: PublisherWorker | None = None  # webhook deliveries of approved replies
    _stopped: bool = False

    @property
    def base_url(self) -> str:
        """Where the HTTP server listens, e.g. http://127.0.0.1:3000."""
        host, port = self.http.address
        return f"http://{host}:{port}"

    def start(self) -> None:
        """Start serving HTTP, delivering from the outbox and running scheduled jobs."""
        self.outbox.start()
        if self.publisher is not None:
            self.publisher.start()
        self.scheduler.start()
        self.homes.start()
        self.http.start()
        if self.socket_mode is not None:
            try:
                self.socket_mode.connect()
            except (SlackApiError, OSError) as exc:
                raise StartupError(
                    f"cannot open Socket Mode with SLACK_APP_TOKEN ({_slack_error(exc)})"
                ) from None
            logger.info("connected to Slack over Socket Mode")
        config = self.services.config
        for warning in config.warnings:
            logger.warning("%s", warning)
        logger.info(
            "commsbot is serving %d account(s) (%s) with %d rules; Slack over %s; data in %s",
            len(config.desk.accounts),
            ", ".join(config.desk.accounts),
            len(config.classifier.rules),
            "Socket Mode"
            if self.socket_mode is not None
            else f"HTTP at {self.base_url}/slack/events",
            self.settings.data_dir,
        )

    def stop(self) -> None:
        """Stop taking requests, let those in flight finish, then stop the workers and storage."""
        if self._stopped:
            return
        self._stopped = True
        if self.socket_mode is not None:
            self.socket_mode.close()
        self.http.stop()
        # Listeners Bolt runs after acknowledging (events) finish before storage closes.
        self.listeners.shutdown(wait=True)
        self.scheduler.stop()
        self.homes.stop()
        if self.publisher is not None:
            self.publisher.stop()
        if not self.outbox.stop():
            # Closing the store under a send in flight would lose the record of its delivery
            # and send it again after restart; the process exit releases the files instead.
            logger.error("leaving storage open: the outbox worker has not finished")
            return
        self.services.store.close()
        logger.info("stopped")


def _replies(
    config: DeskConfig,
    *,
    store: Store,
    desk: Desk,
    renderer: TemplateRenderer,
    templates_dir: Path,
    client: WebClient,
    people: PeopleResolver,
    outbox: OutboxWorker,
    environ: Mapping[str, str],
    clock: Callable[[], datetime],
) -> tuple[ReplyDesk | None, PublisherWorker | None]:
    """Suggested replies wired to Slack (threads, people, private notes) and publishers."""
    book = config.reply_book(templates_dir)
    if book is None or not config.desk.approval.suggest_in_threads:
        return None, None
    replies = ReplyDesk(
        config=config,
        store=store,
        desk=desk,
        book=book,
        usergroup_members=people.usergroup_members,
        on_queued=outbox.wake,
    )
    replies.tell_privately = lambda channel, user, text: _tell_privately(
        client, channel=channel, user=user, text=text
    )
    outbox.threaded = SuggestionMessages(renderer, replies)
    desk.on_placed = replies.refresh_placed
    pacing = config.desk.outbox
    publisher = PublisherWorker(
        replies=replies,
        environ=environ,
        clock=clock,
        backoff_initial=pacing.backoff_initial_seconds,
        backoff_max=pacing.backoff_max_seconds,
    )
    replies.on_publish = publisher.wake
    return replies, publisher


def _tell_privately(client: WebClient, *, channel: str, user: str, text: str) -> None:
    """A message only `user` sees in `channel`; Slack refusing it is logged, not raised
    (the action it explains has already changed nothing)."""
    try:
        client.chat_postEphemeral(channel=channel, user=user, text=text)
    except SlackApiError as exc:
        logger.warning("could not tell %s privately: %s", user, _slack_error(exc))


def build_runtime(
    settings: Settings,
    *,
    host: str | None = None,
    clock: Callable[[], datetime] = utcnow,
    templates_dir: Path | None = None,
    outbox_idle_seconds: float = 5.0,
    outbox_send_timeout: float = 30.0,
    verify_token: bool = True,
) -> Runtime:
    """Load configuration and storage and wire every part together (nothing starts yet)."""
    config = load_config(settings.config_dir)
    store = Store(
        settings.data_dir,
        themes=config.themes,
        clocks=config.clocks,
        escalation=config.escalation,
    )
    try:
        secrets = _source_secrets(config.sources, settings)
        renderer = load_templates(templates_dir or find_templates_dir())
        client = listener_client(token=settings.bot_token, base_url=settings.api_url)
        authorizer = BotTokenAuthorizer(client)
        if verify_token:
            _verify_token(client, authorizer)
        outbox = OutboxWorker(
            store=store,
            client=outbox_client(
                token=settings.bot_token, base_url=settings.api_url, timeout=outbox_send_timeout
            ),
            messages=ThemeMessages(renderer, Presentation.of(config)),
            pacing=pacing_of(config),
            clock=clock,
            idle_seconds=outbox_idle_seconds,
        )
        desk = Desk(config=config, store=store, on_queued=outbox.wake)
        outbox.on_dead = lambda channel, what, error: desk.report_undeliverable(
            channel=channel, what=what, error=error, now=clock()
        )
        people = PeopleResolver(
            client, refresh_seconds=config.desk.members_refresh_seconds, clock=clock
        )
        replies, publisher = _replies(
            config,
            store=store,
            desk=desk,
            renderer=renderer,
            templates_dir=templates_dir or find_templates_dir(),
            client=client,
            people=people,
            outbox=outbox,
            environ=settings.environ,
            clock=clock,
        )
        services = Services(
            config=config,
            store=store,
            renderer=renderer,
            desk=desk,
            clock=clock,
            replies=replies,
            people=people,
        )
        listeners = ThreadPoolExecutor(max_workers=8, thread_name_prefix="commsbot-listener")
        app = build_app(
            services,
            client=client,
            signing_secret=settings.signing_secret,
            authorizer=authorizer,
            listener_executor=listeners,
        )
        scheduler = Scheduler(services)
        socket_mode = None
        slack_handler = None
        if settings.socket_mode:
            assert settings.app_token is not None
            socket_mode = SocketModeHandler(app, settings.app_token)
        else:
            slack_handler = SlackRequestHandler(app)
        wsgi_app = make_wsgi_app(
            services,
            intake_secret=settings.intake_secret,
            health=HealthSources(
                outbox_running=lambda: outbox.running,
                scheduler_running=lambda: scheduler.running,
                delivery_problem=outbox.problem,
                delivery_stopped=outbox.stopped_by_storage,
                slack_unreachable_seconds=outbox.unreachable_seconds,
                unhealthy_after_seconds=config.desk.outbox.unhealthy_after_seconds,
            ),
            slack_handler=slack_handler,
            slack_signing_secret=settings.signing_secret,
            source_secrets=secrets,
        )
        http = HttpServer(
            wsgi_app,
            host=host or settings.host,
            port=settings.port,
            max_body_bytes=max(config.desk.intake.max_body_bytes, SLACK_MAX_BODY),
        )
    except BaseException:
        store.close()
        raise
    return Runtime(
        settings=settings,
        services=services,
        app=app,
        outbox=outbox,
        scheduler=scheduler,
        http=http,
        listeners=listeners,
        homes=HomeRefresher(services, client),
        socket_mode=socket_mode,
        publisher=publisher,
    )


def pacing_of(config: DeskConfig) -> Pacing:
    """How the outbox paces and retries Slack, from desk.yaml `outbox`."""
    outbox = config.desk.outbox
    return Pacing(
        backoff_initial=outbox.backoff_initial_seconds,
        backoff_max=outbox.backoff_max_seconds,
        pace_seconds=outbox.pace_seconds,
        busy_posts_per_second=outbox.busy_posts_per_second,
        busy_calls_per_post=outbox.busy_calls_per_post,
        urgent_max_wait_seconds=outbox.urgent_max_wait_seconds,
        busy_update_seconds=outbox.busy_update_seconds,
    )


def _source_secrets(sources: SourcesFile, settings: Settings) -> SourceSecrets:
    """The intake sources' secrets from the environment; a source without one is off."""
    try:
        secrets = source_secrets(sources, settings.environ)
    except SettingsError as exc:
        raise StartupError("; ".join(exc.problems)) from None
    redact_too(secrets.values())
    for note in off_warnings(sources, secrets):
        logger.info("%s", note)  # check-config warns about it, where it is set up
    return secrets


def _slack_error(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
    return str(exc)


def _verify_token(client: WebClient, authorizer: BotTokenAuthorizer) -> None:
    """Fail fast on a token Slack refuses; carry on (the outbox waits) if Slack is unreachable."""
    try:
        authorizer.remember(client.auth_test().data)  # type: ignore[arg-type]
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response.status_code == 200 else None
        if error in {"invalid_auth", "not_authed", "token_revoked", "account_inactive"}:
            raise StartupError(f"SLACK_BOT_TOKEN was refused by Slack ({error})") from None
        logger.warning("could not check SLACK_BOT_TOKEN with Slack (%s); carrying on", exc)
    except OSError as exc:
        logger.warning("Slack is unreachable (%s); posts will wait in the outbox", exc)


# glibc's mallopt parameter for the number of memory arenas.
_M_ARENA_MAX = -8


def limit_memory_arenas(arenas: int = 2) -> bool:
    """Ask glibc's malloc for at most `arenas` memory arenas (False where it is not glibc).

    Each request thread would otherwise get an arena of its own and keep in it the memory of
    the largest intake batch it ever handled: with 8 threads, tens of megabytes that are
    never used again. Called before any thread starts. MALLOC_ARENA_MAX in the environment
    says the same and wins.
    """
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False  # not glibc (musl, for one, has no arenas to limit)


def serve(settings: Settings) -> int:
    """Run until SIGTERM or SIGINT, then shut down cleanly."""
    limit_memory_arenas()
    runtime = build_runtime(settings)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        logger.info("received %s; shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        runtime.start()
        stop.wait()
    finally:
        runtime.stop()
    return 0
