"""Worst cases of posts written to stall the rules: every regex, the flag detectors, triage.

Each rule's regexes and vetoes (config/rules.yaml) are run on posts of the longest length
intake accepts, made of one short piece repeated (line breaks, spaces, dashes, digits,
punctuation, the pattern's own words), with the words the regex's prefilter needs placed
before or after, so the search really runs. Then the personal-data and link detectors and
the whole classification run on the same posts. Prints the slowest of each:

    .venv/bin/python benchmarks/bench_hostile_posts.py            # about a minute
    .venv/bin/python benchmarks/bench_hostile_posts.py --chars 5000 --top 5
"""

from __future__ import annotations

import argparse
import re
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.config import load_config
from bot.config.desk_model import IntakeModel
from bot.core.classify import required_literals
from bot.core.flags import detect_flags, personal_data_in
from bot.core.posts import Author, Kind, Network, Post

REPO = Path(__file__).resolve().parent.parent
PIECES = (
    " ", "\n", "\n ", "\t", "a", "a ", "a-", "a.", "a'", "a, ", ". ", ".", "!", "!?", "-", ",",
    "'", "@", "x@", "@a ", "a@a", "#", "£1 ", "1", "1 ", "12 ", "20 ", "999 ", "07700 900",
    "+44 ", "A1 1", "a1 ", "1 Main ", "road ", "born ", "http://", "www.", "a.co ", "😀", "i ",
    "i'm ", "the ", "of ", "help ", "my ", "see my ",
)  # fmt: skip


def _posts(pieces: list[str], head: str, chars: int) -> list[str]:
    texts = []
    for piece in pieces:
        body = (piece * (chars // len(piece) + 1))[: chars - len(head) - 1]
        texts += [body, head + " " + body, body + " " + head]
    return texts


def _timed(function, text: str) -> float:
    started = time.perf_counter()
    function(text)
    return time.perf_counter() - started


def _own_words(pattern: str) -> list[str]:
    literals = {lit for need in required_literals(pattern, keep=5) for lit in need}
    return sorted({*literals, *re.findall(r"[a-z]{3,}", pattern)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--chars", type=int, default=IntakeModel().max_text_chars)
    parser.add_argument("--top", type=int, default=10, help="how many of the slowest to list")
    args = parser.parse_args()

    config = load_config(REPO / "config")
    regexes = [
        (f"{rule.name} ({kind} {index + 1})", re.compile(pattern, re.IGNORECASE))
        for rule in config.classifier.rules
        for kind, patterns in (("regex", rule.patterns), ("unless", rule.unless))
        for index, pattern in enumerate(patterns)
    ]
    print(f"{len(regexes)} regexes, posts of {args.chars:,} characters")
    worst: list[tuple[float, str, str]] = []
    started = time.perf_counter()
    for name, regex in regexes:
        words = _own_words(regex.pattern)
        pieces = [*PIECES, *(word + " " for word in words)]
        slowest = max(
            (_timed(regex.search, text), piece)
            for piece in pieces
            for text in _posts([piece], " ".join(words), args.chars)
        )
        worst.append((slowest[0], name, slowest[1]))
    print(f"every regex on every post: {time.perf_counter() - started:.0f} s")
    _show("slowest regexes", worst, args.top)

    every_word = " ".join(sorted({w for _, r in regexes for w in _own_words(r.pattern)}))
    texts = [(piece, text) for piece in PIECES for text in _posts([piece], "born nhs", args.chars)]
    _show("flag detectors", [(_timed(detect_flags, t), "detect_flags", p) for p, t in texts], 3)
    _show(
        "personal data found (for masking)",
        [(_timed(personal_data_in, t), "personal_data_in", p) for p, t in texts],
        3,
    )

    def classify(text: str) -> None:
        config.classifier.classify(
            Post(
                id="b",
                network=Network.X,
                account="council",
                author=Author(handle="@b"),
                text=text,
                posted_at=datetime(2026, 11, 20, tzinfo=UTC),
                kind=Kind.POST,
            )
        )

    posts = [(p, t) for p in PIECES for t in _posts([p], every_word[: args.chars // 4], args.chars)]
    _show("whole classification", [(_timed(classify, t), "classify", p) for p, t in posts], 5)


def _show(title: str, rows: list[tuple[float, str, str]], top: int) -> None:
    print(f"{title}:")
    for seconds, name, piece in sorted(rows, reverse=True)[:top]:
        print(f"  {seconds * 1000:8.1f} ms  {name}  (repeating {piece!r})")


if __name__ == "__main__":
    main()
