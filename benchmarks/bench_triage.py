"""Benchmark: how fast triage classifies, and that `triage`/`evaluate` memory stays flat.

1. Posts per second for the rules alone and for the rules with the learned second opinion
   (the model shipped in the package), classifying every post of the shipped development
   corpora over and over (one process, warm).
2. `commsbot triage --format table`, `--format jsonl` and `commsbot evaluate` on generated
   files of 10,000 and 100,000 posts, each in its own process: wall time and peak memory
   (maximum resident set size). Streaming means the peak is about the same at both sizes.

Run:  .venv/bin/python benchmarks/bench_triage.py [--posts 20000] [--sizes 10000 100000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.config import load_config
from bot.core.posts import Author, Kind, Network, Post
from bot.core.routing import triage
from bot.learning.model import load_model, shipped_model_path
from bot.learning.train import TRAINING_CORPORA, shipped_corpus

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
# The child reports its own peak resident memory (VmHWM, in KiB). ru_maxrss would not do:
# Linux carries it over from the parent through fork and exec.
_CHILD = (
    "import re, sys\n"
    "from bot.cli import main\n"
    "status = main(sys.argv[1:])\n"
    "status_file = open('/proc/self/status').read()\n"
    "print(re.search(r'VmHWM:\\s+(\\d+)', status_file).group(1), file=sys.stderr)\n"
    "sys.exit(status)\n"
)


def dev_rows() -> list[dict]:
    """The development corpora's lines, as JSON objects."""
    return [
        json.loads(line)
        for name in TRAINING_CORPORA
        for line in shipped_corpus(name).read_text(encoding="utf-8").splitlines()
    ]


def dev_posts() -> list[tuple[Post, str]]:
    """The development corpora as posts, with their labels."""
    rows = dev_rows()
    return [
        (
            Post(
                id=row["id"],
                network=Network(row["network"]),
                account=row["account"],
                author=Author(handle=row["author"]["handle"]),
                text=row["text"],
                posted_at=NOW,
                kind=Kind(row["kind"]),
            ),
            row["label"],
        )
        for row in rows
    ]


def posts_per_second(count: int) -> None:
    config = load_config(REPO / "config")
    posts = [post for post, _ in dev_posts()]
    model = load_model(shipped_model_path())
    for label, opinion in (("rules alone", None), ("rules + second opinion", model)):
        routing = config.routing
        started = time.perf_counter()
        for index in range(count):
            triage(
                posts[index % len(posts)],
                classifier=config.classifier,
                routing=routing,
                second_opinion=opinion,
                policy=config.second_opinion,
            )
        elapsed = time.perf_counter() - started
        print(
            f"{label:<24} {count / elapsed:>8,.0f} posts/s  ({elapsed * 1e6 / count:,.0f} µs each)"
        )


def write_file(path: Path, size: int) -> None:
    rows = dev_rows()
    with path.open("w", encoding="utf-8") as handle:
        for index in range(size):
            row = dict(rows[index % len(rows)])
            row["id"] = f"bench-{index}"
            handle.write(json.dumps(row) + "\n")


def run_child(argv: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, *argv],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    peak_kib = int(result.stderr.strip().splitlines()[-1])
    return elapsed, peak_kib


def memory_flat(sizes: list[int]) -> None:
    config = ["--config-dir", str(REPO / "config")]
    commands = {
        "triage --format table": [*config, "triage", "--no-model", "--format", "table"],
        "triage --format jsonl": [*config, "triage", "--no-model", "--format", "jsonl"],
        "evaluate --summary": [*config, "evaluate", "--no-model", "--summary"],
        "evaluate, with the model": [
            *config,
            "evaluate",
            "--model",
            str(shipped_model_path()),
            "--summary",
        ],
    }
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for size in sizes:
            files[size] = Path(tmp) / f"posts-{size}.jsonl"
            write_file(files[size], size)
        for name, argv in commands.items():
            for size in sizes:
                elapsed, peak = run_child([*argv, str(files[size])])
                print(
                    f"{name:<24} {size:>8,} posts  {elapsed:>6.1f} s  peak {peak / 1024:>6.1f} MiB"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    posts_per_second(args.posts)
    memory_flat(args.sizes)


if __name__ == "__main__":
    main()
