"""Serve the fake Slack Web API until Ctrl-C: ``python -m bot.fakeslack [--port N]``."""

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from bot.fakeslack.server import FakeSlack


def _channel(text: str) -> tuple[str, str]:
    """Parse a ``NAME=ID`` channel option."""
    name, sep, channel_id = text.partition("=")
    if not sep or not name or not channel_id:
        raise argparse.ArgumentTypeError(f"expected NAME=ID, e.g. comms-foi=C0FOI, not {text!r}")
    return name, channel_id


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot.fakeslack",
        description="Serve a fake Slack Web API on loopback HTTP until interrupted.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any free)")
    parser.add_argument("--bot-token", help="accept only this token (default: any token)")
    parser.add_argument(
        "--channel",
        type=_channel,
        action="append",
        default=[],
        metavar="NAME=ID",
        help="a channel that exists from the start (repeatable)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every call answered")
    return parser


def _stop_on_signal(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM (and SIGINT, even if the parent ignored it) into a clean shutdown."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the fake until interrupted; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(message)s")
    try:
        fake = FakeSlack(
            host=args.host, port=args.port, bot_token=args.bot_token, channels=dict(args.channel)
        )
        fake.start()
    except (ValueError, OSError) as error:
        parser.exit(2, f"{parser.prog}: cannot start: {error}\n")
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGINT, _stop_on_signal)
    try:
        # Inside the try: a signal may come as soon as the line is read, before the wait.
        print(f"Fake Slack Web API at {fake.url} (Ctrl-C to stop)", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
