"""Logging set-up, with secrets scrubbed from every record."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

_TOKEN = re.compile(r"\bx(?:ox[abpre]|app)-[A-Za-z0-9-]+")
REDACTED = "[redacted]"


class RedactSecrets(logging.Filter):
    """Replaces Slack tokens and configured secrets in log messages with a placeholder."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def add(self, secrets: Iterable[str]) -> None:
        """Scrub these secrets too."""
        self._secrets.extend(s for s in secrets if s and s not in self._secrets)

    def scrub(self, text: str) -> str:
        """`text` with every secret and token-shaped string replaced."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return _TOKEN.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = self.scrub(record.getMessage())
        if record.exc_info:
            formatted = logging.Formatter().formatException(record.exc_info)
            message = f"{message}\n{self.scrub(formatted)}"
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = message, None
        return True


def configure_logging(*, level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Log to stderr with timestamps; every handler scrubs secrets."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # APScheduler reports every job it adds and runs at INFO; only its problems matter here.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))


def redact_too(secrets: Iterable[str]) -> None:
    """Scrub these secrets too, from every handler set up by configure_logging."""
    for handler in logging.getLogger().handlers:
        for found in handler.filters:
            if isinstance(found, RedactSecrets):
                found.add(secrets)
