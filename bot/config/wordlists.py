"""Word lists maintained by other projects, which rules.yaml can name as concept sources."""

from __future__ import annotations

import importlib.metadata
from functools import cache
from pathlib import Path

# Source name in rules.yaml -> (distribution, file inside its package).
SOURCES = {
    "better-profanity": ("better-profanity", "better_profanity/profanity_wordlist.txt"),
}


class WordListError(LookupError):
    """A named word list is unknown or its package is not installed."""


@cache
def word_list(source: str) -> frozenset[str]:
    """The words of a maintained list, lower case, read from its installed package."""
    try:
        distribution, path = SOURCES[source]
    except KeyError:
        raise WordListError(
            f"unknown word list {source!r} (known: {', '.join(sorted(SOURCES))})"
        ) from None
    try:
        files = importlib.metadata.files(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        raise WordListError(f"word list {source!r} needs the {distribution} package") from None
    for file in files:
        if str(file).replace("\\", "/") == path:
            text = Path(file.locate()).read_text(encoding="utf-8")
            return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())
    raise WordListError(f"{distribution} is installed without {path}")
