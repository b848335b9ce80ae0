"""How fast is placing a post among the open themes, on a busy desk and in a crisis burst?

Scenarios (synthetic posts from a seeded generator, shipped config/themes.yaml):
  steady   2,000 open themes across both accounts, then 2,000 ordinary posts placed
  burst    the same 2,000 open themes, then a 10,000-post crisis burst over ten minutes:
           one dominant incident (smoke from a fire at one place, urgent), the talk about it
           (enquiries, remarks and press questions), people in danger, repeated spam, and a
           long tail of everyday topics across many places

Each placement is `place` + `commit` (what the desk does per post). Prints posts/second and
p50/p99 per placement in milliseconds:

    .venv/bin/python benchmarks/bench_grouping.py [--themes 2000] [--burst 10000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import load_config
from bot.core.posts import Author, Network, Post
from bot.core.themes import OpenTheme, ThemeKind, ThemeMatcher, format_ref

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)

TOPICS = {
    "bins": ["bins not collected", "rubbish left out", "recycling missed", "binmen never came"],
    "potholes": ["huge pothole", "pothole burst my tyre", "road surface crumbling"],
    "parking": ["parking ticket unfair", "no parking permits left", "car park full"],
    "libraries": ["library opening hours", "library closing", "mobile library stopped"],
    "schools": ["school places", "school bus late", "term dates wrong"],
    "roadworks": ["roadworks again", "temporary lights for weeks", "road closure no notice"],
    "street_lights": ["street lights out", "lamp post flickering"],
    "flooding": ["drains blocked and flooding", "standing water on the road"],
    "council_tax": ["council tax bill wrong", "direct debit taken twice"],
    "planning": ["planning application objection", "new homes on the field"],
}
FILLER = [
    "again",
    "for the third week",
    "absolute joke",
    "can someone help",
    "when will this be fixed?",
    "😡",
    "#fixit",
    "thanks",
    "seriously",
    "any update",
]


def _place(index: int) -> str:
    syllables = ["ash", "brook", "ley", "ford", "ham", "wick", "ton", "bury", "field", "stow"]
    return (
        syllables[index % 10].title() + syllables[(index // 10) % 10] + syllables[index // 100 % 10]
    )


def _post(number: int, text: str, *, account: str, author: str, at: datetime) -> Post:
    return Post(
        id=str(number),
        network=Network.X,
        account=account,
        author=Author(handle=author),
        text=text,
        posted_at=at,
    )


def _everyday(rng: random.Random, number: int, at: datetime) -> tuple[Post, str]:
    topic = rng.choice(sorted(TOPICS))
    text = f"{rng.choice(TOPICS[topic])} in {_place(rng.randrange(400))} {rng.choice(FILLER)}"
    account = "council" if rng.random() < 0.8 else "fire"
    category = rng.choice(["complaint", "enquiry", "general"])
    return _post(number, text, account=account, author=f"@p{number}", at=at), category


def _open_themes(matcher: ThemeMatcher, count: int, rng: random.Random) -> None:
    """Fill the matcher with `count` open conversation themes, as start-up would."""
    for number in range(1, count + 1):
        at = START - timedelta(hours=rng.uniform(0, 48))
        post, _ = _everyday(rng, number, at)
        signature = matcher.features(post).signature()
        matcher.add(
            OpenTheme(
                ref=format_ref(number),
                account=post.account,
                kind=ThemeKind.CONVERSATION,
                signature=signature,
                first_seen=at,
                last_seen=at,
                title=post.text[:60],
            )
        )


def _burst(rng: random.Random, size: int, first: int) -> list[tuple[Post, str]]:
    reports = [
        "huge smoke over Lowfield",
        "massive fire at the Lowfield industrial estate 🔥🔥",
        "can see flames from Lowfield",
        "smoke everywhere in lowfield, shut your windows",
        "LOWFIELD FIRE!!! black smoke",
    ]
    talk = [
        "what is the smoke over Lowfield? is it safe to go out",
        "any update on the Lowfield fire? kids school tomorrow?",
        "thank you firefighters at Lowfield, heroes",
        "BBC newsdesk: can you confirm the Lowfield fire details?",
    ]
    danger = [
        "my neighbour is trapped on the first floor in Lowfield",
        "there is a child alone in the house next to the Lowfield fire",
    ]
    posts: list[tuple[Post, str]] = []
    for offset in range(size):
        at = START + timedelta(seconds=600 * offset / size)
        number = first + offset
        roll = rng.random()
        author = f"@c{number}"
        if roll < 0.6:
            text, category, account = rng.choice(reports), "urgent", "fire"
        elif roll < 0.85:
            text, category, account = (
                rng.choice(talk),
                rng.choice(["enquiry", "general", "media"]),
                "fire",
            )
        elif roll < 0.86:
            text, category, account = rng.choice(danger), "urgent", "fire"
        elif roll < 0.88:
            text, category, account = "BUY CHEAP FOLLOWERS at spam.example", "moderation", "fire"
            author = "@spammer"
        else:
            post, category = _everyday(rng, number, at)
            posts.append((post, category))
            continue
        posts.append((_post(number, text, account=account, author=author, at=at), category))
    return posts


def _run(matcher: ThemeMatcher, posts: list[tuple[Post, str]], first_ref: int) -> list[float]:
    timings = []
    sequence = first_ref
    for post, category in posts:
        began = time.perf_counter()
        placement = matcher.place(post, category, now=post.posted_at)
        if placement.is_new:
            matcher.commit(placement, post=post, now=post.posted_at, ref=format_ref(sequence))
            sequence += 1
        else:
            matcher.commit(placement, post=post, now=post.posted_at)
        timings.append(time.perf_counter() - began)
    return timings


def _report(name: str, timings: list[float], matcher: ThemeMatcher) -> None:
    ordered = sorted(timings)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    rate = len(timings) / sum(timings)
    print(
        f"{name:8} {len(timings):6d} posts  {rate:8.0f} posts/s  p50 {p50:6.3f} ms  "
        f"p99 {p99:6.3f} ms  open themes after: {len(matcher)}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark theme placement.")
    parser.add_argument("--themes", type=int, default=2000)
    parser.add_argument("--steady", type=int, default=2000)
    parser.add_argument("--burst", type=int, default=10_000)
    args = parser.parse_args(argv)
    settings = load_config(ROOT / "config").themes

    rng = random.Random(7)
    matcher = ThemeMatcher(settings)
    _open_themes(matcher, args.themes, rng)
    steady = [
        _everyday(rng, 100_000 + n, START + timedelta(seconds=2 * n)) for n in range(args.steady)
    ]
    print(f"{args.themes} open themes to start with")
    _report("steady", _run(matcher, steady, args.themes + 1), matcher)

    rng = random.Random(11)
    matcher = ThemeMatcher(settings)
    _open_themes(matcher, args.themes, rng)
    burst = _burst(rng, args.burst, 200_000)
    _report("burst", _run(matcher, burst, args.themes + 1), matcher)
    return 0


if __name__ == "__main__":
    sys.exit(main())
