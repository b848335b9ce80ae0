"""Benchmark: Slack's requests and intake while slow or stalled clients hold connections open.

Starts the real bot on loopback (against the local fake Slack), opens `--slow` connections
that misbehave the way a slowloris attack or a broken proxy does, and meanwhile times signed
`/comms help` commands and signed intake posts. Half the slow connections announce a body
larger than what they send and then stall; the other half send their headers one byte at a
time. Prints the median, 99th percentile and worst answer time of each kind of request and
how many got no answer within 10 s. Slack gives up on a command after 3 s; the target is a
p99 under 1 s with 50 slow connections open.

Run:  .venv/bin/python benchmarks/bench_slow_clients.py [--slow 50] [--requests 200]
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from bot.demo.slack_requests import signed_headers, slash_command
from bot.fakeslack import FakeSlack
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.web.intake import SIGNATURE_HEADER, sign

REPO = Path(__file__).resolve().parent.parent
SIGNING_SECRET = "bench-signing-secret-0123456789"
INTAKE_SECRET = "bench-intake-secret-0123456789"
TOKEN = "xoxb-bench"


def stalled_body(host: str, port: int) -> socket.socket:
    """A connection that promises 100,000 bytes of body, sends ten, then goes quiet."""
    sock = socket.create_connection((host, port))
    sock.sendall(
        b"POST /intake HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000\r\n\r\n0123456789"
    )
    return sock


def dribble_headers(host: str, port: int, stop: threading.Event) -> None:
    """A connection that sends its headers one byte every half second until told to stop."""
    request = b"POST /slack/events HTTP/1.1\r\nHost: bench\r\nX-Padding: " + b"a" * 10_000
    try:
        with socket.create_connection((host, port)) as sock:
            for byte in request:
                if stop.wait(0.5):
                    return
                sock.sendall(bytes([byte]))
    except OSError:
        return  # the server hung up on a client this slow: fine


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, float]:
    """Status and seconds taken; status 0 if there was no answer within 10 s."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    began = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError:
        status = 0
    return status, time.perf_counter() - began


def report(what: str, results: list[tuple[int, float]], expected: int) -> None:
    timings = sorted(seconds for _, seconds in results)
    p99 = timings[max(int(len(timings) * 0.99) - 1, 0)]
    failed = sum(status != expected for status, _ in results)
    print(
        f"  {what}: median {statistics.median(timings) * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, worst {timings[-1] * 1000:.0f} ms; "
        f"{failed} of {len(results)} not answered {expected}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow", type=int, default=50, help="slow connections to hold open")
    parser.add_argument("--requests", type=int, default=200, help="timed requests of each kind")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="commsbot-bench-") as tmp, FakeSlack() as fake:
        config = Path(tmp) / "config"
        shutil.copytree(REPO / "config", config)
        settings = Settings(
            bot_token=TOKEN,
            signing_secret=SIGNING_SECRET,
            app_token=None,
            intake_secret=INTAKE_SECRET,
            api_url=fake.url,
            config_dir=config,
            data_dir=Path(tmp) / "data",
            port=0,
        )
        runtime = build_runtime(settings, host="127.0.0.1")
        runtime.start()
        host, port = runtime.http.address
        stop = threading.Event()
        stalled: list[socket.socket] = []
        dribblers: list[threading.Thread] = []
        try:
            for n in range(args.slow):
                if n % 2:
                    stalled.append(stalled_body(host, port))
                else:
                    thread = threading.Thread(target=dribble_headers, args=(host, port, stop))
                    thread.start()
                    dribblers.append(thread)
            time.sleep(1.0)  # let every slow client get its connection accepted
            print(f"{args.slow} slow connections open; {args.requests} timed requests each:")
            measure(runtime.base_url, args.requests)
        finally:
            stop.set()
            for sock in stalled:
                sock.close()
            for thread in dribblers:
                thread.join(timeout=5)
            runtime.stop()


def measure(base: str, count: int) -> None:
    def command(n: int) -> tuple[int, float]:
        body, content_type = slash_command("help")
        headers = {"Content-Type": content_type} | signed_headers(
            body, signing_secret=SIGNING_SECRET
        )
        return post(f"{base}/slack/events", body, headers)

    def intake(n: int) -> tuple[int, float]:
        payload = {
            "id": f"slow-bench-{n}",
            "network": "x",
            "account": "council",
            "author": {"handle": "@bench"},
            "text": "When is the library open on Sunday?",
            "posted_at": "2026-11-20T09:14:00+00:00",
        }
        body = json.dumps(payload).encode()
        return post(f"{base}/intake", body, {SIGNATURE_HEADER: sign(body, INTAKE_SECRET)})

    kinds: list[tuple[str, Callable[[int], tuple[int, float]], int]] = [
        ("signed /comms help", command, 200),
        ("signed intake post", intake, 202),
    ]
    for what, send, expected in kinds:
        report(what, [send(n) for n in range(count)], expected)


if __name__ == "__main__":
    main()
