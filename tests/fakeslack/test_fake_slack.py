"""The fake Slack Web API, driven the way the bot drives Slack: through a real WebClient."""

import json
import logging
import selectors
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from urllib.error import URLError

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from bot.fakeslack import Call, FakeSlack

TOKEN = "xoxb-test-token"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(bot_token=TOKEN, channels={"comms-foi": "C0FOI"}) as running:
        yield running


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    # No retry handlers: the default one sleeps before retrying connection errors.
    return WebClient(base_url=fake.url, token=TOKEN, retry_handlers=[])


def slack_error(call) -> SlackApiError:
    """The SlackApiError raised by ``call()``."""
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value


def post_raw(url: str, body: bytes, content_type: str) -> dict:
    """POST raw bytes, bypassing slack_sdk, and decode the JSON answer."""
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Content-Type": content_type, "Authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=2) as response:
        return json.loads(response.read())


# -- identity and auth ------------------------------------------------------------------------


def test_auth_test_says_who_the_bot_is(fake: FakeSlack, client: WebClient) -> None:
    answer = client.auth_test()

    assert answer["user_id"] == "U0BOT"
    assert answer["bot_id"] == "B0BOT"
    assert answer["team"] == "Comms Desk"
    assert fake.calls == [Call("auth.test", {}, TOKEN, 200, True)]


def test_url_is_a_loopback_base_url_for_web_client(fake: FakeSlack) -> None:
    assert fake.url == f"http://127.0.0.1:{fake.port}/api/"


@pytest.mark.parametrize(
    ("token", "error"), [("xoxb-someone-else", "invalid_auth"), (None, "not_authed")]
)
def test_wrong_or_missing_token_is_refused(fake: FakeSlack, token: str | None, error: str) -> None:
    stranger = WebClient(base_url=fake.url, token=token, retry_handlers=[])

    refused = slack_error(lambda: stranger.chat_postMessage(channel="comms-foi", text="hi"))

    assert refused.response["error"] == error
    assert fake.messages("comms-foi") == []
    assert fake.calls_to("chat.postMessage")[0].ok is False


def test_any_token_is_accepted_without_a_bot_token() -> None:
    with FakeSlack() as fake:
        client = WebClient(base_url=fake.url, token="xoxb-anything", retry_handlers=[])

        assert client.auth_test()["ok"] is True
        assert fake.calls[0].token == "xoxb-anything"


def test_unknown_method_answers_unknown_method(client: WebClient) -> None:
    refused = slack_error(lambda: client.api_call("files.frobnicate"))

    assert refused.response.status_code == 200
    assert refused.response["error"] == "unknown_method"


# -- posting and channels ---------------------------------------------------------------------


def test_posted_message_is_in_the_channel(fake: FakeSlack, client: WebClient) -> None:
    answer = client.chat_postMessage(channel="#comms-foi", text="New FOI request")

    assert answer["channel"] == "C0FOI"
    assert answer["message"]["user"] == "U0BOT"
    [message] = fake.messages("comms-foi")
    assert message["text"] == "New FOI request"
    assert message["ts"] == answer["ts"]
    assert fake.messages("C0FOI") == fake.messages("#comms-foi") == [message]


def test_message_timestamps_are_unique_and_increasing(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="C0FOI", text=str(n))["ts"] for n in range(3)]

    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == 3


def test_unknown_channel_name_is_created_on_first_post(fake: FakeSlack, client: WebClient) -> None:
    answer = client.chat_postMessage(channel="#press-office", text="hello")

    channel_id = fake.channel_id("press-office")
    assert answer["channel"] == channel_id
    assert channel_id.startswith("C") and len(channel_id) == 9
    assert fake.channels() == {"comms-foi": "C0FOI", "press-office": channel_id}
    assert fake.channel_id("#press-office") == fake.channel_id(channel_id) == channel_id


def test_unknown_channel_is_not_found_without_auto_create() -> None:
    with FakeSlack(channels={"comms-foi": "C0FOI"}, auto_create_channels=False) as fake:
        client = WebClient(base_url=fake.url, token=TOKEN, retry_handlers=[])

        refused = slack_error(lambda: client.chat_postMessage(channel="press", text="hi"))

        assert refused.response["error"] == "channel_not_found"
        assert fake.channels() == {"comms-foi": "C0FOI"}
        with pytest.raises(KeyError):
            fake.channel_id("press")


def test_post_without_text_or_blocks_is_refused(client: WebClient) -> None:
    refused = slack_error(lambda: client.api_call("chat.postMessage", json={"channel": "C0FOI"}))

    assert refused.response["error"] == "no_text"


def test_blocks_sent_as_a_form_json_string_are_decoded(fake: FakeSlack, client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Urgent*"}}]

    client.api_call(
        "chat.postMessage",
        params={"channel": "comms-foi", "text": "Urgent", "blocks": json.dumps(blocks)},
    )

    assert fake.calls_to("chat.postMessage")[0].params["blocks"] == blocks
    assert fake.messages("comms-foi")[0]["blocks"] == blocks


def test_thread_replies_are_kept_with_their_thread(fake: FakeSlack, client: WebClient) -> None:
    parent = client.chat_postMessage(channel="comms-foi", text="Request 42")["ts"]
    client.chat_postMessage(channel="comms-foi", text="Drafted", thread_ts=parent)

    first, reply = fake.messages("comms-foi")
    assert reply["thread_ts"] == parent
    assert first["reply_count"] == 1
    thread = client.conversations_replies(channel="C0FOI", ts=parent)["messages"]
    assert [m["text"] for m in thread] == ["Request 42", "Drafted"]
    history = client.conversations_history(channel="C0FOI")["messages"]
    assert [m["text"] for m in history] == ["Request 42"]


def test_direct_message_to_a_user_opens_a_dm(fake: FakeSlack, client: WebClient) -> None:
    answer = client.chat_postMessage(channel="U0DUTY", text="You are on duty")

    assert answer["channel"].startswith("D")
    assert fake.messages("U0DUTY")[0]["text"] == "You are on duty"
    assert client.conversations_open(users="U0DUTY")["channel"]["id"] == answer["channel"]


def test_update_and_delete_change_the_channel(fake: FakeSlack, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="comms-foi", text="Draft")["ts"]

    client.chat_update(channel="comms-foi", ts=ts, text="Final")
    assert [m["text"] for m in fake.messages("comms-foi")] == ["Final"]
    assert "edited" in fake.messages("comms-foi")[0]

    client.chat_delete(channel="C0FOI", ts=ts)
    assert fake.messages("comms-foi") == []
    gone = slack_error(lambda: client.chat_update(channel="C0FOI", ts=ts, text="again"))
    assert gone.response["error"] == "message_not_found"


def test_ephemeral_message_is_recorded_but_not_in_the_channel(
    fake: FakeSlack, client: WebClient
) -> None:
    answer = client.chat_postEphemeral(channel="comms-foi", user="U0ALICE", text="Only you")

    assert answer["message_ts"]
    assert fake.messages("comms-foi") == []
    assert fake.calls_to("chat.postEphemeral")[0].params["user"] == "U0ALICE"


def test_permalink_points_at_the_message(client: WebClient) -> None:
    ts = client.chat_postMessage(channel="comms-foi", text="x")["ts"]

    link = client.chat_getPermalink(channel="comms-foi", message_ts=ts)["permalink"]

    assert link.endswith(f"/archives/C0FOI/p{ts.replace('.', '')}")


def test_reactions_are_added_and_removed(fake: FakeSlack, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="comms-foi", text="x")["ts"]

    client.reactions_add(channel="C0FOI", timestamp=ts, name="eyes")
    assert fake.messages("comms-foi")[0]["reactions"][0]["name"] == "eyes"
    twice = slack_error(lambda: client.reactions_add(channel="C0FOI", timestamp=ts, name="eyes"))
    assert twice.response["error"] == "already_reacted"

    client.reactions_remove(channel="C0FOI", timestamp=ts, name="eyes")
    assert "reactions" not in fake.messages("comms-foi")[0]


def test_conversations_list_pages_through_channels(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="press-office", text="x")

    names = [
        channel["name"]
        for page in client.conversations_list(limit=1)
        for channel in page["channels"]
    ]

    assert names == ["comms-foi", "press-office"]
    info = client.conversations_info(channel="C0FOI")["channel"]
    assert (info["name"], info["is_member"]) == ("comms-foi", True)
    assert client.conversations_join(channel="C0FOI")["channel"]["id"] == "C0FOI"
    missing = slack_error(lambda: client.conversations_info(channel="C0NOPE"))
    assert missing.response["error"] == "channel_not_found"


def test_users_info_gives_a_london_user(client: WebClient) -> None:
    user = client.users_info(user="U0ALICE")["user"]

    assert user["id"] == "U0ALICE"
    assert user["tz"] == "Europe/London"
    assert user["real_name"] == user["profile"]["real_name"]


# -- views ------------------------------------------------------------------------------------


def test_published_home_view_is_remembered(fake: FakeSlack, client: WebClient) -> None:
    view = {"type": "home", "blocks": [{"type": "divider"}]}

    first = client.views_publish(user_id="U0ALICE", view=view)["view"]
    again = client.views_publish(user_id="U0ALICE", view=view, hash=first["hash"])["view"]

    assert again["id"] == first["id"] and again["id"].startswith("V")
    assert fake.home_view("U0ALICE") == again
    assert fake.home_view("U0BOB") is None
    stale = slack_error(
        lambda: client.views_publish(user_id="U0ALICE", view=view, hash=first["hash"])
    )
    assert stale.response["error"] == "hash_conflict"


# -- response URLs ----------------------------------------------------------------------------


def test_response_url_accepts_and_records_the_reply(fake: FakeSlack) -> None:
    url = fake.response_url()
    assert url != fake.response_url()

    answer = WebhookClient(url).send(text="Logged", response_type="ephemeral")

    assert (answer.status_code, answer.body) == (200, "ok")
    [call] = fake.calls_to("response_url")
    assert call.params == {"text": "Logged", "response_type": "ephemeral"}
    assert fake.responses(url) == [call.params]


# -- injected faults --------------------------------------------------------------------------


def test_fail_answers_the_error_then_recovers(fake: FakeSlack, client: WebClient) -> None:
    fake.fail("chat.postMessage", "is_archived", times=2)

    for _ in range(2):
        refused = slack_error(lambda: client.chat_postMessage(channel="C0FOI", text="x"))
        assert refused.response["error"] == "is_archived"
    client.chat_postMessage(channel="C0FOI", text="x")

    assert [c.ok for c in fake.calls_to("chat.postMessage")] == [False, False, True]
    assert len(fake.messages("comms-foi")) == 1


def test_faults_are_consumed_in_order(fake: FakeSlack, client: WebClient) -> None:
    fake.fail("auth.test", "first")
    fake.fail("auth.test", "second")

    errors = [slack_error(client.auth_test).response["error"] for _ in range(2)]

    assert errors == ["first", "second"]


def test_rate_limit_without_retry_handler_raises_429(fake: FakeSlack, client: WebClient) -> None:
    fake.rate_limit("chat.postMessage", retry_after=7)

    limited = slack_error(lambda: client.chat_postMessage(channel="C0FOI", text="x"))

    assert limited.response.status_code == 429
    assert limited.response.headers["Retry-After"] == "7"
    assert limited.response["error"] == "ratelimited"
    assert fake.calls_to("chat.postMessage")[0].status == 429
    assert fake.messages("comms-foi") == []


def test_rate_limit_retry_handler_gets_through(fake: FakeSlack) -> None:
    patient = WebClient(
        base_url=fake.url, token=TOKEN, retry_handlers=[RateLimitErrorRetryHandler()]
    )
    fake.rate_limit(retry_after=0)

    patient.chat_postMessage(channel="comms-foi", text="eventually")

    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 200]
    assert len(fake.messages("comms-foi")) == 1


def test_server_error_gives_http_500(fake: FakeSlack, client: WebClient) -> None:
    fake.server_error()

    failed = slack_error(client.auth_test)

    assert failed.response.status_code == 500
    assert client.auth_test()["ok"] is True


def test_delay_makes_a_short_timeout_client_time_out(fake: FakeSlack) -> None:
    hasty = WebClient(base_url=fake.url, token=TOKEN, timeout=0.2, retry_handlers=[])  # type: ignore[arg-type]
    fake.delay("auth.test", seconds=2)

    with pytest.raises(TimeoutError):
        hasty.auth_test()

    assert hasty.users_info(user="U0ALICE")["ok"] is True


def test_go_down_refuses_connections_and_come_up_restores(
    fake: FakeSlack, client: WebClient
) -> None:
    client.chat_postMessage(channel="comms-foi", text="before")
    url = fake.url

    for _ in range(2):
        fake.go_down()
        with pytest.raises(URLError) as refused:
            client.auth_test()
        assert isinstance(refused.value.reason, ConnectionRefusedError)

        fake.come_up()
        assert fake.url == url
        assert client.auth_test()["ok"] is True

    assert [m["text"] for m in fake.messages("comms-foi")] == ["before"]


def test_go_down_cuts_off_a_delayed_answer(fake: FakeSlack, client: WebClient) -> None:
    fake.delay("auth.test", seconds=30)
    failures: list[BaseException] = []

    def call() -> None:
        try:
            client.auth_test()
        except Exception as error:
            failures.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    fake.wait_for_held(1)
    fake.go_down()
    caller.join(timeout=10)

    assert not caller.is_alive()
    assert len(failures) == 1
    assert fake.calls_to("auth.test") == []


def test_stop_is_idempotent_and_releases_the_port() -> None:
    fake = FakeSlack().start()
    port = fake.port

    fake.stop()
    fake.stop()

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))


# -- robustness -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "error"),
    [
        (b"{not json", "application/json", "invalid_json"),
        (b"[1, 2]", "application/json; charset=utf-8", "invalid_json"),
        (b"channel=%ZZ&&text", "application/x-www-form-urlencoded", "invalid_form_data"),
        (b"\xff\xfe", "application/x-www-form-urlencoded", "invalid_form_data"),
    ],
)
def test_malformed_bodies_are_refused(
    fake: FakeSlack, body: bytes, content_type: str, error: str
) -> None:
    answer = post_raw(fake.url + "chat.postMessage", body, content_type)

    assert answer == {"ok": False, "error": error}
    assert fake.calls_to("chat.postMessage")[0].ok is False


def test_a_crash_inside_the_fake_is_logged_and_answered_500(
    fake: FakeSlack, client: WebClient, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    def explode(params: dict) -> dict:
        raise RuntimeError("boom")

    monkeypatch.setitem(fake._workspace.methods, "auth.test", explode)

    failed = slack_error(client.auth_test)

    assert failed.response.status_code == 500
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)
    assert client.users_info(user="U0ALICE")["ok"] is True


def test_concurrent_posts_are_all_kept(fake: FakeSlack, client: WebClient) -> None:
    def post(n: int) -> None:
        client.chat_postMessage(channel="comms-foi", text=f"post {n}")

    threads = [threading.Thread(target=post, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({m["ts"] for m in fake.messages("comms-foi")}) == 8


# -- waiting and resetting --------------------------------------------------------------------


def test_wait_for_calls_returns_once_calls_arrive(fake: FakeSlack, client: WebClient) -> None:
    later = threading.Timer(0.05, lambda: client.chat_postMessage(channel="C0FOI", text="x"))
    later.start()

    calls = fake.wait_for_calls("chat.postMessage", 1, timeout=2)
    later.join()

    assert calls[0].params["text"] == "x"


def test_wait_for_calls_names_what_was_seen(fake: FakeSlack, client: WebClient) -> None:
    client.auth_test()

    with pytest.raises(AssertionError, match=r"chat\.postMessage.*auth\.test \(200 ok\)"):
        fake.wait_for_calls("chat.postMessage", 1, timeout=0.05)


def test_reset_forgets_calls_messages_and_faults(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="press-office", text="x")
    fake.fail("auth.test", "nope")

    fake.reset()

    assert fake.calls == []
    assert fake.messages("comms-foi") == []
    assert fake.channels() == {"comms-foi": "C0FOI"}
    assert client.auth_test()["ok"] is True


def test_bad_channel_configuration_is_reported_at_once() -> None:
    with pytest.raises(ValueError, match=r"'Bad Name'.*'lowercase'"):
        FakeSlack(channels={"Bad Name": "C0OK", "ok": "lowercase"})


# -- command line -----------------------------------------------------------------------------


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The first line the process prints, or AssertionError if none comes within `timeout`."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError(f"the process printed nothing within {timeout}s")
    return process.stdout.readline()


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_module_serves_until_interrupted(stop_signal: signal.Signals) -> None:
    # Started with SIGINT ignored, as a parent that ignores it would pass on: the fake must
    # still stop on it, and nothing here may wait without a limit.
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.fakeslack", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        line = _first_line(process, timeout=20)
        url = line.split()[line.split().index("at") + 1]
        client = WebClient(base_url=url, token=TOKEN, retry_handlers=[])
        assert client.auth_test()["ok"] is True
        process.send_signal(stop_signal)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()


def test_section_text_over_slacks_limit_is_refused(fake: FakeSlack) -> None:
    client = WebClient(base_url=fake.url, token=TOKEN, retry_handlers=[])
    block = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="#general", text="long", blocks=[block])
    assert caught.value.response["error"] == "invalid_blocks"
    block["text"]["text"] = "x" * 3000
    assert client.chat_postMessage(channel="#general", text="ok", blocks=[block])["ok"]


def test_metadata_is_kept_and_shown_in_history_only_when_asked(
    fake: FakeSlack, client: WebClient
) -> None:
    metadata = {"event_type": "commsbot_outbox", "event_payload": {"id": "42"}}
    first = client.chat_postMessage(channel="comms-foi", text="one", metadata=metadata)
    client.chat_postMessage(channel="comms-foi", text="two")

    plain = client.conversations_history(channel="C0FOI")["messages"]
    full = client.conversations_history(channel="C0FOI", include_all_metadata=True)["messages"]
    since = client.conversations_history(channel="C0FOI", oldest=first["ts"])["messages"]

    assert all("metadata" not in message for message in plain)
    assert [m.get("metadata") for m in full] == [None, metadata]
    assert [m["text"] for m in since] == ["two"]  # oldest is exclusive, as in Slack
    with pytest.raises(SlackApiError, match="invalid_metadata_format"):
        client.chat_postMessage(channel="comms-foi", text="x", metadata={"event_type": 1})


def test_a_late_answer_posts_the_message_before_the_caller_gives_up(fake: FakeSlack) -> None:
    hasty = WebClient(base_url=fake.url, token=TOKEN, timeout=0.2, retry_handlers=[])  # type: ignore[arg-type]
    fake.answer_late("chat.postMessage", seconds=30)

    with pytest.raises(TimeoutError):
        hasty.chat_postMessage(channel="comms-foi", text="slow but accepted")

    assert [m["text"] for m in fake.messages("comms-foi")] == ["slow but accepted"]


def test_blocks_holding_too_much_text_in_all_are_refused(fake: FakeSlack) -> None:
    client = WebClient(base_url=fake.url, token=TOKEN, retry_handlers=[])
    sections = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 2900}}] * 5
    error = slack_error(lambda: client.chat_postMessage(channel="C0FOI", text="t", blocks=sections))
    assert error.response["error"] == "msg_blocks_too_long"
    client.chat_postMessage(channel="C0FOI", text="t", blocks=sections[:4])  # 11,600: fine


def test_the_per_channel_rate_limit_answers_429_with_retry_after(
    fake: FakeSlack, client: WebClient
) -> None:
    fake.limit_per_channel(1.0)
    first = client.chat_postMessage(channel="C0FOI", text="one")
    error = slack_error(lambda: client.chat_postMessage(channel="C0FOI", text="two"))
    assert error.response.status_code == 429
    assert error.response.headers["Retry-After"] == "1"
    reply = slack_error(
        lambda: client.chat_update(channel="C0FOI", ts=first["ts"], text="one, edited")
    )
    assert reply.response.status_code == 429  # updates count against the channel too
    client.chat_postMessage(channel="#elsewhere", text="another channel is not held up")
    assert fake.rate_limited() == {"C0FOI": 2}
    fake.limit_per_channel(None)
    client.chat_postMessage(channel="C0FOI", text="two")
    assert [m["text"] for m in fake.messages("C0FOI")] == ["one", "two"]


def test_auth_test_says_which_scopes_the_token_has(client: WebClient) -> None:
    from bot.fakeslack.server import DEFAULT_SCOPES

    scopes = {k.lower(): v for k, v in client.auth_test().headers.items()}["x-oauth-scopes"]
    assert scopes.split(",") == list(DEFAULT_SCOPES)


def test_a_private_channel_is_hidden_from_a_bot_that_is_not_in_it() -> None:
    with FakeSlack(
        bot_token=TOKEN,
        private_channels={"sar": "G0SAR0001", "legal": "G0LEGAL01"},
        not_member=["#sar"],
        auto_create_channels=True,
    ) as fake:
        client = WebClient(base_url=fake.url, token=TOKEN, retry_handlers=[])
        assert client.chat_postMessage(channel="#legal", text="hi")["channel"] == "G0LEGAL01"
        refused = slack_error(lambda: client.chat_postMessage(channel="#sar", text="hi"))
        assert refused.response["error"] == "channel_not_found"
        assert (
            slack_error(lambda: client.conversations_info(channel="G0SAR0001")).response["error"]
            == "channel_not_found"
        )
        info = client.conversations_info(channel="G0LEGAL01")["channel"]
        assert info["is_private"] and info["is_member"]
        assert fake.messages("#sar") == []


def test_only_the_users_given_exist_when_a_list_is_given() -> None:
    with FakeSlack(bot_token=TOKEN, users=["U0KNOWN01"]) as fake:
        client = WebClient(base_url=fake.url, token=TOKEN, retry_handlers=[])
        assert client.users_info(user="U0KNOWN01")["user"]["id"] == "U0KNOWN01"
        missing = slack_error(lambda: client.users_info(user="U0OTHER01"))
        assert missing.response["error"] == "user_not_found"
