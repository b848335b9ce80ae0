"""Benchmark: how much disk 10,000 posts take, by area, and what a backup of them costs.

Runs the real bot in this process against the local fake Slack (paced lightly, so the run is
about the disk, not Slack's limits), sends the posts as a monitoring tool would (requests of
50 posts, texts from the two development corpora with fresh ids, authors and times over a
week), waits until Slack shows everything, then prints the size of the data directory by
area (`posts`, `index`, `themes`, `audit`…) as bytes on disk and as file sizes, per 10,000
posts. Then it takes a backup while the bot still runs and prints how long commsbot's writes
waited, how long the copy took and its size.

Run:  .venv/bin/python benchmarks/bench_disk.py                 # about 2 minutes
      .venv/bin/python benchmarks/bench_disk.py --posts 2000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.corpus import __file__ as corpus_init
from bot.fakeslack import FakeSlack
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.storage.backup import take_backup
from bot.web.intake import SIGNATURE_HEADER, sign

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(corpus_init).parent
TOKEN = "xoxb-bench-disk"
SIGNING_SECRET = "bench-signing-secret-0123456789"
INTAKE_SECRET = "bench-intake-secret-0123456789"
BATCH = 50


def texts() -> list[dict[str, Any]]:
    """The development corpora's posts (never the held-out ones)."""
    found = []
    for name in ("dev.jsonl", "dev2.jsonl"):
        with (CORPUS / name).open(encoding="utf-8") as handle:
            found += [json.loads(line) for line in handle if line.strip()]
    return found


def posts(count: int, start: datetime) -> list[dict[str, Any]]:
    """`count` posts in the intake format, spread over the week before `start`."""
    source = texts()
    made = []
    for n in range(count):
        item = source[n % len(source)]
        made.append(
            {
                "id": f"disk{n:06d}",
                "network": item["network"],
                "account": item["account"],
                "author": {"handle": f"@resident{n % 3000}", "name": f"Resident {n % 3000}"},
                "text": item["text"],
                "url": f"https://example.org/post/{n}",
                "posted_at": (start - timedelta(seconds=60 * (count - n))).isoformat(),
                "kind": item.get("kind", "post"),
            }
        )
    return made


def send(url: str, batch: list[dict[str, Any]]) -> None:
    import urllib.request

    body = json.dumps(batch).encode("utf-8")
    request = urllib.request.Request(
        f"{url}/intake",
        data=body,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, INTAKE_SECRET)},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        assert answer.status == 202, answer.status


def fast_config(target: Path) -> Path:
    """The shipped configuration, its Slack pacing light (the fake Slack has no limit)."""
    shutil.copytree(REPO / "config", target)
    desk = (target / "desk.yaml").read_text(encoding="utf-8")
    desk = desk.replace("pace_seconds: 1.1", "pace_seconds: 0.001")
    desk = desk.replace("busy_posts_per_second: 0.5", "busy_posts_per_second: 1000")
    (target / "desk.yaml").write_text(desk, encoding="utf-8")
    return target


def sizes(data: Path) -> dict[str, tuple[int, int, int]]:
    """For each area of `data`: (files, bytes in files, bytes on disk)."""
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for directory, _, names in os.walk(data):
        for name in names:
            path = Path(directory) / name
            relative = path.relative_to(data)
            area = relative.parts[0] if len(relative.parts) > 1 else "(top)"
            info = path.stat()
            found[area][0] += 1
            found[area][1] += info.st_size
            found[area][2] += info.st_blocks * 512
    return {area: (f, b, d) for area, (f, b, d) in sorted(found.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=10_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="commsbot-bench-disk-"))
    try:
        with FakeSlack(bot_token=TOKEN, auto_create_channels=True) as slack:
            settings = Settings(
                bot_token=TOKEN,
                signing_secret=SIGNING_SECRET,
                app_token=None,
                intake_secret=INTAKE_SECRET,
                api_url=slack.url,
                config_dir=fast_config(work / "config"),
                data_dir=work / "data",
                port=0,
                environ={},
            )
            runtime = build_runtime(settings, host="127.0.0.1", outbox_idle_seconds=0.05)
            runtime.start()
            try:
                made = posts(args.posts, datetime.now(UTC))
                began = time.perf_counter()
                for first in range(0, len(made), BATCH):
                    send(runtime.base_url, made[first : first + BATCH])
                took = time.perf_counter() - began
                print(f"{args.posts:,} posts accepted in {took:.0f} s")
                store = runtime.services.store
                while store.outbox_stats(datetime.now(UTC)).pending:
                    time.sleep(0.2)
                print(f"everything shown in Slack after {time.perf_counter() - began:.0f} s")
                report(work / "data", args.posts)
                started = time.perf_counter()
                summary = take_backup(work / "data", work / "backup")
                print(
                    f"backup while serving: {summary.files:,} files, {summary.size / 1e6:.1f} MB "
                    f"in {time.perf_counter() - started:.1f} s; commsbot's writes waited "
                    f"{summary.paused_seconds * 1000:.0f} ms"
                )
            finally:
                runtime.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(data: Path, count: int) -> None:
    scale = 10_000 / count
    print(f"\n{'area':<12} {'files':>8} {'file bytes':>12} {'on disk':>12}   (per 10,000 posts)")
    total = [0, 0, 0]
    for area, (files, size, disk) in sizes(data).items():
        total = [total[0] + files, total[1] + size, total[2] + disk]
        print(
            f"{area:<12} {files * scale:>8,.0f} {size * scale / 1e6:>10.1f} MB "
            f"{disk * scale / 1e6:>10.1f} MB"
        )
    print(
        f"{'all':<12} {total[0] * scale:>8,.0f} {total[1] * scale / 1e6:>10.1f} MB "
        f"{total[2] * scale / 1e6:>10.1f} MB\n"
    )


if __name__ == "__main__":
    main()
