"""The features the second opinion reads from a post, the same when training and running."""

from __future__ import annotations

import itertools
import re

from bot.core.classify import fold

_WORDS = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?|\d+|[?!£@#]")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def post_features(text: str, *, account: str, network: str, kind: str) -> list[str]:
    """Words, word pairs, word fragments (for typos), and where the post came from."""
    words = _WORDS.findall(fold(text.translate(_APOSTROPHES)))
    out = [f"w:{word}" for word in words]
    out += [f"b:{a} {b}" for a, b in itertools.pairwise(words)]
    for word in words:
        if len(word) > 3:
            padded = f"<{word}>"
            out += [f"c:{padded[i : i + 4]}" for i in range(len(padded) - 3)]
    out += [f"k:{kind}", f"a:{account}", f"n:{network}"]
    return out
