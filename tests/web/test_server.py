"""The HTTP server: slow clients cannot starve Slack or intake; framing tricks are refused."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest

from bot.web.intake import SIGNATURE_HEADER, sign
from bot.web.server import HttpServer
from tests.conftest import INTAKE_SECRET, BotUnderTest, http_get, intake_post, wait_until


def _raw(bot: BotUnderTest, request: bytes) -> bytes:
    """Send raw bytes to the bot and return everything it answers before closing."""
    host, port = bot.runtime.http.address
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def _intake_request(body: bytes, framing: bytes) -> bytes:
    return (
        b"POST /intake HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        + f"{SIGNATURE_HEADER}: {sign(body, INTAKE_SECRET)}\r\n".encode()
        + framing
        + b"Connection: close\r\n\r\n"
    )


@pytest.fixture
def slow_clients(bot: BotUnderTest) -> Iterator[list[socket.socket]]:
    """Fifty connections that stall: half mid-body, half mid-headers."""
    host, port = bot.runtime.http.address
    sockets = []
    try:
        for n in range(50):
            sock = socket.create_connection((host, port), timeout=10)
            if n % 2:
                sock.sendall(b"POST /intake HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{")
            else:
                sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nX-Slow: aaaa")
            sockets.append(sock)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def test_stalled_connections_do_not_starve_slack_or_intake(
    bot: BotUnderTest, slow_clients: list[socket.socket]
) -> None:
    help_answer = bot.command("help")
    assert help_answer.status == 200
    assert "/comms flag" in help_answer.json()["text"]
    assert bot.intake(intake_post("7001")).status == 202
    assert http_get(f"{bot.url}/healthz").status == 200


@pytest.mark.parametrize(
    "framing",
    [
        pytest.param(b"Content-Length: {n}\r\nContent-Length: {n}\r\n", id="duplicate length"),
        pytest.param(b"Content-Length: {n}\r\nContent-Length: 5\r\n", id="conflicting lengths"),
        pytest.param(b"Content-Length: {n}, {n}\r\n", id="list of lengths"),
        pytest.param(
            b"Transfer-Encoding: chunked\r\nContent-Length: {n}\r\n", id="chunked and length"
        ),
        pytest.param(b"Content-Length: +{n}\r\n", id="signed length"),
        # More digits than Python reads: the connection was dropped with an error logged.
        pytest.param(b"Content-Length: " + b"0" * 5000 + b"{n}\r\n", id="5,000-digit length"),
    ],
)
def test_ambiguous_body_framing_is_refused(bot: BotUnderTest, framing: bytes) -> None:
    body = json.dumps(intake_post("7101")).encode()
    framing = framing.replace(b"{n}", str(len(body)).encode())
    if b"chunked" in framing:
        body = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    answer = _raw(bot, _intake_request(body, framing) + body)
    assert _status(answer) == 400
    assert bot.store.get_post_record("x:7101") is None


def test_a_chunked_upload_is_accepted(bot: BotUnderTest) -> None:
    body = json.dumps(intake_post("7201")).encode()
    half = len(body) // 2
    chunked = b"".join(
        f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (body[:half], body[half:])
    )
    answer = _raw(
        bot, _intake_request(body, b"Transfer-Encoding: chunked\r\n") + chunked + b"0\r\n\r\n"
    )
    assert _status(answer) == 202
    assert bot.store.get_post_record("x:7201") is not None


def test_a_body_without_a_length_is_411(bot: BotUnderTest) -> None:
    answer = _raw(bot, _intake_request(b"", b""))
    assert _status(answer) == 411


def test_stop_lets_a_request_in_flight_finish() -> None:
    entered, release = threading.Event(), threading.Event()

    def app(environ, start_response):
        entered.set()
        release.wait(10)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "4")])
        return [b"done"]

    server = HttpServer(app, host="127.0.0.1", port=0, max_body_bytes=1024)
    server.start()
    host, port = server.address
    answers: list[bytes] = []
    client = socket.create_connection((host, port), timeout=10)
    client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert entered.wait(10)
    stopper = threading.Thread(target=server.stop)
    stopper.start()

    def refused() -> bool:
        try:
            socket.create_connection((host, port), timeout=1).close()
        except OSError:
            return True
        return False

    wait_until(refused, what="the server to stop accepting new connections")
    release.set()
    while chunk := client.recv(65536):
        answers.append(chunk)
    client.close()
    stopper.join(timeout=20)
    assert not stopper.is_alive()
    answer = b"".join(answers)
    assert _status(answer) == 200 and answer.endswith(b"done")
