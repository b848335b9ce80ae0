"""Slack identifiers commsbot registers: commands, events and action ids in one place."""

from enum import StrEnum


class Command(StrEnum):
    """Slash commands (also declared in manifest.yml)."""

    COMMS = "/comms"


class Event(StrEnum):
    """Events API subscriptions (also declared in manifest.yml)."""

    APP_HOME_OPENED = "app_home_opened"
    REACTION_ADDED = "reaction_added"
