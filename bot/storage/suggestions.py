"""Suggested replies, the index from Slack message to suggestion, and replies to publish.

- `suggestions/<id>.json`: one suggestion (every version, approvals, status). Its id is
  `<theme ref>.<n>`, so a theme's suggestions are found by name.
- `suggestions/messages.json`: Slack message ts -> the suggestion (and version) it shows,
  and what kind of message it is (`shows`), so a reaction on it finds its suggestion
  (reactions on anything else are ignored) and a later state can be shown on it.
- `publish/<id>.<version>.json`: an approved reply on its way to a webhook publisher, with
  the exact text and its hash, attempts and the platform's answer.

Every write replaces one file atomically (a crash leaves it before or after, never broken).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bot.storage.atomic import encode, read_data_file, write_atomically

_TABLE = "suggestion"
_INDEX = "messages"
_DELIVERY = "delivery"
_SAFE = re.compile(r"^[A-Za-z0-9._-]{1,80}$")


def _name(key: str) -> str:
    if not _SAFE.match(key) or key.startswith("."):
        raise ValueError(f"{key!r} is not a suggestion id")
    return key + ".json"


class SuggestionFiles:
    """Suggestions and their Slack messages (`suggestions/`), deliveries (`publish/`)."""

    def __init__(self, data_dir: Path) -> None:
        self.directory = Path(data_dir) / "suggestions"
        self.publish_directory = Path(data_dir) / "publish"

    def get(self, suggestion_id: str) -> dict[str, Any] | None:
        """The stored suggestion, or None."""
        data = read_data_file(self.directory / _name(suggestion_id))
        return None if data is None else dict(data[_TABLE])

    def put(self, doc: dict[str, Any]) -> None:
        """Store a suggestion (replacing its earlier state)."""
        write_atomically(self.directory / _name(str(doc["id"])), encode({_TABLE: doc}))

    def of_theme(self, ref: str) -> list[dict[str, Any]]:
        """Every suggestion of theme `ref`, oldest first."""
        found = []
        for path in self.directory.glob(f"{ref}.*.json"):
            data = read_data_file(path)
            if data is not None:
                found.append(dict(data[_TABLE]))
        return sorted(found, key=lambda doc: int(str(doc["id"]).rsplit(".", 1)[1]))

    def _index(self) -> dict[str, Any]:
        data = read_data_file(self.directory / "messages.json")
        return {} if data is None else dict(data[_INDEX])

    def index_message(
        self, ts: str, *, suggestion_id: str, version: int, channel_id: str, shows: str
    ) -> None:
        """Remember that Slack message `ts` shows `version` of a suggestion (as `shows`)."""
        index = self._index()
        entry = {"id": suggestion_id, "version": version, "channel_id": channel_id, "shows": shows}
        if index.get(ts) != entry:
            index[ts] = entry
            write_atomically(self.directory / "messages.json", encode({_INDEX: index}))

    def message(self, ts: str) -> dict[str, Any] | None:
        """Which suggestion (and version) Slack message `ts` shows, or None."""
        return self._index().get(ts)

    def find_message(
        self, suggestion_id: str, *, version: int, shows: str
    ) -> tuple[str, str] | None:
        """(channel id, ts) of the message showing `version` of a suggestion as `shows`.

        Entries written before `shows` was kept are version messages (`suggestion`).
        """
        for ts, entry in self._index().items():
            if (
                entry.get("id") == suggestion_id
                and entry.get("version") == version
                and entry.get("shows", "suggestion") == shows
            ):
                return str(entry.get("channel_id") or ""), ts
        return None

    def delivery(self, key: str) -> dict[str, Any] | None:
        """A reply on its way to a publisher, by `<suggestion id>.<version>`."""
        data = read_data_file(self.publish_directory / _name(key))
        return None if data is None else dict(data[_DELIVERY])

    def put_delivery(self, doc: dict[str, Any]) -> None:
        """Store a delivery's state."""
        write_atomically(self.publish_directory / _name(str(doc["key"])), encode({_DELIVERY: doc}))

    def deliveries(self) -> list[dict[str, Any]]:
        """Every delivery, finished or not, in key order."""
        found = []
        for path in sorted(self.publish_directory.glob("*.json")):
            data = read_data_file(path)
            if data is not None:
                found.append(dict(data[_DELIVERY]))
        return found
