"""Benchmark: a crisis through the real bot, against a Slack that takes one message a second.

A fire at a recycling plant: 10,000 posts over 10 minutes (by default), sent one per intake
request as a monitoring tool forwards them. About 70% are reports of the fire (one incident,
shown in the fire service's and the council's urgent channels), 15% ask about it (a few
themes in the enquiries channel) and 15% are the everyday long tail (bins, potholes,
libraries and parking in fifteen towns: about 60 themes over the enquiries and complaints
channels). Halfway through, one post names a person trapped. The bot runs as `commsbot serve`
in its own process with the shipped configuration (pace 1.1 s a channel, busy allowance
0.06 calls a post, urgent themes every 8 s at the latest); the local fake Slack answers
HTTP 429 with Retry-After to a second chat.postMessage or chat.update in a channel within a
second, as Slack does.

Prints, for the run without and with the Home tab opened once a second: intake p50/p99,
Slack calls per post, 429s received, the bot's peak RSS, the time from the last post until
Slack shows every post and /healthz has nothing waiting, when the trapped post appeared,
and how soon posts appeared (p50/p99, and the slowest urgent one). Then the outage
scenario: Slack down while 100,000 posts arrive (in requests of 1,000); the bot's RSS.
Targets: <= 0.1 Slack calls per post, no post missing, caught up within 2 minutes of the
last post, the trapped post shown within 10 s, intake p99 < 200 ms with or without the Home
tab, RSS < 150 MB with 100,000 posts waiting.

Run:  .venv/bin/python benchmarks/bench_crisis.py              # about 30 minutes
      .venv/bin/python benchmarks/bench_crisis.py --posts 2000 --seconds 120 --outage 20000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.demo.slack_requests import event_callback, signed_headers
from bot.fakeslack import FakeSlack
from bot.web.intake import SIGNATURE_HEADER, sign

REPO = Path(__file__).resolve().parent.parent
SIGNING_SECRET = "bench-signing-secret-0123456789"
INTAKE_SECRET = "bench-intake-secret-0123456789"
TOKEN = "xoxb-bench"
SMOKE = [
    "smoke pouring out",
    "smoke billowing over the houses",
    "smoke everywhere",
    "flames everywhere",
    "smoke coming over the estate",
]
REPORTS = [
    "The recycling plant on Mill Lane in Anyton is on fire, {s}",
    "There's a fire at the recycling plant on Mill Lane, {s}",
    "Mill Lane recycling plant is ablaze in Anyton, {s}",
    "I can see flames at the Mill Lane recycling plant, {s}",
    "There is a fire on Mill Lane in Anyton, {s}",
]
TALK = [
    "Is the A140 closed because of the Mill Lane fire?",
    "Are the schools in Anyton open tomorrow with the smoke from the Mill Lane fire?",
    "Should we keep our windows shut in Anyton because of the smoke?",
]
TOWNS = [
    "Ashby", "Hadleigh", "Sudbury", "Brookfield", "Longfield", "Eastwick", "Northam",
    "Westbury", "Kingsley", "Marston", "Oakley", "Radley", "Selby", "Thornton", "Upton",
]  # fmt: skip
TAIL = [
    "The bins in {t} have not been collected this week",
    "Pothole on the high street in {t} has still not been fixed, shocking",
    "When is the library in {t} open on Sunday?",
    "How do I get a parking permit in {t}?",
]
TRAPPED = "My dad is trapped upstairs in his house on Mill Lane, the smoke is coming in, help"
_URL = re.compile(r"https://x\.com/r\d+/status/(c\d+)")


def make_posts(count: int, *, seed: int = 7) -> list[dict[str, Any]]:
    """The crisis's posts in the intake format (posted_at is set when each is sent)."""
    rng = random.Random(seed)
    posts = []
    for n in range(count):
        roll = rng.random()
        account = "fire" if rng.random() < 0.6 else "council"
        if n == count // 2:
            text, account = TRAPPED, "fire"
        elif roll < 0.70:
            text = rng.choice(REPORTS).format(s=rng.choice(SMOKE))
        elif roll < 0.85:
            text, account = rng.choice(TALK), "council"
        else:
            text, account = rng.choice(TAIL).format(t=rng.choice(TOWNS)), "council"
        author = f"r{rng.randrange(100_000)}"
        posts.append(
            {
                "id": f"c{n}",
                "network": "x",
                "account": account,
                "author": {"handle": f"@{author}", "followers": rng.randrange(2000)},
                "text": text,
                "url": f"https://x.com/{author}/status/c{n}",
                "kind": "post",
            }
        )
    return posts


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, float, bytes]:
    """Status, seconds taken and body of the answer."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    began = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        answer = exc.read()
        status = exc.code
    return status, time.perf_counter() - began, answer


def _get_json(url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as exc:
        return dict(json.loads(exc.read()))


class Bot:
    """`commsbot serve` in its own process, with its peak RSS sampled."""

    def __init__(self, slack: FakeSlack, workdir: Path) -> None:
        config = workdir / "config"
        shutil.copytree(REPO / "config", config, dirs_exist_ok=True)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "COMMSBOT_INTAKE_SECRET": INTAKE_SECRET,
            "SLACK_API_URL": slack.url,
            "COMMSBOT_CONFIG_DIR": str(config),
            "COMMSBOT_DATA_DIR": str(workdir / "data"),
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
        } | {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            cwd=workdir,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(workdir / "bot.log", "w"),  # noqa: SIM115 - closed with the process
        )
        self.peak_rss = 0
        self._sampling = threading.Event()
        threading.Thread(target=self._sample_rss, daemon=True).start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.health()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the bot did not start; see {workdir / 'bot.log'}")

    def _sample_rss(self) -> None:
        status = Path(f"/proc/{self.process.pid}/status")
        while not self._sampling.is_set() and self.process.poll() is None:
            try:
                text = status.read_text()
            except OSError:
                return
            for line in text.splitlines():
                if line.startswith(("VmHWM:", "VmRSS:")):
                    self.peak_rss = max(self.peak_rss, int(line.split()[1]) * 1024)
            time.sleep(0.25)

    def health(self) -> dict[str, Any]:
        return _get_json(f"{self.url}/healthz")

    def intake(self, posts: list[dict[str, Any]]) -> tuple[int, float, list[dict[str, Any]]]:
        """Status, seconds taken and the result of each post."""
        body = json.dumps(posts).encode("utf-8")
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, INTAKE_SECRET)}
        status, took, answer = _post(f"{self.url}/intake", body, headers)
        return status, took, list(json.loads(answer).get("results") or [])

    def open_home(self, number: int) -> None:
        event = {"type": "app_home_opened", "user": "U0STAFF01", "tab": "home"}
        body, content_type = event_callback(event, event_id=f"EvHome{number:06d}")
        headers = {"Content-Type": content_type} | signed_headers(
            body, signing_secret=SIGNING_SECRET
        )
        _post(f"{self.url}/slack/events", body, headers)

    def stop(self) -> None:
        self._sampling.set()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Run:
    """What one crisis run measured."""

    posts: int
    intake: list[float] = field(default_factory=list)
    sent_at: dict[str, float] = field(default_factory=dict)  # post id -> monotonic
    last_sent: float = 0.0
    caught_up_after: float | None = None
    missing: int = 0
    calls: int = 0
    rate_limited: int = 0
    peak_rss: int = 0
    shown_after: dict[str, float] = field(default_factory=dict)  # post id -> seconds
    kinds: dict[str, int] = field(default_factory=dict)  # calls by method and kind
    urgent: set[str] = field(default_factory=set)


def _first_shown(slack: FakeSlack) -> dict[str, float]:
    """When each post first appeared in a message Slack accepted (monotonic)."""
    seen: dict[str, float] = {}
    for call in slack.calls:
        if call.method in ("chat.postMessage", "chat.update") and call.ok:
            for post_id in _URL.findall(json.dumps(call.params.get("blocks") or [])):
                seen.setdefault(post_id, call.at)
    return seen


def _all_shown(slack: FakeSlack, posts: list[dict[str, Any]]) -> int:
    """How many posts Slack does not show now (parents and threads, every channel)."""
    everything = json.dumps([slack.messages(channel) for channel in slack.channels().values()])
    shown = set(_URL.findall(everything))
    return sum(post["id"] not in shown for post in posts)


def crisis(posts: list[dict[str, Any]], *, seconds: float, home: bool) -> Run:
    """Send the posts over `seconds` and wait until Slack shows them all."""
    run = Run(posts=len(posts))
    with (
        tempfile.TemporaryDirectory(prefix="commsbot-crisis-") as workdir,
        FakeSlack(bot_token=TOKEN) as slack,
    ):
        slack.limit_per_channel(1.0)
        bot = Bot(slack, Path(workdir))
        try:
            started_calls = len(slack.calls)
            stop_home = threading.Event()
            if home:
                threading.Thread(
                    target=_home_every_second, args=(bot, stop_home), daemon=True
                ).start()
            began = time.monotonic()
            for n, post in enumerate(posts):
                due = began + seconds * n / len(posts)
                time.sleep(max(due - time.monotonic(), 0))
                post = post | {"posted_at": _utc_now()}
                run.sent_at[post["id"]] = time.monotonic()
                status, took, results = bot.intake([post])
                assert status == 202, status
                run.intake.append(took)
                if results[0].get("category") == "urgent":
                    run.urgent.add(post["id"])
            run.last_sent = time.monotonic()
            stop_home.set()
            deadline = run.last_sent + 600
            while time.monotonic() < deadline:
                pending = bot.health().get("outbox", {}).get("pending", 1)
                if pending == 0 and _all_shown(slack, posts) == 0:
                    run.caught_up_after = time.monotonic() - run.last_sent
                    break
                time.sleep(0.5)
            run.missing = _all_shown(slack, posts)
            # Slack calls made to show posts: the Home tab's views.publish are its own.
            run.calls = sum(call.method != "views.publish" for call in slack.calls[started_calls:])
            for call in slack.calls[started_calls:]:
                kind = f"{call.params.get('channel', '')} {call.method}"
                if call.method == "chat.postMessage":
                    kind += " (thread)" if call.params.get("thread_ts") else " (parent)"
                run.kinds[kind] = run.kinds.get(kind, 0) + 1
            run.rate_limited = sum(slack.rate_limited().values())
            first = _first_shown(slack)
            run.shown_after = {
                post_id: at - run.sent_at[post_id]
                for post_id, at in first.items()
                if post_id in run.sent_at
            }
        finally:
            bot.stop()
            run.peak_rss = bot.peak_rss
    return run


def _utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())


def _home_every_second(bot: Bot, stop: threading.Event) -> None:
    number = 0
    while not stop.wait(1.0):
        number += 1
        bot.open_home(number)


def outage(count: int, *, batch: int = 1000) -> tuple[int, float, dict[str, Any]]:
    """Slack down while `count` posts arrive: the bot's peak RSS, seconds taken, /healthz."""
    posts = make_posts(count, seed=11)
    stamp = _utc_now()
    with (
        tempfile.TemporaryDirectory(prefix="commsbot-outage-") as workdir,
        FakeSlack(bot_token=TOKEN) as slack,
    ):
        bot = Bot(slack, Path(workdir))
        try:
            slack.go_down()
            began = time.monotonic()
            for start in range(0, count, batch):
                chunk = [p | {"posted_at": stamp} for p in posts[start : start + batch]]
                status, _, _ = bot.intake(chunk)
                assert status == 202, status
            took = time.monotonic() - began
            time.sleep(2)
            health = bot.health()
        finally:
            bot.stop()
        return bot.peak_rss, took, health


def _ms(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(int(len(ordered) * fraction) - 1, 0)] * 1000


def report(name: str, run: Run) -> None:
    shown = list(run.shown_after.values())
    urgent = [run.shown_after[p] for p in run.urgent if p in run.shown_after]
    trapped = run.shown_after.get(f"c{run.posts // 2}")
    print(f"{name}:")
    print(
        f"  intake: p50 {_ms(run.intake, 0.5):.0f} ms, p99 {_ms(run.intake, 0.99):.0f} ms "
        f"({len(run.intake):,} requests; target p99 < 200 ms)"
    )
    print(
        f"  Slack calls to show the posts: {run.calls:,}, {run.calls / run.posts:.3f} per post "
        f"(target <= 0.1); 429s received: {run.rate_limited:,}"
    )
    print("  calls: " + ", ".join(f"{k} {v:,}" for k, v in sorted(run.kinds.items())))
    print(f"  peak RSS of the bot: {run.peak_rss / 2**20:.0f} MB")
    caught = "never" if run.caught_up_after is None else f"{run.caught_up_after:.0f} s"
    print(
        f"  Slack shows every post {caught} after the last one (target <= 120 s); "
        f"posts missing: {run.missing}"
    )
    print(
        f"  the trapped post appeared after {trapped:.1f} s (target <= 10 s)"
        if trapped is not None
        else "  the trapped post never appeared"
    )
    if shown:
        print(
            f"  posts appeared after: p50 {_ms(shown, 0.5) / 1000:.1f} s, "
            f"p99 {_ms(shown, 0.99) / 1000:.1f} s; urgent reports p50 "
            f"{_ms(urgent, 0.5) / 1000:.1f} s, p99 {_ms(urgent, 0.99) / 1000:.1f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--outage", type=int, default=100_000, help="posts waiting (0: skip)")
    parser.add_argument("--no-home", action="store_true", help="skip the Home tab run")
    args = parser.parse_args()
    posts = make_posts(args.posts)
    print(
        f"crisis: {args.posts:,} posts over {args.seconds:.0f} s "
        f"({args.posts / args.seconds:.1f} a second), Slack taking 1 message/s/channel"
    )
    report("without the Home tab", crisis(posts, seconds=args.seconds, home=False))
    if not args.no_home:
        report(
            "with the Home tab opened once a second", crisis(posts, seconds=args.seconds, home=True)
        )
    if args.outage:
        rss, took, health = outage(args.outage)
        outbox = health.get("outbox", {})
        print(
            f"Slack down while {args.outage:,} posts arrive ({took:.0f} s): peak RSS "
            f"{rss / 2**20:.0f} MB (target < 150 MB); waiting: {outbox.get('pending')} views "
            f"of {outbox.get('open_themes')} themes"
        )


if __name__ == "__main__":
    main()
