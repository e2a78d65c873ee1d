"""`.lock`: one process owns a cell. flock is released by the kernel when its owner dies (SIGKILL included),
so a killed run never leaves a stale lock; a second live process is refused and nothing is clobbered."""

from __future__ import annotations

import fcntl
import os
import socket
import time
from pathlib import Path


class CellLocked(RuntimeError):
    """Another live process owns this cell."""


class CellLock:
    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / ".lock"
        self._fd: int | None = None

    def acquire(self, wait_s: float = 1.0) -> CellLock:
        """Take the lock, retrying for `wait_s` (a `status` probe holds it for microseconds) before refusing."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + wait_s
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                if time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                raise CellLocked(f"cell {self.path.parent} is locked by a running process ({owner}); "
                                 "refusing to touch it") from None
            try:  # the file we locked may have been unlinked by the previous owner's release: retry then
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"host={socket.gethostname()} pid={os.getpid()} "
                      f"slurm_job_id={os.environ.get('SLURM_JOB_ID', '')}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(self._fd)
            self._fd = None

    def is_held_elsewhere(self) -> bool:
        """True when another process holds the lock right now (a cheap probe for `status`)."""
        if not self.path.exists():
            return False
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)

    def __enter__(self) -> CellLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
