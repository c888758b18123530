"""Where the wizard keeps its per-user files: one place, so every module agrees.

``TORCH_GPU_SETUP_DATA_DIR`` and ``TORCH_GPU_SETUP_CACHE_DIR`` move them (tests, a disk with
more room, a helpdesk's shared cache); otherwise the platform's folders from platformdirs.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import platformdirs

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


def _replace(src: Path, dest: Path) -> None:
    """``os.replace`` (the one place a later retry for Windows file locks belongs)."""
    os.replace(src, dest)


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
