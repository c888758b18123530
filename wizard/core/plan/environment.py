"""Where a new environment goes by default, for a given machine, and why.

Part of the plan (``plan --json`` ``environment``) so that every face shows the same folder
before anything is installed, and a simulated Windows machine gets a Windows path.

Windows is the hard case. A path is limited to 260 characters (MAX_PATH, including the
terminating NUL; Microsoft Learn, "Maximum Path Length Limitation") unless the machine has
``LongPathsEnabled`` set. torch's deepest file is 171 characters below site-packages
(measured on torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl: a third-party licence file)
and ``\\Lib\\site-packages\\`` adds 19, so the environment's own path may be at most
260 - 1 - 19 - 171 = 69 characters. ``%LOCALAPPDATA%\\torch-gpu-setup\\envs\\torch-2.14.1-cu126``
passes that for a user name of 7 characters or more, so with long paths off the default moves to
a short folder. A user folder with non-ASCII characters (张三) is avoided too: pip's script
launchers and several build tools have failed on such paths under the ANSI code page (for
example https://github.com/pypa/pip/issues/10875), and a short ASCII root costs nothing.
Microsoft Store Python runs as a packaged app whose writes below ``%LOCALAPPDATA%`` are
redirected into its private LocalCache (Python docs, "Using Python on Windows", Known issues),
so its environments go below the home folder instead.
"""

from __future__ import annotations

import re
from pathlib import PurePath, PurePosixPath, PureWindowsPath

from wizard.core import messages as M
from wizard.core.model.plan import Action, EnvironmentChoice
from wizard.core.text import T

APP_NAME = "torch-gpu-setup"
WINDOWS_MAX_PATH = 260
TORCH_DEEPEST_RELATIVE_PATH = 171
SITE_PACKAGES_WINDOWS = len("\\Lib\\site-packages\\")
#: The longest environment path whose torch files stay within MAX_PATH (69 characters).
WINDOWS_ENV_ROOM = WINDOWS_MAX_PATH - 1 - SITE_PACKAGES_WINDOWS - TORCH_DEEPEST_RELATIVE_PATH
#: The short root used when the usual place is too long (or not ASCII). Any signed-in user may
#: create a folder at the root of the system drive (default NTFS ACL of C:\ grants Authenticated
#: Users "create folders"; Microsoft Learn, "Default security descriptors").
WINDOWS_SHORT_ROOT = "C:\\torch-envs"
#: The optional action that lets the usual (longer) folder work.
ENABLE_LONG_PATHS = "enable_long_paths"


def env_name_for(torch: str, variant: str) -> str:
    """The directory name of a new venv holding a build: ``torch-2.14.1-cu126``."""
    safe = re.sub(r"[^A-Za-z0-9.]+", "-", f"torch-{torch}-{variant}")
    return safe.strip("-")


def conventional_data_dir(family: str, home: str) -> PurePath:
    """Where platformdirs puts the wizard's data on that system (for a machine that is not this one)."""
    if family == "windows":
        return PureWindowsPath(home) / "AppData" / "Local" / APP_NAME
    if family == "macos":
        return PurePosixPath(home) / "Library" / "Application Support" / APP_NAME
    return PurePosixPath(home) / ".local" / "share" / APP_NAME


def fits_windows(path: str) -> bool:
    """Whether torch's deepest file inside an environment at ``path`` stays within MAX_PATH."""
    return len(path) <= WINDOWS_ENV_ROOM


def default_environment(*, family: str, torch: str, variant: str, user_home: str | None,
                        data_dir: str | None = None, long_paths_enabled: bool | None = None,
                        microsoft_store: bool = False) -> EnvironmentChoice:
    """The default new-environment folder for a machine.

    ``data_dir`` is the wizard's real data folder when planning for this computer (it may be
    moved by ``TORCH_GPU_SETUP_DATA_DIR``); for a described machine the platform's convention
    below ``user_home`` is used. ``long_paths_enabled`` None means unknown (treated as off).
    """
    name = env_name_for(torch, variant)
    if family != "windows":
        if data_dir is None and user_home is None:
            return EnvironmentChoice(f"~/.local/share/{APP_NAME}/envs/{name}" if family == "linux"
                                     else f"~/{APP_NAME}/envs/{name}", T(M.ENV_WHY_DATA_DIR))
        base = PurePosixPath(data_dir) if data_dir else conventional_data_dir(family, user_home or "~")
        return EnvironmentChoice(str(base / "envs" / name), T(M.ENV_WHY_DATA_DIR))

    if microsoft_store and user_home:
        usual = str(PureWindowsPath(user_home) / APP_NAME / "envs" / name)
        usual_why = T(M.ENV_WHY_STORE)
    elif data_dir or user_home:
        base = PureWindowsPath(data_dir) if data_dir else conventional_data_dir("windows", user_home or "")
        usual = str(base / "envs" / name)
        usual_why = T(M.ENV_WHY_DATA_DIR)
    else:
        usual, usual_why = "", T(M.ENV_WHY_HOME_UNKNOWN)
    if usual and usual.isascii() and (long_paths_enabled or fits_windows(usual)):
        return EnvironmentChoice(usual, usual_why)
    # The usual place does not fit (or is not ASCII, or the user folder is unknown): a short one.
    candidates = []
    if user_home and user_home.isascii():
        home = PureWindowsPath(user_home)
        candidates += [home / "torch-envs" / name, home / "torch-envs" / variant]
    candidates += [PureWindowsPath(WINDOWS_SHORT_ROOT) / name, PureWindowsPath(WINDOWS_SHORT_ROOT) / variant]
    path = next(str(c) for c in candidates if fits_windows(str(c)))
    if not usual:
        why = T(M.ENV_WHY_HOME_UNKNOWN)
    elif not usual.isascii():
        why = T(M.ENV_WHY_NOT_ASCII, usual=usual)
    else:
        why = T(M.ENV_WHY_TOO_LONG, usual=usual, length=len(usual), room=WINDOWS_ENV_ROOM)
    actions: tuple[Action, ...] = ()
    if usual and usual.isascii() and not long_paths_enabled:
        actions = (Action(ENABLE_LONG_PATHS, None, T(M.ACTION_ENABLE_LONG_PATHS,
                                                     command=" ".join(ENABLE_LONG_PATHS_ARGV))),)
    return EnvironmentChoice(path, why, actions)


def path_problem(path: str, family: str, long_paths_enabled: bool | None) -> str | None:
    """Why an environment folder would not work on that system, in words; None when it would.

    Checked on the environment page as soon as a folder is chosen, and again by the install.
    """
    if family != "windows" or long_paths_enabled:
        return None
    if fits_windows(path):
        return None
    return T(M.ENV_PATH_TOO_LONG, length=len(path), room=WINDOWS_ENV_ROOM,
             longest=len(path) + SITE_PACKAGES_WINDOWS + TORCH_DEEPEST_RELATIVE_PATH, limit=WINDOWS_MAX_PATH)


#: The command that turns long paths on (Microsoft Learn, "Maximum Path Length Limitation",
#: "Enable long paths in Windows 10, version 1607, and later"): needs administrator rights; programs
#: started afterwards see it.
ENABLE_LONG_PATHS_ARGV = ("reg", "add", r"HKLM\SYSTEM\CurrentControlSet\Control\FileSystem", "/v",
                          "LongPathsEnabled", "/t", "REG_DWORD", "/d", "1", "/f")
