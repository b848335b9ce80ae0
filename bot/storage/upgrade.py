"""Upgrading a data directory written by an earlier commsbot, in place, after a backup.

- Schema 2 (the foundation): files without checksums. Each gets its format mark and checksum.
- Schema 3 (checksums): outbox messages were rendered when queued. Those still waiting stay
  as they are and are delivered as they were (`bot.storage.outbox`, kind "rendered"); posts
  accepted from now on are placed in themes. Nothing else changes on disk.

Before anything is changed, the whole data directory (but earlier backups and the
quarantine) is copied to `backups/schema-N-<time>/`: into a `.partial-` folder first, renamed
when complete, so a backup cut short is never mistaken for a whole one. The schema version
in `meta.json` is written last: a crash anywhere in an upgrade leaves the old version
recorded, and the next start does the upgrade again (each step can be done twice).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.storage.atomic import encode, fsync_directory, write_atomically

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 4  # 4: themes; views rendered when sent
BACKUPS = "backups"
_FORMAT_MARK = b'{"commsbot"'
_NOT_COPIED = frozenset({BACKUPS, "quarantine", ".lock", ".write.lock", ".probe"})


def recorded_version(meta: Path) -> tuple[int | None, bool, dict[str, Any]]:
    """(schema version, whether meta.json has checksums, its meta document) as found.

    (None, True, {}) when there is no meta.json or it cannot be read here (the Store then
    reads it properly and reports damage).
    """
    try:
        raw = meta.read_bytes()
    except FileNotFoundError:
        return None, True, {}
    if raw.startswith(_FORMAT_MARK):
        try:
            data = json.loads(raw)["data"]
            doc = dict(data["meta"]["1"])
            return int(doc["schema_version"]), True, doc
        except (ValueError, KeyError, TypeError):
            return None, True, {}
    if not raw.lstrip().startswith(b"{"):
        return None, True, {}
    try:
        doc = dict(json.loads(raw)["meta"]["1"])
        return int(doc["schema_version"]), False, doc
    except (ValueError, KeyError, TypeError):
        return None, True, {}


def back_up(data_dir: Path, version: int) -> Path:
    """Copy the data directory to `backups/schema-<version>-<time>/`; returns the copy."""
    backups = data_dir / BACKUPS
    for partial in backups.glob(".partial-*"):
        shutil.rmtree(partial, ignore_errors=True)  # an earlier backup cut short
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}"
    partial = backups / f".partial-schema-{version}-{stamp}"
    partial.mkdir(parents=True)
    for entry in sorted(data_dir.iterdir()):
        if entry.name in _NOT_COPIED or entry.name.endswith(".tmp"):
            continue
        if entry.is_dir():
            shutil.copytree(entry, partial / entry.name, ignore=shutil.ignore_patterns("*.tmp"))
        else:
            shutil.copy2(entry, partial / entry.name)
    final = backups / f"schema-{version}-{stamp}"
    os.replace(partial, final)
    fsync_directory(backups)
    return final


def add_checksums(data_dir: Path, areas: frozenset[str]) -> int:
    """Schema 2 to 3: give every data file of the store's areas its mark and checksum.

    A file that already has them (an upgrade cut short and done again) is left alone; one
    that is not JSON is left too, for the check that follows to quarantine.
    """
    changed = 0
    for path in sorted(data_dir.rglob("*.json")):
        relative = path.relative_to(data_dir)
        if relative.parts[0] not in areas:
            continue
        raw = path.read_bytes()
        if raw.startswith(_FORMAT_MARK):
            continue
        try:
            data = json.loads(raw.decode("utf-8") or "{}")
        except (ValueError, UnicodeDecodeError):
            continue
        write_atomically(path, encode(data))
        changed += 1
    return changed


def upgrade(data_dir: Path, *, areas: frozenset[str]) -> int | None:
    """Bring a data directory of an earlier schema up to `SCHEMA_VERSION`, after a backup.

    Returns the version it was upgraded from, or None when there was nothing to do (a new
    or current directory, or one too damaged or too new to upgrade: the Store reports it).
    """
    meta = data_dir / "meta.json"
    version, checksummed, doc = recorded_version(meta)
    if version is None or version >= SCHEMA_VERSION or version < 2:
        return None
    backup = back_up(data_dir, version)
    logger.warning("data directory %s is schema %d: backed up to %s", data_dir, version, backup)
    if version == 2 or not checksummed:
        add_checksums(data_dir, areas)
    write_atomically(meta, encode({"meta": {"1": doc | {"schema_version": SCHEMA_VERSION}}}))
    logger.warning(
        "data directory %s upgraded from schema %d to %d", data_dir, version, SCHEMA_VERSION
    )
    return version
