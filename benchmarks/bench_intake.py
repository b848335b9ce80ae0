"""Benchmark: the cost of accepting a post as the stored history grows.

Accepting a post must stay cheap however long the history is: the files touched on the hot
path (today's posts, one index bucket, today's audit, the outbox) stay small. This prints
the median and 95th percentile time to accept a post (classify, render, store durably and
queue for Slack) with 1,000 and with 100,000 posts already stored, and their ratio.

Run:  .venv/bin/python benchmarks/bench_intake.py [--sizes 1000 100000] [--samples 300]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import load_config
from bot.core.posts import Author, Network, Post
from bot.core.routing import triage
from bot.core.templating import TemplateRenderer
from bot.desk import Desk, routing_table
from bot.runtime import TEMPLATES_DIR
from bot.storage import Store

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
TEXTS = [
    "When is the recycling centre on Mill Road open this weekend?",
    "How much did the council spend on consultants in 2024? Please provide a breakdown.",
    "The bins on Elm Road have not been collected for the third week running, disgraceful",
    "Reporter from the Anyshire Echo here, could the press office comment on the closure?",
    "Great work by the crews at the barn fire last night, thank you all",
]


def make_post(n: int, *, posted_at: datetime) -> Post:
    return Post(
        id=f"bench-{n}",
        network=Network.X,
        account="council" if n % 3 else "fire",
        author=Author(handle=f"@resident_{n % 977}", followers=n % 5000),
        text=f"{TEXTS[n % len(TEXTS)]} (ref {n})",
        posted_at=posted_at,
        url=f"https://x.com/resident_{n % 977}/status/{n}",
    )


def seed(store: Store, desk: Desk, count: int) -> None:
    """`count` posts of history spread over the past year, written in bulk."""
    routing = routing_table(desk.config)
    records = []
    for n in range(count):
        received = NOW - timedelta(days=1 + n % 365, minutes=n % 600)
        post = make_post(n, posted_at=received - timedelta(minutes=5))
        result = triage(post, classifier=desk.config.classifier, routing=routing)
        records.append((post, result.classification, result.channel, received))
    store.import_history(records)


def measure(history: int, samples: int) -> list[float]:
    config = load_config(REPO / "config")
    with tempfile.TemporaryDirectory(prefix="commsbot-bench-") as data:
        store = Store(Path(data))
        desk = Desk(config=config, store=store, renderer=TemplateRenderer(TEMPLATES_DIR))
        started = time.perf_counter()
        seed(store, desk, history)
        print(f"  seeded {history:,} posts in {time.perf_counter() - started:.1f}s")
        timings = []
        for n in range(samples):
            post = make_post(10_000_000 + n, posted_at=NOW)
            began = time.perf_counter()
            desk.take(post, now=NOW + timedelta(seconds=n))
            timings.append(time.perf_counter() - began)
        store.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    medians = {}
    for size in args.sizes:
        print(f"history of {size:,} posts:")
        timings = sorted(measure(size, args.samples))
        median = statistics.median(timings) * 1000
        p95 = timings[int(len(timings) * 0.95) - 1] * 1000
        medians[size] = median
        print(f"  accept a post: median {median:.2f} ms, p95 {p95:.2f} ms ({args.samples} samples)")
    if len(medians) > 1:
        smallest, largest = min(medians), max(medians)
        ratio = medians[largest] / medians[smallest]
        print(f"ratio {largest:,} vs {smallest:,}: {ratio:.2f}x (target: at most 2x)")


if __name__ == "__main__":
    main()
