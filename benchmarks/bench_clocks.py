"""What the pure clocks cost a reminder or escalation sweep: deadlines, thresholds, levels.

A sweep asks, for each open theme or case, which reminders are due now and which
escalation levels have fallen due. This times those core calls alone (no storage, no
Slack) for a mix of kinds received over the last weeks, and prints the figures:

    .venv/bin/python benchmarks/bench_clocks.py
    .venv/bin/python benchmarks/bench_clocks.py --open 2000 --escalations 200 --repeats 5
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import load_config
from bot.core.escalation import steps_due
from bot.core.reminders import ClockedItem

REPO = Path(__file__).resolve().parent.parent
KINDS = ["theme"] * 14 + ["complaint"] * 3 + ["urgent", "foi", "eir", "subject_access"]


def _items(clocks, count: int, now: datetime, rng: random.Random) -> list[ClockedItem]:
    items = []
    for _ in range(count):
        kind = rng.choice(KINDS)
        span = timedelta(days=40) if kind in ("foi", "eir", "subject_access") else timedelta(days=3)
        received_at = now - span * rng.random()
        deadline = clocks.deadline(kind, received_at=received_at)
        items.append(ClockedItem(kind, deadline.received_at, deadline.due_at))
    return items


def _time(function, repeats: int) -> list[float]:
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        runs.append(time.perf_counter() - started)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--open", type=int, default=2000, help="open themes and cases")
    parser.add_argument("--escalations", type=int, default=200, help="escalations running")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    config = load_config(REPO / "config")
    clocks, escalation = config.clocks, config.escalation
    rng = random.Random(9)
    now = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    items = _items(clocks, args.open, now, rng)

    deadline_runs = _time(
        lambda: [clocks.deadline(i.kind, received_at=i.received_at) for i in items], args.repeats
    )
    sweep_runs = _time(
        lambda: [clocks.reminders_due(i, now=now, sent=()) for i in items], args.repeats
    )
    next_runs = _time(lambda: [clocks.next_reminder(i, sent=()) for i in items], args.repeats)

    policies = list(escalation.policies.values())
    started = [
        (rng.choice(policies), now - timedelta(hours=30) * rng.random())
        for _ in range(args.escalations)
    ]
    escalation_runs = _time(
        lambda: [
            steps_due(
                policy,
                started_at=at,
                now=now,
                calendar=clocks.calendar,
                directory=escalation.directory,
            )
            for policy, at in started
        ],
        args.repeats,
    )

    def report(what: str, runs: list[float], count: int) -> None:
        best, median = min(runs), statistics.median(runs)
        print(
            f"{what:<44} {count:>6} items: median {median * 1000:8.1f} ms "
            f"(best {best * 1000:7.1f} ms), {median / count * 1e6:7.1f} µs each"
        )

    print(f"clocks over {args.open} open items and {args.escalations} escalations")
    report("deadline for each item", deadline_runs, len(items))
    report("reminders due now for each item (a sweep)", sweep_runs, len(items))
    report("next reminder for each item", next_runs, len(items))
    report("escalation levels due for each escalation", escalation_runs, len(started))


if __name__ == "__main__":
    main()
