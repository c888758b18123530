"""Where the wizard keeps its per-user files: one place, so every module agrees.

``TORCH_GPU_SETUP_DATA_DIR`` and ``TORCH_GPU_SETUP_CACHE_DIR`` move them (tests, a disk with
more room, a helpdesk's shared cache); otherwise the platform's folders from platformdirs.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

import platformdirs

T_ = TypeVar("T_")
APP_NAME = "torch-gpu-setup"
DATA_DIR_ENV = "TORCH_GPU_SETUP_DATA_DIR"
CACHE_DIR_ENV = "TORCH_GPU_SETUP_CACHE_DIR"


def data_dir() -> Path:
    """Per-user data: environments, snapshots, the refreshed knowledge base, the last install."""
    override = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    """Per-user cache: downloads (``downloads/``) and wheelhouses; safe to delete."""
    override = os.environ.get(CACHE_DIR_ENV, "").strip()
    return Path(override) if override else Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    """Per-user log folder."""
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


# --------------------------------------------------------------------------- writing files safely
#
# Every file the wizard writes through a temporary name goes through these helpers, so there is
# one place that decides how: the temporary file is made by ``tempfile`` in the destination's own
# folder (O_CREAT | O_EXCL, and O_NOFOLLOW where the OS has it: a planted symlink or a file of the
# same name is never written through; tempfile docs, "mkstemp"), filled, flushed to disk, then
# moved over the destination with ``os.replace`` (atomic on one filesystem). A reader sees the old
# file or the new one, never half of one, and a crash leaves at most a stray ``.tmp`` file.

#: Mode of a new file written by the helpers: what ``open()`` gives under the usual umask 022.
DEFAULT_FILE_MODE = 0o644


# Windows refuses to replace or delete a file another process holds open: an antivirus scanning a
# file just written, the search indexer, or a running Python holding a .pyd (WinError 5
# ERROR_ACCESS_DENIED, 32 ERROR_SHARING_VIOLATION; Microsoft Learn, "System Error Codes (0-499)").
# Scans end within a second or two, so a short backoff (about 4 s in all) gets through; a
# running Python does not end by itself, and the message says so.
LOCK_WINERRORS = (5, 32)
LOCK_RETRY_DELAYS_S = (0.1, 0.25, 0.5, 1.0, 2.0)


def is_lock_error(exc: OSError, platform: str | None = None) -> bool:
    """Whether ``exc`` is Windows saying another process holds the file."""
    return (platform or sys.platform) == "win32" and getattr(exc, "winerror", None) in LOCK_WINERRORS


def retry_on_lock(operation: Callable[[], T_], what: str, *, platform: str | None = None,
                  sleep: Callable[[float], None] = time.sleep) -> T_:
    """Run ``operation``; on a Windows file lock retry with a short backoff, then fail in words.

    ``what`` names the file or folder for the message. Other errors pass through at once.
    """
    for delay in LOCK_RETRY_DELAYS_S:
        try:
            return operation()
        except OSError as exc:
            if not is_lock_error(exc, platform):
                raise
            sleep(delay)
    try:
        return operation()
    except OSError as exc:
        if not is_lock_error(exc, platform):
            raise
        from wizard.core import messages as M
        from wizard.core.errors import WizardError
        from wizard.core.text import T

        raise WizardError(T(M.FILE_LOCKED, path=what), hint=T(M.FILE_LOCKED_HINT), details=str(exc)) from exc


def remove_tree(path: Path, *, platform: str | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
    """``shutil.rmtree`` that waits out a Windows file lock (see :func:`retry_on_lock`)."""
    def remove() -> None:
        if Path(path).exists():
            shutil.rmtree(path)

    retry_on_lock(remove, str(path), platform=platform, sleep=sleep)


def _replace(src: Path, dest: Path) -> None:
    """``os.replace``, waiting out a Windows file lock."""
    retry_on_lock(lambda: os.replace(src, dest), str(dest))


def atomic_write(path: Path, fill: Callable[[BinaryIO], None], *, mode: int = DEFAULT_FILE_MODE) -> Path:
    """Write ``path`` atomically: ``fill`` writes the content into a fresh temporary file beside it.

    ``mode`` is the new file's permission (``0o600`` for something private such as a report).
    On any failure the temporary file is removed and the old ``path`` is left as it was.
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fill(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        _replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path


def atomic_write_bytes(path: Path, data: bytes, *, mode: int = DEFAULT_FILE_MODE) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    def fill(fh: BinaryIO) -> None:
        fh.write(data)

    return atomic_write(path, fill, mode=mode)


def atomic_write_text(path: Path, text: str, *, encoding: str = "utf-8", mode: int = DEFAULT_FILE_MODE) -> Path:
    """Write ``text`` to ``path`` atomically in ``encoding`` (see :func:`atomic_write`)."""
    return atomic_write_bytes(path, text.encode(encoding), mode=mode)


def atomic_link_or_copy(src: Path, dest: Path) -> Path:
    """Put the file ``src`` at ``dest`` atomically: a hard link when the filesystem allows, else a copy.

    The link is made under a fresh random name (``os.link`` never follows or overwrites an existing
    name: it fails with EEXIST) and then moved over ``dest``.
    """
    src, dest = Path(src), Path(dest)
    for _ in range(8):
        tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(8)}.tmp")
        try:
            os.link(src, tmp)
        except FileExistsError:
            continue   # a name that already exists is never reused: draw another
        except OSError:
            break      # no hard links here (another filesystem, FAT): copy instead
        try:
            _replace(tmp, dest)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        return dest

    def copy(fh: BinaryIO) -> None:
        with src.open("rb") as source:
            shutil.copyfileobj(source, fh, 1 << 20)

    return atomic_write(dest, copy)
