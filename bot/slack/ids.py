"""Slack identifiers commsbot registers: commands, events and action ids in one place."""

from enum import StrEnum


class Command(StrEnum):
    """Slash commands (also declared in manifest.yml)."""

    COMMS = "/comms"


class Event(StrEnum):
    """Events API subscriptions (also declared in manifest.yml)."""

    APP_HOME_OPENED = "app_home_opened"
    REACTION_ADDED = "reaction_added"
    # Messages in public / private channels the bot is in (intake channels' integrations).
    MESSAGE_CHANNELS = "message.channels"
    MESSAGE_GROUPS = "message.groups"
    REACTION_REMOVED = "reaction_removed"


class SuggestionAction(StrEnum):
    """Block action ids of the suggested-reply buttons and menu."""

    APPROVE = "suggestion_approve"
    EDIT = "suggestion_edit"
    REJECT = "suggestion_reject"
    TEMPLATE = "suggestion_template"
    POSTED = "suggestion_posted"


class SuggestionView(StrEnum):
    """Callback ids of the suggested-reply modals."""

    EDIT = "suggestion_edit_view"
    REJECT = "suggestion_reject_view"


class Action(StrEnum):
    """Buttons on a theme's parent message (action ids; the value is the theme ref)."""

    CLAIM = "theme_claim"
    MOVE = "theme_move"
    MERGE = "theme_merge"
    RECATEGORISE = "theme_recategorise"
    CLOSE = "theme_close"
    REOPEN = "theme_reopen"


class Modal(StrEnum):
    """Callback ids of the modals staff actions open (private_metadata: the theme ref)."""

    MOVE = "theme_move_modal"
    MERGE = "theme_merge_modal"
    RECATEGORISE = "theme_recategorise_modal"
    CLOSE = "theme_close_modal"


class Field(StrEnum):
    """Inputs of those modals: each is the block id and the action id of its element."""

    POST = "post"
    TARGET = "target"
    CATEGORY = "category"
    REASON = "reason"


class Shortcut(StrEnum):
    """Message shortcuts (also declared in manifest.yml)."""

    SEND_TO_DESK = "send_to_comms_desk"


# The actions block on a theme's parent message.
THEME_ACTIONS_BLOCK = "theme_actions"
# A recategorise modal's post choice meaning "every post of the theme".
WHOLE_THEME = "*"
