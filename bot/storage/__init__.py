"""Durable storage: the `Store` facade over aggregates kept apart on disk."""

from bot.storage.atomic import StorageError
from bot.storage.docs import (
    PostToAccept,
    channels_of,
    classification_from_doc,
    post_from_doc,
    post_to_doc,
)
from bot.storage.outbox import RENDERED, OutboxItem
from bot.storage.store import (
    SCHEMA_VERSION,
    AcceptOutcome,
    DataDirInUseError,
    DeadLetter,
    OutboxStats,
    Store,
    ViewSnapshot,
)
from bot.storage.themes import StoredTheme, ViewRecord, ViewWork

__all__ = [
    "RENDERED",
    "SCHEMA_VERSION",
    "AcceptOutcome",
    "DataDirInUseError",
    "DeadLetter",
    "OutboxItem",
    "OutboxStats",
    "PostToAccept",
    "StorageError",
    "Store",
    "StoredTheme",
    "ViewRecord",
    "ViewSnapshot",
    "ViewWork",
    "channels_of",
    "classification_from_doc",
    "post_from_doc",
    "post_to_doc",
]
