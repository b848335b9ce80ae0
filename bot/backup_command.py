"""`commsbot backup DEST` and `commsbot restore SRC`: the command-line side of backups."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from bot.storage.backup import (
    PAUSE_TIMEOUT_SECONDS,
    BackupError,
    BackupSummary,
    check_backup,
    restore_backup,
    take_backup,
)
from bot.storage.locks import LockTimeout


@contextmanager
def _progress_bar(label: str, *, enabled: bool) -> Iterator[Callable[[int, int], None]]:
    """A callback showing (done, total) files as a bar on a terminal, nothing elsewhere."""
    bar = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files"),
        console=Console(stderr=True),
        transient=True,
        disable=not enabled,
    )
    task = bar.add_task(label, total=None)

    def advance(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        yield advance


def _size(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size / 1000:.1f} kB"


def _describe(summary: BackupSummary) -> str:
    return (
        f"{summary.files} files, {_size(summary.size)}, taken {summary.taken_at:%Y-%m-%d %H:%M} "
        f"UTC, data schema {summary.schema}"
    )


def backup(data_dir: Path, destination: Path, *, out: TextIO, err: TextIO) -> int:
    """Take a backup; 0 when done, 1 when it could not be taken (said on `err`)."""
    try:
        with _progress_bar("backup", enabled=Console(stderr=True).is_terminal) as progress:
            summary = take_backup(
                data_dir, destination, progress=progress, timeout=PAUSE_TIMEOUT_SECONDS
            )
    except (BackupError, LockTimeout) as exc:
        print(f"commsbot: backup not taken: {exc}", file=err)
        return 1
    except OSError as exc:
        print(
            f"commsbot: backup not taken: {exc.filename or destination}: {exc.strerror}", file=err
        )
        return 1
    print(f"Backup of {data_dir} written to {summary.path}: {_describe(summary)}.", file=out)
    print(
        f"commsbot's writes waited {summary.paused_seconds * 1000:.0f} ms while it was taken. "
        f"Check it later with: commsbot restore {summary.path} --check",
        file=out,
    )
    return 0


def restore(
    source: Path, data_dir: Path, *, check_only: bool, force: bool, out: TextIO, err: TextIO
) -> int:
    """Check a backup, and unless `check_only` put it in place; 0 when done, 1 if not."""
    try:
        if check_only:
            summary = check_backup(source)
            print(f"{source} is a whole backup: {_describe(summary)}.", file=out)
            return 0
        with _progress_bar("restore", enabled=Console(stderr=True).is_terminal) as progress:
            summary, moved = restore_backup(source, data_dir, force=force, progress=progress)
    except BackupError as exc:
        print(f"commsbot: nothing restored: {exc}", file=err)
        return 1
    except OSError as exc:
        print(f"commsbot: nothing restored: {exc.filename or data_dir}: {exc.strerror}", file=err)
        return 1
    print(f"Restored {source} into {data_dir}: {_describe(summary)}.", file=out)
    if moved is not None:
        print(f"The data that was there is kept in {moved}.", file=out)
    print(
        "Start commsbot: it checks every file, and Slack shows again anything it had not "
        "shown when the backup was taken.",
        file=out,
    )
    return 0


def add_parsers(
    sub: argparse._SubParsersAction, *, data_dir: Callable[[argparse.Namespace], Path]
) -> None:
    """Add `backup` and `restore` to the CLI."""
    take = sub.add_parser(
        "backup",
        help="copy the data directory, consistently, even while the bot runs",
        description="Write a consistent copy of the data directory ($COMMSBOT_DATA_DIR) to "
        "DEST, a folder that must not exist yet. It can run while commsbot serves: "
        "commsbot's writes wait only while the snapshot is taken (milliseconds), and the "
        "copy is of one instant. Every file is checked and a manifest with its SHA-256 is "
        "written last. Exit status 1 if the backup could not be taken.",
    )
    take.add_argument("destination", help="the folder to create for the backup")
    take.set_defaults(func=_cmd_backup, data_dir_of=data_dir)
    back = sub.add_parser(
        "restore",
        help="check a backup and put it back as the data directory",
        description="Check the backup in SRC against its manifest, then copy it into the "
        "data directory ($COMMSBOT_DATA_DIR). Stop commsbot first. An empty or missing data "
        "directory is filled; one that holds data is only replaced with --force, and then "
        "moved aside, never deleted. --check only checks the backup. Exit status 1 if "
        "nothing was restored.",
    )
    back.add_argument("source", help="a folder written by commsbot backup")
    back.add_argument("--check", action="store_true", help="only check the backup")
    back.add_argument(
        "--force", action="store_true", help="move the data directory's current data aside"
    )
    back.set_defaults(func=_cmd_restore, data_dir_of=data_dir)


def _cmd_backup(args: argparse.Namespace) -> int:
    return backup(args.data_dir_of(args), Path(args.destination), out=sys.stdout, err=sys.stderr)


def _cmd_restore(args: argparse.Namespace) -> int:
    return restore(
        Path(args.source),
        args.data_dir_of(args),
        check_only=args.check,
        force=args.force,
        out=sys.stdout,
        err=sys.stderr,
    )
