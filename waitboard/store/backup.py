"""Backup and restore of the embedded Redis's data (the AOF is the data).

``backup``: while waitboard runs, Redis writes a consistent snapshot (RDB) of everything,
which is copied to the destination. ``restore``: while waitboard is stopped, the snapshot
becomes the data again. The subtle part is that a Redis with ``appendonly yes`` loads only
its AOF and ignores a snapshot file; so the snapshot is loaded with the AOF off, and the
AOF is then written from it before waitboard starts again.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import redis

from waitboard.store.embedded import EmbeddedRedis, data_dir_in_use

AOF = "appendonly.aof"
RDB = "dump.rdb"


class BackupError(Exception):
    """The backup or restore did not happen; the message says why."""


def backup(data_dir: Path, destination: Path, timeout_s: float = 60.0) -> int:
    """Snapshot the running embedded Redis into ``destination``; the number of keys."""
    socket = data_dir / "redis.sock"
    if not socket.exists():
        raise BackupError(f"no running waitboard Redis at {socket} (start waitboard first)")
    client = redis.Redis(unix_socket_path=str(socket), socket_timeout=timeout_s)
    try:
        client.bgsave()  # the fork happens before this answers: "in progress" from now on
        deadline = time.monotonic() + timeout_s
        while (info := client.info("persistence"))["rdb_bgsave_in_progress"]:
            if time.monotonic() > deadline:
                raise BackupError(f"Redis did not finish the snapshot within {timeout_s:.0f} s")
            time.sleep(0.05)
        if info["rdb_last_bgsave_status"] != "ok":
            raise BackupError("Redis could not write the snapshot (see its log)")
        keys = int(client.dbsize())
    finally:
        client.close()
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(data_dir / RDB, destination)
    return keys


def restore(source: Path, data_dir: Path, timeout_s: float = 120.0) -> int:
    """Make ``source`` (a backup) the data of a stopped waitboard; the number of keys.

    The current AOF is kept beside it as ``appendonly.aof.before-restore``."""
    if not source.is_file():
        raise BackupError(f"{source}: no such backup file")
    if data_dir_in_use(data_dir):
        raise BackupError(
            f"waitboard is running on {data_dir}: stop it before restoring (nothing was changed)"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    aof = data_dir / AOF
    if aof.exists():
        aof.replace(data_dir / (AOF + ".before-restore"))
    shutil.copyfile(source, data_dir / RDB)
    # Load the snapshot with the AOF off (EmbeddedRedis holds the data directory's lock, so
    # this fails while waitboard runs), then have Redis write the AOF from it.
    loader = EmbeddedRedis(data_dir, extra_args=("--appendonly", "no", "--dbfilename", RDB))
    loader.start()
    try:
        client = redis.Redis(unix_socket_path=str(loader.socket_path), socket_timeout=timeout_s)
        keys = int(client.dbsize())
        client.config_set("appendonly", "yes")
        deadline = time.monotonic() + timeout_s
        while True:
            info = client.info("persistence")
            if (
                not info["aof_rewrite_in_progress"]
                and not info["aof_rewrite_scheduled"]
                and aof.exists()
            ):
                break
            if time.monotonic() > deadline:
                raise BackupError("Redis did not write the new AOF in time")
            time.sleep(0.05)
        client.close()
    finally:
        loader.stop()
    return keys
