"""Slack identifiers commsbot registers: commands, events and action ids in one place."""

from enum import StrEnum


class Command(StrEnum):
    """Slash commands (also declared in manifest.yml)."""

    COMMS = "/comms"


class Event(StrEnum):
    """Events API subscriptions (also declared in manifest.yml)."""

    APP_HOME_OPENED = "app_home_opened"
    REACTION_ADDED = "reaction_added"
    REACTION_REMOVED = "reaction_removed"


class Action(StrEnum):
    """Block action ids of the suggested-reply buttons and menu."""

    APPROVE = "suggestion_approve"
    EDIT = "suggestion_edit"
    REJECT = "suggestion_reject"
    TEMPLATE = "suggestion_template"
    POSTED = "suggestion_posted"


class View(StrEnum):
    """Callback ids of modals."""

    EDIT = "suggestion_edit_view"
    REJECT = "suggestion_reject_view"
