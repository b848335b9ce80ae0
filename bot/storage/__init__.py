"""Durable storage: TinyDB files behind a small repository interface."""

from bot.storage.atomic import StorageError
from bot.storage.repository import (
    SCHEMA_VERSION,
    AcceptOutcome,
    DataDirInUseError,
    OutboxItem,
    OutboxStats,
    PostToAccept,
    Store,
    post_from_doc,
)

__all__ = [
    "SCHEMA_VERSION",
    "AcceptOutcome",
    "DataDirInUseError",
    "OutboxItem",
    "OutboxStats",
    "PostToAccept",
    "StorageError",
    "Store",
    "post_from_doc",
]
