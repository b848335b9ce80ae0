"""`/comms theme ...` (staff actions by command) and `/comms outbox ...` (dead letters).

Module-level functions returning the ephemeral reply; the `/comms` dispatcher calls them.
A refusal raises `ActionRefused`, which the app's error handler turns into a polite reply.
"""

from __future__ import annotations

from bot.core.staff import ActionRefused, Refusal, Verb, parse_theme_command
from bot.services import Services
from bot.slack.listeners.actions import staff_desk
from bot.slack.staff_views import StaffViews


def theme_reply(services: Services, *, argument: str, user: str) -> str:
    """Carry out `/comms theme <argument>` for `user`; what to tell them."""
    command = parse_theme_command(argument)
    stored = staff_desk(services).run(command, user=user, now=services.clock())
    verb = "show" if command.verb is Verb.SHOW else command.verb.value
    source = command.ref if command.verb is Verb.MERGE else None
    if command.verb is Verb.MERGE:
        merged = services.store.theme(command.target or "")
        stored = merged or stored
    return StaffViews(services.renderer).done(stored.theme, verb=verb, source=source)


def outbox_reply(services: Services, *, argument: str, user: str) -> str:
    """`/comms outbox` (list what Slack refused for good) and `/comms outbox retry all|N`,
    for desk admins only."""
    staff_desk(services).require_admin(user)
    store, now = services.store, services.clock()
    words = argument.split()
    retried: int | None = None
    if words and words[0].lower() == "retry":
        letters = store.dead_letter_list()
        which = words[1].lower() if len(words) > 1 else "all"
        if which == "all":
            chosen = letters
        elif which.isdigit() and 1 <= int(which) <= len(letters):
            chosen = [letters[int(which) - 1]]
        else:
            raise ActionRefused(Refusal.NO_DEAD_LETTER, number=which[:20])
        for letter in chosen:
            store.retry_dead_letter(letter, now=now)
        store.record_audit(
            "outbox.retried",
            now=now,
            by=user,
            letters=[str(letter) for letter in chosen],
        )
        retried = len(chosen)
    elif words and words[0].lower() not in ("list", "show"):
        raise ActionRefused(Refusal.USAGE)
    shown = [
        {
            "ref": letter.ref,
            "title": (found.theme.title if (found := store.theme(letter.ref)) else None)
            if letter.ref
            else None,
            "kind": letter.kind,
            "channel": letter.channel,
            "error": letter.error.replace("`", "'"),
        }
        for letter in store.dead_letter_list()
    ]
    return services.renderer.render("slack/dead_letters.j2", letters=shown, retried=retried)
