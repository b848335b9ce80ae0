"""A tiny stand-in for the social media platform: a local HTTP server that checks what the
webhook publisher sends (signature, timestamp, Idempotency-Key) and answers as scripted."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SECRET = "platform-shared-secret"
SECRET_ENV = "COMMSBOT_PUBLISH_SECRET"
# A scripted answer: (status, body), or None to close the connection without answering.
Answer = tuple[int, str] | None


@dataclass
class Delivery:
    """One request as the platform received it."""

    key: str
    body: dict[str, Any]
    signed: bool
    fresh: bool
    status: int  # what the platform answered; 0 when it closed the connection instead


@dataclass
class Receiver:
    """What arrived, and the answers still to give (then 200)."""

    url: str = ""
    script: list[Answer] = field(default_factory=list)
    arrived: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def accepted(self) -> list[Delivery]:
        """Deliveries answered 2xx (what the platform would have published)."""
        with self.lock:
            return [d for d in self.arrived if 200 <= d.status < 300]

    def texts(self) -> list[str]:
        """The texts of the accepted deliveries, in order."""
        return [str(d.body["text"]) for d in self.accepted]


def _verify(body: bytes, headers: Any) -> tuple[bool, bool]:
    """(signature right, timestamp within five minutes): the recipe in the README."""
    stamp = headers.get("X-Commsbot-Timestamp", "")
    given = headers.get("X-Commsbot-Signature", "")
    expected = (
        "sha256="
        + hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    )
    fresh = stamp.isdigit() and abs(time.time() - int(stamp)) <= 300
    return hmac.compare_digest(given, expected), fresh


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            signed, fresh = _verify(body, self.headers)
            with receiver.lock:
                answer = receiver.script.pop(0) if receiver.script else (200, '{"id":"P1"}')
                if answer is not None and not (signed and fresh):
                    answer = (401, "bad signature")
                receiver.arrived.append(
                    Delivery(
                        key=self.headers.get("Idempotency-Key", ""),
                        body=json.loads(body),
                        signed=signed,
                        fresh=fresh,
                        status=answer[0] if answer else 0,
                    )
                )
            if answer is None:
                self.close_connection = True
                self.connection.close()  # no answer at all
                return
            payload = answer[1].encode()
            self.send_response(answer[0])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def running_receiver() -> Iterator[Receiver]:
    """A receiver on 127.0.0.1 and a free port, for the length of a test."""
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/replies"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def webhook_config(text: str, url: str) -> str:
    """desk.yaml text with the council account publishing to the receiver at `url`."""
    return text.replace(
        "    publisher:\n      kind: manual",
        f"    publisher:\n      kind: webhook\n      url: {url}\n"
        f"      secret_env: {SECRET_ENV}\n      timeout_seconds: 5\n      max_attempts: 5",
        1,
    )
