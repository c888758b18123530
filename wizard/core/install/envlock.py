"""One lock per environment: an install and a rollback never change the same environment together.

Without it, a rollback started while an install's pip still ran raced with it: a traceback, and a
venv that lost ``pyvenv.cfg`` and the wizard's marker, so that from then on neither rollback nor
install would touch it (issue 15).

The lock is an operating-system lock on a small file in the data folder's ``locks/`` (named after
the environment's real path, so ``--venv DIR`` and ``--python DIR/bin/python`` meet at the same
file): ``flock`` on POSIX, ``msvcrt.locking`` on Windows. The system releases such a lock when the
last process holding the file is gone, so a killed wizard leaves no stale lock behind, and no
guess from a pid is needed to break one. On POSIX the locked file is handed to the install's
children (:func:`wizard.core.process.inherited_by_children`): a pip that outlives a killed wizard
keeps the environment locked until it has stopped too. The file also says who holds it (pid,
what, since when), for the message the second run gets; whether that pid still runs tells a
finished-but-still-stopping run from a live one.

The file is in the data folder rather than inside the environment: a rollback deletes a created
environment (and would delete a lock kept there while holding it), and an interpreter's prefix
(``/usr/local``) may not be writable. Lock files are never deleted: deleting one that another run
has just opened would let two runs hold two different files.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard.core import messages as M
from wizard.core.errors import EnvironmentBusy
from wizard.core.install.environments import data_dir, now
from wizard.core.process import inherited_by_children
from wizard.core.text import T

LOCKS = "locks"
# Windows locks a byte range, and a locked range cannot be read by anyone else (Microsoft Learn,
# "_locking"); the lock sits far past the owner's few hundred bytes so that they stay readable.
_WINDOWS_LOCK_OFFSET = 1 << 20


@dataclass(frozen=True)
class LockOwner:
    """Who holds an environment's lock, as the lock file says."""

    pid: int
    purpose: str
    since: str

    @property
    def running(self) -> bool:
        """Whether that process still runs (if not, what it started is still finishing)."""
        return pid_running(self.pid)


def pid_running(pid: int) -> bool:
    """Whether a process with this id exists (POSIX ``kill(pid, 0)``; Windows ``OpenProcess``)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover - Windows only
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        ctypes.windll.kernel32.CloseHandle(handle)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it is someone else's
    return True


def lock_path(prefix: str | os.PathLike[str]) -> Path:
    """The lock file of the environment at ``prefix`` (its real path: links and spellings meet)."""
    real = os.path.normcase(os.path.realpath(os.path.abspath(str(prefix))))
    digest = hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return data_dir() / LOCKS / f"{digest}.lock"


def _try_lock(fd: int, platform: str) -> bool:
    """Take the lock without waiting; False when another process holds it."""
    try:
        if platform == "win32":  # pragma: no cover - Windows only
            import msvcrt

            os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK, errno.EDEADLK):
            return False
        raise
    return True


def read_owner(path: Path) -> LockOwner | None:
    """What the lock file says about its holder (None: unreadable, e.g. still being written)."""
    try:
        with open(path, "rb") as f:
            data: Any = json.loads(f.read(4096).decode("utf-8"))
        return LockOwner(pid=int(data["pid"]), purpose=str(data["purpose"]), since=str(data["since"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _busy(prefix: Path, owner: LockOwner | None) -> EnvironmentBusy:
    if owner is None:
        who = T(M.LOCK_SOMEONE)
    else:
        who = T(M.LOCK_OWNER, purpose=owner.purpose, pid=owner.pid, since=owner.since)
    finishing = owner is not None and not owner.running
    return EnvironmentBusy(T(M.LOCK_BUSY, prefix=str(prefix), who=who),
                           hint=T(M.LOCK_BUSY_FINISHING_HINT if finishing else M.LOCK_BUSY_HINT))


@contextlib.contextmanager
def hold(prefix: str | os.PathLike[str], purpose: str, platform: str | None = None) -> Iterator[Path]:
    """Hold the lock of the environment at ``prefix`` for the ``with`` block (``purpose``: install,
    rollback); raises :class:`EnvironmentBusy` at once when another run holds it."""
    plat = platform or sys.platform
    where = Path(os.path.abspath(str(prefix)))
    path = lock_path(where)
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_NOFOLLOW: a link planted at the lock's name is not followed (absent on Windows: 0).
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0), 0o644)
    try:
        if not _try_lock(fd, plat):
            raise _busy(where, read_owner(path))
        owner = json.dumps({"pid": os.getpid(), "purpose": purpose, "since": now(), "prefix": str(where)})
        os.lseek(fd, 0, os.SEEK_SET)
        # Always 512 bytes (JSON allows the trailing blanks): a shorter owner never leaves the end
        # of a longer, earlier one behind, and no truncation is needed.
        os.write(fd, owner.encode("utf-8").ljust(512))
        with inherited_by_children(fd) if plat != "win32" else contextlib.nullcontext():
            yield path
    finally:
        os.close(fd)  # releases the lock (still held by any child that has the file, see above)
