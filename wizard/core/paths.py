"""Where the wizard keeps its per-user files: one place, so every module agrees.

``TORCH_GPU_SETUP_DATA_DIR`` and ``TORCH_GPU_SETUP_CACHE_DIR`` move them (tests, a disk with
more room, a helpdesk's shared cache); otherwise the platform's folders from platformdirs.
"""

from __future__ import annotations

import os
from pathlib import Path

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
