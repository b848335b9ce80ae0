"""`commsbot backup` and `commsbot restore`: a consistent copy of the data, and the way back.

A backup may be taken while commsbot runs. It pauses the bot's writes (`.write.lock`) only
while it makes hard links to every data file in a snapshot folder inside the data directory
(`backups/.snapshot-…`): data files are only ever replaced by renames, so the links keep the
files exactly as they were at that instant, whatever the bot writes next. The links are then
copied to the destination at leisure, each file's checksum is checked, and a manifest
(`BACKUP.json`: when, the schema, a SHA-256 of every file) is written last, into a folder
renamed into place when complete: a backup cut short never looks whole.

Restoring checks the manifest and every file, refuses while a commsbot process has the data
directory open, and never deletes anything: data already there is moved aside to
`<data dir>.before-restore-<time>` (only with `--force`).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.storage.atomic import CorruptFileError, check_data_file, fsync_directory
from bot.storage.labels import check_labels_file
from bot.storage.locks import PROCESS_LOCK, WRITE_LOCK, held_by_a_process, writes_paused
from bot.storage.upgrade import BACKUPS, SCHEMA_VERSION, recorded_version

MANIFEST = "BACKUP.json"
# Not data: locks, the probe of a writable disk, earlier backups and the quarantine.
_SKIPPED_NAMES = frozenset({PROCESS_LOCK, WRITE_LOCK, ".probe"})
_SKIPPED_AREAS = frozenset({BACKUPS, "quarantine"})
# The longest a backup waits for the bot to pause between writes.
PAUSE_TIMEOUT_SECONDS = 30.0

Progress = Callable[[int, int], None]  # (files done, files in all)


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class BackupSummary:
    """What a backup holds."""

    path: Path
    files: int
    size: int
    schema: int
    taken_at: datetime
    paused_seconds: float = 0.0


def _data_files(root: Path) -> Iterator[Path]:
    """Every data file under `root`, relative to it, in a stable order."""
    yield from sorted(_inodes(root))


def _inodes(root: Path) -> dict[Path, int]:
    """Every data file under `root` (relative to it) with its inode number."""
    found: dict[Path, int] = {}
    stack = [(root, Path())]
    while stack:
        directory, relative = stack.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                name = entry.name
                if entry.is_dir(follow_symlinks=False):
                    if not (relative == Path() and name in _SKIPPED_AREAS):
                        stack.append((Path(entry.path), relative / name))
                elif entry.is_file(follow_symlinks=False):
                    if name in _SKIPPED_NAMES or (name.startswith(".") and name.endswith(".tmp")):
                        continue
                    if relative == Path() and name == MANIFEST:
                        continue
                    found[relative / name] = entry.inode()
    return found


def _check_file(path: Path) -> None:
    """Raise CorruptFileError when a data file's checksum does not match (others pass)."""
    if path.suffix == ".jsonl":
        check_labels_file(path)
    elif path.suffix == ".json":
        check_data_file(path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except FileExistsError:
        target.unlink()
        os.link(source, target)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EXDEV, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        shutil.copy2(source, target)  # a file system without hard links


def _snapshot(data_dir: Path, *, timeout: float) -> tuple[Path, list[Path], float]:
    """Hard links to every data file as it was at one instant; (folder, files, seconds the
    bot's writes waited).

    The links are made first while the bot works; then, while its writes wait, only the
    files replaced since (a new inode), added or removed are brought up to date, so the
    wait is a walk of the folders, not a link per file.
    """
    snapshot = data_dir / BACKUPS / f".snapshot-{uuid.uuid4().hex[:12]}"
    snapshot.mkdir(parents=True)
    linked: dict[Path, int] = {}
    for relative, inode in _inodes(data_dir).items():
        try:
            _link(data_dir / relative, snapshot / relative)
        except FileNotFoundError:
            continue  # replaced or removed meanwhile: the second pass sees what is there
        linked[relative] = inode
    with writes_paused(data_dir, timeout=timeout):
        paused = time.monotonic()
        now = _inodes(data_dir)
        for relative in linked.keys() - now.keys():
            (snapshot / relative).unlink()
        for relative, inode in now.items():
            if linked.get(relative) != inode:
                _link(data_dir / relative, snapshot / relative)
        held = time.monotonic() - paused
    return snapshot, sorted(now), held


def take_backup(
    data_dir: Path,
    destination: Path,
    *,
    progress: Progress | None = None,
    timeout: float = PAUSE_TIMEOUT_SECONDS,
) -> BackupSummary:
    """Copy `data_dir` to `destination` (which must not exist) as it was at one instant."""
    data_dir, destination = Path(data_dir), Path(destination)
    if not (data_dir / "meta.json").is_file():
        raise BackupError(f"{data_dir} is not a commsbot data directory (no meta.json)")
    if destination.exists():
        raise BackupError(f"{destination} already exists: name a new folder for the backup")
    if destination.resolve().is_relative_to(data_dir.resolve()):
        raise BackupError(f"{destination} is inside the data directory: put it elsewhere")
    schema, _, _ = recorded_version(data_dir / "meta.json")
    partial = destination.with_name(f".{destination.name}.partial-{uuid.uuid4().hex[:8]}")
    taken_at = datetime.now(UTC)
    snapshot, files, held = _snapshot(data_dir, timeout=timeout)
    try:
        hashes: dict[str, str] = {}
        size = 0
        for done, relative in enumerate(files, start=1):
            source, target = snapshot / relative, partial / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            try:
                _check_file(target)
            except CorruptFileError as exc:
                raise BackupError(
                    f"{data_dir / relative} is damaged ({exc.problem}): start commsbot to "
                    "quarantine it, then take the backup again"
                ) from None
            hashes[relative.as_posix()] = _sha256(target)
            size += target.stat().st_size
            if progress is not None:
                progress(done, len(files))
        manifest = {
            "commsbot_backup": 1,
            "taken_at": taken_at.isoformat(),
            "schema_version": schema,
            "source": str(data_dir.resolve()),
            "files": hashes,
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        os.sync()  # every copied file on disk before the folder is named as whole
        partial.rename(destination)
        fsync_directory(destination.parent)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(snapshot, ignore_errors=True)
    return BackupSummary(
        path=destination,
        files=len(files),
        size=size,
        schema=schema or SCHEMA_VERSION,
        taken_at=taken_at,
        paused_seconds=held,
    )


def check_backup(source: Path) -> BackupSummary:
    """The backup at `source` if it is whole and unchanged; BackupError naming what is not."""
    source = Path(source)
    try:
        manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
        hashes = dict(manifest["files"])
        taken_at = datetime.fromisoformat(manifest["taken_at"])
        schema = int(manifest["schema_version"] or SCHEMA_VERSION)
    except FileNotFoundError:
        raise BackupError(
            f"{source} is not a whole commsbot backup (no {MANIFEST}): it may have been cut "
            "short, or be another folder"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{source / MANIFEST} cannot be read ({exc})") from None
    present = {relative.as_posix() for relative in _data_files(source)}
    missing = sorted(set(hashes) - present)
    extra = sorted(present - set(hashes))
    changed = sorted(
        name for name in hashes if name in present and _sha256(source / name) != hashes[name]
    )
    problems = (
        [f"missing: {name}" for name in missing[:5]]
        + [f"changed since the backup: {name}" for name in changed[:5]]
        + [f"not part of the backup: {name}" for name in extra[:5]]
    )
    if problems:
        more = len(missing) + len(changed) + len(extra) - len(problems)
        tail = f" (and {more} more)" if more > 0 else ""
        raise BackupError(f"{source} does not match its manifest: " + "; ".join(problems) + tail)
    size = sum((source / name).stat().st_size for name in hashes)
    return BackupSummary(
        path=source, files=len(hashes), size=size, schema=schema, taken_at=taken_at
    )


def restore_backup(
    source: Path,
    data_dir: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> tuple[BackupSummary, Path | None]:
    """Put the backup at `source` in place as `data_dir`; (summary, where old data went)."""
    source, data_dir = Path(source), Path(data_dir)
    summary = check_backup(source)
    if summary.schema > SCHEMA_VERSION:
        raise BackupError(
            f"{source} was taken by a newer commsbot (data schema {summary.schema}, this one "
            f"reads up to {SCHEMA_VERSION}): restore it with that version"
        )
    if held_by_a_process(data_dir):
        raise BackupError(f"{data_dir} is in use by a running commsbot: stop it first")
    occupied = data_dir.exists() and any(data_dir.iterdir())
    if occupied and not force:
        raise BackupError(
            f"{data_dir} already holds data: restore into an empty folder, or give --force "
            "to move the current data aside (nothing is deleted)"
        )
    names = sorted(json.loads((source / MANIFEST).read_text(encoding="utf-8"))["files"])
    if data_dir.is_dir() and os.path.ismount(data_dir):
        # A volume (a container's /data): it cannot be renamed, so restore inside it.
        inside = _set_aside_inside(data_dir) if occupied else None
        _copy(source, data_dir, names, progress)
        return summary, inside
    partial = data_dir.with_name(f".{data_dir.name}.restoring-{uuid.uuid4().hex[:8]}")
    try:
        _copy(source, partial, names, progress)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    moved: Path | None = None
    if data_dir.exists():
        if occupied:
            moved = data_dir.with_name(f"{data_dir.name}.{_aside_name()}")
            data_dir.rename(moved)
        else:
            data_dir.rmdir()
    partial.rename(data_dir)
    fsync_directory(data_dir.parent)
    return summary, moved


def _aside_name() -> str:
    return f"before-restore-{datetime.now(UTC):%Y%m%dT%H%M%S}"


def _set_aside_inside(data_dir: Path) -> Path:
    """Move everything in `data_dir` into a folder of its own there; returns that folder."""
    aside = data_dir / _aside_name()
    aside.mkdir()
    for entry in data_dir.iterdir():
        if entry != aside:
            entry.rename(aside / entry.name)
    return aside


def _copy(source: Path, target: Path, names: list[str], progress: Progress | None) -> None:
    """Copy the backup's files named `names` into `target`, on disk when this returns."""
    for done, name in enumerate(names, start=1):
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, path)
        if progress is not None:
            progress(done, len(names))
    os.sync()
