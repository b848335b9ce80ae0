"""The features the second opinion reads from a post, the same when training and running.

A model file records the feature version it was trained with, so a model trained by an
earlier commsbot keeps reading posts the way it was trained to.
"""

from __future__ import annotations

import itertools
import re

from bot.core.classify import fold
from bot.core.textnorm import stem

_WORDS = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?|\d+|[?!£@#]")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
# 1: words, word pairs, word fragments and where the post came from.
# 2: the same, plus word stems and pairs of stems ("collected", "collection" -> "collect").
FEATURE_VERSIONS = (1, 2)
LATEST = 2


def post_features(
    text: str, *, account: str, network: str, kind: str, version: int = LATEST
) -> list[str]:
    """Words, word pairs, word fragments (for typos), stems, and where the post came from."""
    words = _WORDS.findall(fold(text.translate(_APOSTROPHES)))
    out = [f"w:{word}" for word in words]
    out += [f"b:{a} {b}" for a, b in itertools.pairwise(words)]
    for word in words:
        if len(word) > 3:
            padded = f"<{word}>"
            out += [f"c:{padded[i : i + 4]}" for i in range(len(padded) - 3)]
    if version >= 2:
        stems = [stem(word) for word in words]
        out += [f"s:{one}" for one in stems]
        out += [f"sb:{a} {b}" for a, b in itertools.pairwise(stems)]
    out += [f"k:{kind}", f"a:{account}", f"n:{network}"]
    return out
