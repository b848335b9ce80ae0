"""Events API listeners."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient

from bot.services import Services
from bot.slack.ids import Event
from bot.slack.messages import home_view


def _home_tab(event: dict) -> bool:
    """Matcher: the Home tab was opened (not the Messages tab)."""
    return event.get("tab", "home") == "home"


def register(app: App, services: Services) -> None:
    """Attach the event listeners."""

    @app.event(Event.APP_HOME_OPENED.value, matchers=[_home_tab])
    def show_home(event: dict, client: WebClient) -> None:
        view = home_view(services.renderer, status=services.desk_status())
        client.views_publish(user_id=event["user"], view=view)
