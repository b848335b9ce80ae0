"""Benchmark: the cost of accepting a post as the stored history and the open work grow.

Accepting a post must stay cheap however much is stored: the files touched on the hot path
(the current hour's posts and audit files, one index bucket, the post's theme file and its
journal) hold a bounded number of documents. This prints the median and 95th percentile
time to accept a post (classify, place in a theme, store durably with its change marker)
in each scenario, and the ratio of each median to the smallest history's:

- a history of 1,000 and of 100,000 posts spread over the past year;
- a busy day during a Slack outage: 100,000 posts stored, of which 3,000 arrived in the past
  three hours, none shown in Slack yet. This scenario also times the bookkeeping of bringing
  every theme's view up to date once Slack is back (read what to show, render it, record
  each call; Slack itself left out).

- a batch: one intake request of 1,000 posts (parse, validate, classify, place, store with
  one durable write per file touched), with 1,000 posts already stored; the time is what the
  monitoring tool waits for its answer, less the network.

Run:  .venv/bin/python benchmarks/bench_intake.py [--sizes 1000 100000] [--samples 300]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import DeskConfig, load_config
from bot.core.posts import Author, Classification, Network, Post
from bot.core.routing import triage
from bot.core.templating import TemplateRenderer
from bot.desk import Desk
from bot.runtime import TEMPLATES_DIR
from bot.services import Services
from bot.slack.theme_messages import Presentation, ThemeMessages, message_hash
from bot.storage import Store
from bot.web.intake import handle_intake

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
BUSY_NOW = NOW + timedelta(minutes=40)  # well into a busy hour
TEXTS = [
    "When is the recycling centre on Mill Road open this weekend?",
    "How much did the council spend on consultants in 2024? Please provide a breakdown.",
    "The bins on Elm Road have not been collected for the third week running, disgraceful",
    "Reporter from the Anyshire Echo here, could the press office comment on the closure?",
    "Great work by the crews at the barn fire last night, thank you all",
]

History = list[tuple[Post, Classification, str, datetime]]


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


def history(config: DeskConfig, count: int) -> History:
    """`count` already-handled posts spread over the year before today."""
    routing = config.routing
    records = []
    for n in range(count):
        received = NOW - timedelta(days=1 + n % 365, minutes=n % 600)
        post = make_post(n, posted_at=received - timedelta(minutes=5))
        result = triage(post, classifier=config.classifier, routing=routing)
        records.append((post, result.classification, result.channel, received))
    return records


def time_accepts(desk: Desk, samples: int, *, start: datetime) -> list[float]:
    """Seconds to accept each of `samples` new posts, one a second from `start`."""
    timings = []
    for n in range(samples):
        post = make_post(10_000_000 + n, posted_at=start)
        began = time.perf_counter()
        desk.take(post, now=start + timedelta(seconds=n))
        timings.append(time.perf_counter() - began)
    return timings


def in_store(run: Callable[[Store, Desk], list[float]]) -> list[float]:
    config = load_config(REPO / "config")
    with (
        tempfile.TemporaryDirectory(prefix="commsbot-bench-") as data,
        Store(Path(data), themes=config.themes) as store,
    ):
        return run(store, Desk(config=config, store=store))


def quiet(records: History, samples: int) -> list[float]:
    """Accept costs with `records` of history and an outbox that Slack keeps up with."""

    def run(store: Store, desk: Desk) -> list[float]:
        started = time.perf_counter()
        store.import_history(records)
        print(f"  seeded {len(records):,} posts in {time.perf_counter() - started:.1f}s")
        return time_accepts(desk, samples, start=NOW)

    return in_store(run)


def bring_up_to_date(store: Store, messages: ThemeMessages) -> list[float]:
    """What the outbox worker does locally for each Slack call that shows the waiting work:
    read the view, render it, record the call. Seconds per call."""
    timings = []
    for work in store.view_work():
        while True:
            began = time.perf_counter()
            snapshot = store.view_snapshot(work.ref, work.channel, digest_limit=60)
            assert snapshot is not None
            view = snapshot.view
            if view.parent_ts is None:
                parent = messages.parent(snapshot)
                store.record_view(
                    work.ref,
                    work.channel,
                    now=BUSY_NOW,
                    channel_id="C0DESK",
                    parent_ts=f"{len(timings)}.0",
                    rendered_hash=message_hash(parent),
                )
            elif snapshot.waiting:
                _, upto = messages.digest(snapshot)
                store.record_view(work.ref, work.channel, now=BUSY_NOW, shown=upto)
            else:
                parent = messages.parent(snapshot)
                store.record_view(
                    work.ref,
                    work.channel,
                    now=BUSY_NOW,
                    rendered_hash=message_hash(parent),
                    done_version=view.version,
                )
                timings.append(time.perf_counter() - began)
                break
            timings.append(time.perf_counter() - began)
    return timings


def outage(records: History, *, today: int, samples: int) -> tuple[list[float], list[float]]:
    """Accept costs on a busy day with Slack down (`today` posts in the past three hours),
    then the bookkeeping of each Slack call that shows the waiting work once Slack is back."""
    drained: list[float] = []

    def run(store: Store, desk: Desk) -> list[float]:
        started = time.perf_counter()
        store.import_history(records)
        arrived = BUSY_NOW - timedelta(hours=3)
        gap = timedelta(hours=3) / today
        for n in range(today):
            at = arrived + gap * n
            desk.take(make_post(5_000_000 + n, posted_at=at - timedelta(minutes=2)), now=at)
        stats = store.outbox_stats(BUSY_NOW)
        print(
            f"  seeded {len(records) + today:,} posts ({today:,} in the past three hours, in "
            f"{stats.open_themes:,} themes; {stats.pending:,} views waiting for Slack) in "
            f"{time.perf_counter() - started:.1f}s"
        )
        timings = time_accepts(desk, samples, start=BUSY_NOW)
        messages = ThemeMessages(TemplateRenderer(TEMPLATES_DIR), Presentation.of(desk.config))
        drained.extend(bring_up_to_date(store, messages))
        return timings

    return in_store(run), drained


def batch_body(first: int, count: int) -> bytes:
    """An intake body of `count` posts as a monitoring tool would send them."""
    posts = []
    for n in range(first, first + count):
        posts.append(
            {
                "id": f"batch-{n}",
                "network": "x",
                "account": "council" if n % 3 else "fire",
                "author": {"handle": f"@resident_{n % 977}", "followers": n % 5000},
                "text": f"{TEXTS[n % len(TEXTS)]} (ref {n})",
                "url": f"https://x.com/resident_{n % 977}/status/{n}",
                "posted_at": "2026-11-20T09:55:00+00:00",
            }
        )
    return json.dumps(posts).encode("utf-8")


def batches(records: History, *, size: int, samples: int) -> list[float]:
    """Seconds to answer each of `samples` intake requests of `size` new posts."""

    def run(store: Store, desk: Desk) -> list[float]:
        store.import_history(records)
        renderer = TemplateRenderer(TEMPLATES_DIR)
        services = Services(
            config=desk.config, store=store, renderer=renderer, desk=desk, clock=lambda: NOW
        )
        timings = []
        for sample in range(samples):
            body = batch_body(sample * size, size)
            began = time.perf_counter()
            answer = handle_intake(services, body)
            timings.append(time.perf_counter() - began)
            assert answer.status == 202 and answer.body["accepted"] == size, answer.body
        return timings

    return in_store(run)


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[max(int(len(ordered) * fraction) - 1, 0)]


def report(what: str, timings: list[float]) -> float:
    """Print the median and p95 in milliseconds; returns the median."""
    ordered = sorted(timings)
    median = statistics.median(ordered) * 1000
    p95 = percentile(ordered, 0.95) * 1000
    print(f"  {what}: median {median:.2f} ms, p95 {p95:.2f} ms ({len(ordered):,} samples)")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument(
        "--outage",
        type=int,
        nargs=2,
        default=[100_000, 3_000],
        metavar=("STORED", "TODAY"),
        help="busy-day scenario: posts stored, of which arrived today (all waiting)",
    )
    parser.add_argument("--no-outage", action="store_true", help="skip the busy-day scenario")
    parser.add_argument("--batch", type=int, default=1000, help="posts in one intake request")
    parser.add_argument("--batches", type=int, default=10, help="batch requests to time")
    args = parser.parse_args()
    stored, today = args.outage
    largest = max([*args.sizes, 0 if args.no_outage else stored - today])
    started = time.perf_counter()
    records = history(load_config(REPO / "config"), largest)
    print(f"triaged {largest:,} posts of history in {time.perf_counter() - started:.1f}s")
    medians: dict[str, float] = {}
    for size in sorted(args.sizes):
        print(f"history of {size:,} posts:")
        medians[f"{size:,} stored"] = report("accept a post", quiet(records[:size], args.samples))
    if not args.no_outage:
        print(f"busy day during a Slack outage ({stored:,} stored, {today:,} today):")
        seeded = records[: stored - today]
        timings, drained = outage(seeded, today=today, samples=args.samples)
        medians["busy day, Slack down"] = report("accept a post", timings)
        print(
            f"  Slack back: {len(drained):,} Slack calls show it all; their bookkeeping "
            f"took {sum(drained):.1f}s"
        )
        report("bookkeeping of one Slack call", drained)
    print(f"one intake request of {args.batch:,} posts ({min(args.sizes):,} stored):")
    per_batch = batches(records[: min(args.sizes)], size=args.batch, samples=args.batches)
    ordered = sorted(per_batch)
    print(
        f"  answered in: median {statistics.median(ordered) * 1000:.0f} ms, "
        f"worst {ordered[-1] * 1000:.0f} ms ({len(ordered)} requests; target: well under 1 s)"
    )
    baseline_name, baseline = next(iter(medians.items()))
    for name, median in list(medians.items())[1:]:
        ratio = median / baseline
        print(f"ratio {name} vs {baseline_name}: {ratio:.2f}x (target: at most 2x)")


if __name__ == "__main__":
    main()
