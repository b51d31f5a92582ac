"""File locks that hold across the processes sharing one app home (``fcntl.flock``).

A lock is an open file with an exclusive flock on it; the kernel releases it when the holder closes
it or dies, so a killed process never leaves a lock behind. flock works between threads of one
process too (each ``open`` is its own lock owner)."""
from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path


@contextlib.contextmanager
def locked(path: str | os.PathLike):
    """Hold an exclusive lock on ``path`` (created if missing) for the ``with`` block; waits for it."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def locked_folder(folder: str | os.PathLike):
    """Hold an exclusive lock on the folder itself (no lock file is left in it); waits for it."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


class Slot:
    """One of ``n`` numbered lock files held without waiting: a cap on something shared by processes."""

    def __init__(self, fd: int, index: int):
        self._fd = fd
        self.index = index

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def take_slot(folder: str | os.PathLike, n: int) -> Slot | None:
    """Take a free slot among ``folder/slot-0 .. slot-(n-1)``, or None when all ``n`` are held (by any process)."""
    f = Path(folder)
    f.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        fd = os.open(f / f"slot-{i}", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return Slot(fd, i)
    return None
