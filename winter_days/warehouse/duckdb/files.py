"""The files beside a published warehouse: a run's build copy, the standby copy, retired files.

A run builds into a private copy of the published file (write-audit-publish), and so does
the ML step's write of its predictions: nobody opens the published file to write, which
DuckDB would refuse while another process reads it. Copying a
large warehouse is much of an incremental run: at 1M sales and 10M click events the file is
about 800 MB, which took 0.3-1.9 s to copy and about 1 s to write to disk, beside runs of
6-8 s. So after each run the copy for the next one is made in the background: the standby,
`.<name>.standby-<inode>-<size>-<ctime>`, synced to disk. A run whose published file still
has that inode, size and status change time (and no WAL) renames the standby into its build
copy instead of copying; any other standby is stale (a publish, or a write to the file by
hand, changes its status change time) and is removed after the run. The
standby costs a second copy of the warehouse on disk between runs.

Everything here that touches the published file or a standby runs under the warehouse lock,
so a standby is never made from, or taken for, a file that is being written. The same lock
makes a process that ended mid-run (killed, out of memory, the machine stopped) safe to
clean up after: every run holds it from its build copy to its publish, and the standby is
copied under it, so a build copy, its WAL and spill folder, a partial standby or a retired
file found while holding the lock belongs to no live run, and the run removes it.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from pathlib import Path

from winter_days.stores.locking import exclusive_lock

# The thread a write to the published file leaves behind: it removes the file a publish
# replaced and makes the standby.
AFTER_WRITE_THREAD = "warehouse-after-write"


def warehouse_lock_path(warehouse_path: Path) -> Path:
    """The lock the ELT executor holds while it builds and publishes the warehouse file
    (the local ELT executor): a write to the published file under it
    cannot be overwritten by a publish that copied the file before the write."""
    return Path(warehouse_path).with_name(f".{Path(warehouse_path).name}.lock")


def build_copy(published: Path) -> tuple[Path, bool]:
    """A private build copy of `published` (caller holds the lock), and whether it is
    already on disk (taken from a fresh standby) rather than just copied."""
    build = published.with_name(f".{published.name}.build-{uuid.uuid4().hex}")
    fresh = _standby_path(published)
    if fresh is not None and fresh.exists():
        os.replace(fresh, build)
        return build, True
    if published.exists():
        shutil.copyfile(published, build)
        # A writer that did not checkpoint (a crash) leaves committed data in the WAL; the
        # copy replays it, and the publish checkpoints it into the file.
        wal = Path(f"{published}.wal")
        if wal.exists():
            shutil.copyfile(wal, f"{build}.wal")
    return build, False


def prepare_standby(published: Path) -> Path | None:
    """Make the standby copy of `published` for the next run; None when there is nothing to
    copy, the folder is gone, or the file system refused (the next run then copies itself)."""
    lock = warehouse_lock_path(published)
    if not lock.exists():  # the folder was removed after the run: leave it removed
        return None
    partial = published.with_name(f".{published.name}.standby-partial-{uuid.uuid4().hex}")
    try:
        with exclusive_lock(lock, create_folder=False):
            target = _standby_path(published)
            # Stale standbys are removed here, after a run rather than before one: freeing
            # an 800 MB file took 0.5 s.
            for standby in published.parent.glob(f".{published.name}.standby-*"):
                if standby != target:
                    standby.unlink(missing_ok=True)
            if target is None or target.exists():
                return target
            shutil.copyfile(published, partial)
            fsync_path(partial)
            if _standby_path(published) != target:
                return None
            os.replace(partial, target)
            return target
    except OSError:
        return None
    finally:
        partial.unlink(missing_ok=True)


def start_after_write(published: Path, retired: Path | None = None) -> threading.Thread:
    """After a run, or another write to the published file (the ML step's predictions):
    remove `retired` and make the standby, in a thread the writer does not wait for (the
    interpreter does, at exit: it is not a daemon)."""
    # Said explicitly: a thread takes its starter's daemon flag, and the local ELT runs in a
    # daemon thread, so the copy would otherwise die half-written when the command exits.
    thread = threading.Thread(target=_after_write, args=(published, retired), name=AFTER_WRITE_THREAD, daemon=False)
    thread.start()
    return thread


def leave_out_standbys(folder: str, names: list[str]) -> set[str]:
    """For `shutil.copytree(..., ignore=leave_out_standbys)`: a standby names its source
    file's inode, so in a copy of the folder it would only be stale."""
    return {name for name in names if name.startswith(".") and ".standby-" in name}


def wait_for_after_write() -> None:
    """Wait for this process's after-write threads, e.g. before removing a warehouse's folder."""
    for thread in threading.enumerate():
        if thread.name == AFTER_WRITE_THREAD:
            thread.join()


def _after_write(published: Path, retired: Path | None) -> None:
    if retired is not None:
        # Freeing a large file's blocks takes the file system about 0.7 s per GB.
        retired.unlink(missing_ok=True)
    prepare_standby(published)


def _standby_path(published: Path) -> Path | None:
    """Where the standby of `published` as it is now would be; None without a file to copy,
    or with a WAL beside it (its rows are not in the file yet). The status change time moves
    with every write and cannot be set back, unlike the modification time (a restore with
    `cp -p` keeps it), and a file system may give a removed file's inode number to the next."""
    try:
        stat = os.stat(published)
    except FileNotFoundError:
        return None
    if Path(f"{published}.wal").exists():
        return None
    return published.with_name(f".{published.name}.standby-{stat.st_ino}-{stat.st_size}-{stat.st_ctime_ns}")


def publish(build: Path, published: Path) -> Path | None:
    """Put a finished build copy in place of the published file (caller holds the lock):
    synced, then renamed over it, so a reader sees the old file or the new one whole. The
    file it replaced keeps a second name until after the lock is released (`retire`); that
    name, or None."""
    fsync_path(build)
    retired = retire(published)
    os.replace(build, published)
    # The new file already holds what the old WAL had; replaying it would corrupt it.
    Path(f"{published}.wal").unlink(missing_ok=True)
    fsync_path(published.parent)
    return retired


def retire(published: Path) -> Path | None:
    """A second name for the published file about to be replaced, or None when there is none.

    The rename that publishes a run then only drops a name: the old file's blocks are freed
    when the second name is removed, after the run."""
    retired = published.with_name(f".{published.name}.retired-{uuid.uuid4().hex}")
    try:
        os.link(published, retired)
    except OSError:
        # No published file yet, or a file system without hard links: nothing to keep, or
        # the rename frees the old file itself.
        return None
    return retired


# What a run or a standby copy leaves beside the published file when its process ends
# first: build copies with their WAL and spill folder, retired files, partial standbys.
_LEFTOVERS = (".{}.build-*", ".{}.retired-*", ".{}.standby-partial-*")


def remove_leftovers(published: Path) -> list[Path]:
    """Remove what earlier runs left behind when their process ended first (caller holds the
    warehouse lock, so none of it belongs to a live run); the paths removed."""
    removed = []
    for pattern in _LEFTOVERS:
        for leftover in published.parent.glob(pattern.format(published.name)):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
            removed.append(leftover)
    return removed


def remove_build(build: Path) -> None:
    """Remove a run's build copy, its WAL and its spill folder."""
    for leftover in (build, Path(f"{build}.wal")):
        leftover.unlink(missing_ok=True)
    shutil.rmtree(spill_folder(build), ignore_errors=True)


def spill_folder(build: Path) -> Path:
    """Where a run's session spills what does not fit in memory: beside its build copy, so a
    run that ended early leaves it where the next one finds it."""
    return Path(f"{build}.spill")


def fsync_path(path: Path | str) -> None:
    """Sync a file's data, or a folder's entries, to disk (a file removed meanwhile needs none)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
