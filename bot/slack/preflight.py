"""`commsbot check-config --slack`: the configuration checked against the Slack workspace.

Through the Web API, with the bot token: every configured channel exists and commsbot can
post in it (private channels need commsbot invited; public ones work with chat:write.public),
configured users and user groups exist, and the token has the scopes the features in use
need (X-OAuth-Scopes of auth.test, compared with manifest.yml). Every finding names the
config key and says how to fix it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import DeskConfig
from bot.config.loader import DESK_FILE, OFFICERS_FILE
from bot.settings import SHARE_DIR

MANIFEST = "manifest.yml"
_PAGE_SIZE = 200
_MAX_PAGES = 100  # 20,000 channels: beyond any council's workspace
INVITE = "invite commsbot to it (in the channel: /invite @commsbot)"
REINSTALL = (
    "then reinstall the app to the workspace (api.slack.com/apps → your app → OAuth & "
    "Permissions → Reinstall) and put the new bot token in SLACK_BOT_TOKEN if it changed"
)


@dataclass(frozen=True)
class Finding:
    """One thing wrong (a problem) or worth knowing (a warning), where it is configured,
    and the fix."""

    severity: Literal["problem", "warning"]
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.where}: {self.message}"


@dataclass(frozen=True)
class Reference:
    """A channel, user or user group the configuration names, and every key that names it."""

    value: str
    keys: tuple[str, ...]

    @property
    def where(self) -> str:
        """The file and keys, e.g. `desk.yaml: accounts.council.channels.urgent`."""
        files: dict[str, list[str]] = {}
        for key in self.keys:
            file, _, name = key.partition(": ")
            files.setdefault(file, []).append(name)
        return "; ".join(f"{file}: {', '.join(names)}" for file, names in files.items())


@dataclass(frozen=True)
class References:
    """What in the configuration must exist in Slack."""

    channels: tuple[Reference, ...] = ()
    users: tuple[Reference, ...] = ()
    usergroups: tuple[Reference, ...] = ()


def _grouped(pairs: Iterable[tuple[str, str]]) -> tuple[Reference, ...]:
    keys: dict[str, list[str]] = {}
    for value, key in pairs:
        keys.setdefault(value, []).append(key)
    return tuple(Reference(value, tuple(names)) for value, names in keys.items())


def references(config: DeskConfig) -> References:
    """The channels, users and user groups `config` names, each with its keys."""
    desk = config.desk
    channels: list[tuple[str, str]] = []
    for account_key, account in desk.accounts.items():
        for category, channel in account.channels.items():
            channels.append((channel, f"{DESK_FILE}: accounts.{account_key}.channels.{category}"))
    if desk.alerts_channel:
        channels.append((desk.alerts_channel, f"{DESK_FILE}: alerts_channel"))
    for index, channel in enumerate(desk.round_the_clock.channels):
        channels.append((channel, f"{DESK_FILE}: round_the_clock.channels.{index}"))
    if desk.round_the_clock.duty_channel:
        channels.append(
            (desk.round_the_clock.duty_channel, f"{DESK_FILE}: round_the_clock.duty_channel")
        )
    for channel in desk.intake_channels:
        channels.append((channel, f"{DESK_FILE}: intake_channels.{channel}"))
    users = [
        (officer.slack_user_id, f"{OFFICERS_FILE}: officers.{officer.key}.slack_user_id")
        for officer in config.escalation.directory.officers
    ]
    usergroups: list[tuple[str, str]] = []
    people = [(f"{DESK_FILE}: admins", desk.admins)]
    for account_key, account in desk.accounts.items():
        for role in ("members", "approvers", "political_approvers", "crisis_approver"):
            people.append((f"{DESK_FILE}: accounts.{account_key}.{role}", getattr(account, role)))
    for key, named in people:
        users += [(user, f"{key}.users") for user in named.users]
        usergroups += [(group, f"{key}.usergroups") for group in named.usergroups]
    for name, policy in config.escalation.policies.items():
        for index, level in enumerate(policy.levels):
            users += [
                (user, f"{OFFICERS_FILE}: policies.{name}.levels.{index}.users")
                for user in level.users
            ]
    return References(
        channels=_grouped(channels), users=_grouped(users), usergroups=_grouped(usergroups)
    )


# -- scopes -------------------------------------------------------------------------------


def needed_scopes(refs: References, *, private: bool, public_outside: bool) -> dict[str, str]:
    """The bot scopes the features in use need, each with what needs it.

    `private`: a configured channel is private; `public_outside`: commsbot posts in a public
    channel it has not joined.
    """
    needed = {
        "chat:write": "posting routed posts into the team channels",
        "commands": "the /comms command",
        "channels:history": "looking for a message in a public channel before sending it "
        "again after a send timed out",
    }
    if any(ref.value.startswith("#") for ref in refs.channels):
        needed["channels:read"] = "finding the channels desk.yaml names by #name"
        needed["groups:read"] = "finding private channels desk.yaml names by #name"
    if private:
        needed["groups:history"] = (
            "looking for a message in a private channel before sending it again"
        )
    if public_outside:
        needed["chat:write.public"] = "posting in public channels commsbot has not joined"
    if refs.users:
        needed["users:read"] = "checking that the officers' Slack user IDs exist"
    if refs.usergroups:
        needed["usergroups:read"] = "checking that the configured user groups exist"
    return needed


def granted_scopes(headers: Mapping[str, Any]) -> set[str] | None:
    """The scopes in an X-OAuth-Scopes header (comma-separated, as Slack sends it), or None."""
    for name, value in headers.items():
        if name.lower() == "x-oauth-scopes":
            raw = value[0] if isinstance(value, list) else value
            return {scope.strip() for scope in str(raw).split(",") if scope.strip()}
    return None


def manifest_scopes(path: Path) -> set[str] | None:
    """The bot scopes manifest.yml asks for, or None if it cannot be read."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    try:
        return set(data["oauth_config"]["scopes"]["bot"])
    except (KeyError, TypeError):
        return None


def find_manifest() -> Path | None:
    """manifest.yml of the checkout commsbot runs from, else of the install, else of the cwd."""
    here = Path(__file__).resolve().parent.parent.parent / MANIFEST
    for candidate in (here, SHARE_DIR / MANIFEST, Path.cwd() / MANIFEST):
        if candidate.is_file():
            return candidate
    return None


def _scope_findings(
    needed: dict[str, str], granted: set[str] | None, manifest: set[str] | None
) -> list[Finding]:
    if granted is None:
        return [
            Finding(
                "warning",
                "SLACK_BOT_TOKEN",
                "Slack did not say which scopes the token has (no X-OAuth-Scopes header); "
                "scopes were not checked",
            )
        ]
    findings = []
    for scope, reason in needed.items():
        if scope in granted:
            continue
        if manifest is not None and scope not in manifest:
            fix = f"add {scope} to oauth_config.scopes.bot in {MANIFEST}, update the app's manifest"
        else:
            fix = f"{MANIFEST} asks for it: update the app's manifest from it"
        findings.append(
            Finding(
                "problem",
                f"{MANIFEST}: oauth_config.scopes.bot",
                f"the token lacks the scope {scope}, needed for {reason}. Fix: {fix}, {REINSTALL}",
            )
        )
    for scope in sorted((manifest or set()) - granted - set(needed)):
        findings.append(
            Finding(
                "warning",
                f"{MANIFEST}: oauth_config.scopes.bot",
                f"{MANIFEST} asks for {scope} but the token lacks it (nothing configured needs "
                f"it now). Fix: {REINSTALL}",
            )
        )
    return findings


# -- channels, users, user groups ---------------------------------------------------------


def _all_channels(client: WebClient) -> list[dict[str, Any]]:
    """Every public channel and every private channel commsbot is in (conversations.list)."""
    found: list[dict[str, Any]] = []
    cursor = None
    for _ in range(_MAX_PAGES):
        page = client.conversations_list(
            types="public_channel,private_channel",
            exclude_archived=False,
            limit=_PAGE_SIZE,
            cursor=cursor,
        )
        found.extend(page.get("channels") or [])
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return found


def _matcher(channels: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each channel by `#name` and by ID, as desk.yaml may name it."""
    found = {f"#{c.get('name')}": c for c in channels}
    found |= {str(c.get("id")): c for c in channels}
    return found


def _channel_findings(
    refs: References, channels: list[dict[str, Any]], *, public_posting: bool
) -> list[Finding]:
    named = _matcher(channels)
    findings = []
    for ref in refs.channels:
        channel = named.get(ref.value)
        shown = ref.value
        if channel is None:
            what = (
                "no channel with this ID"
                if not ref.value.startswith("#")
                else "no channel called this"
            )
            findings.append(
                Finding(
                    "problem",
                    f"{ref.where} ({shown})",
                    f"commsbot can see {what}. Fix: if it is a private channel, {INVITE}; "
                    "if it does not exist, create it or correct the name here",
                )
            )
            continue
        if channel.get("is_archived"):
            findings.append(
                Finding(
                    "problem",
                    f"{ref.where} ({shown})",
                    "the channel is archived: nothing can be posted in it. Fix: unarchive it, "
                    "or name another channel here",
                )
            )
            continue
        if channel.get("is_member"):
            continue
        if channel.get("is_private"):
            findings.append(
                Finding(
                    "problem",
                    f"{ref.where} ({shown})",
                    f"commsbot is not in this private channel. Fix: {INVITE}",
                )
            )
        elif any(": intake_channels." in key for key in ref.keys):
            findings.append(
                Finding(
                    "problem",
                    f"{ref.where} ({shown})",
                    "commsbot is not in this intake channel, so Slack sends it none of the "
                    f"messages or reactions there. Fix: {INVITE}",
                )
            )
        elif not public_posting:
            findings.append(
                Finding(
                    "problem",
                    f"{ref.where} ({shown})",
                    "commsbot is not in this channel and the token lacks chat:write.public. "
                    f"Fix: {INVITE}",
                )
            )
        else:
            findings.append(
                Finding(
                    "warning",
                    f"{ref.where} ({shown})",
                    "commsbot can post here without joining (chat:write.public) but cannot read "
                    "the channel, so after a send that timed out it cannot check whether the "
                    f"message arrived and may send it twice. Fix: {INVITE}",
                )
            )
    return findings


def _user_findings(client: WebClient, refs: References) -> list[Finding]:
    findings = []
    for ref in refs.users:
        try:
            user = client.users_info(user=ref.value).get("user") or {}
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error in {"user_not_found", "invalid_user"}:
                findings.append(
                    Finding(
                        "problem",
                        f"{ref.where} ({ref.value})",
                        "no Slack user has this ID. Fix: in Slack open the person's profile, "
                        "⋮ (More), Copy member ID, and put it here",
                    )
                )
                continue
            raise
        if user.get("deleted"):
            findings.append(
                Finding(
                    "problem",
                    f"{ref.where} ({ref.value})",
                    f"{user.get('real_name') or ref.value} has been deactivated in Slack. Fix: "
                    "name the officer who now has the role",
                )
            )
    return findings


def _usergroup_findings(client: WebClient, refs: References) -> list[Finding]:
    if not refs.usergroups:
        return []
    groups = client.usergroups_list(include_disabled=False).get("usergroups") or []
    known = {str(g.get("id")) for g in groups} | {f"@{g.get('handle')}" for g in groups}
    known |= {str(g.get("handle")) for g in groups}
    return [
        Finding(
            "problem",
            f"{ref.where} ({ref.value})",
            "no user group with this handle or ID in the workspace. Fix: create it in Slack "
            "(People → User groups) or correct it here",
        )
        for ref in refs.usergroups
        if ref.value not in known
    ]


@dataclass
class SlackReport:
    """What checking the configuration against Slack found."""

    workspace: str = ""
    findings: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        """The findings that must be fixed."""
        return [f for f in self.findings if f.severity == "problem"]


class SlackCheckError(Exception):
    """Slack could not be asked (unreachable, or an answer that is not a finding)."""


def check_slack(client: WebClient, refs: References, *, manifest: set[str] | None) -> SlackReport:
    """Check `refs` against the workspace the client's token belongs to.

    Raises SlackCheckError when Slack cannot be reached or answers with an unexpected error.
    """
    try:
        return _check(client, refs, manifest=manifest)
    except SlackApiError as exc:
        error = exc.response.get("error") or f"HTTP {exc.response.status_code}"
        raise SlackCheckError(f"Slack answered {error}") from None
    except OSError as exc:
        raise SlackCheckError(f"Slack cannot be reached ({exc})") from None


def _check(client: WebClient, refs: References, *, manifest: set[str] | None) -> SlackReport:
    report = SlackReport()
    try:
        auth = client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error")
        report.findings.append(
            Finding(
                "problem",
                "SLACK_BOT_TOKEN",
                f"Slack refused the token ({error}). Fix: copy the Bot User OAuth Token (xoxb-…) "
                "from api.slack.com/apps → your app → OAuth & Permissions",
            )
        )
        return report
    report.workspace = f"{auth.get('team')} as {auth.get('user')}"
    granted = granted_scopes(auth.headers)
    can_list = granted is None or {"channels:read", "groups:read"} <= granted
    channels = _all_channels(client) if can_list and refs.channels else []
    named = _matcher(channels)
    used = [named[ref.value] for ref in refs.channels if ref.value in named]
    private = any(c.get("is_private") for c in used)
    public_outside = any(not c.get("is_private") and not c.get("is_member") for c in used)
    needed = needed_scopes(refs, private=private, public_outside=public_outside)
    report.findings += _scope_findings(needed, granted, manifest)
    if can_list:
        public_posting = granted is None or "chat:write.public" in granted
        report.findings += _channel_findings(refs, channels, public_posting=public_posting)
    if granted is None or "users:read" in granted:
        report.findings += _user_findings(client, refs)
    if granted is None or "usergroups:read" in granted:
        report.findings += _usergroup_findings(client, refs)
    return report
