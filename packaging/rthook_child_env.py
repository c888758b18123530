"""PyInstaller runtime hook: children of the bundled app get the user's environment, not the bundle's.

On Linux the bootloader prepends the bundle folder to ``LD_LIBRARY_PATH`` (saving the old value
in ``LD_LIBRARY_PATH_ORIG``; PyInstaller manual, "The Bootstrap Process in Detail"). Every child
would inherit it: the TARGET Python, pip and nvidia-smi would load the bundle's copies of
libpython, libssl, libz ... instead of their own. This process already has its search path (the
dynamic loader reads the variable once, at start), so it is safe to put the original back here,
before any wizard code runs.
"""

import os
import sys


def _restore_library_path(var: str) -> None:
    original = os.environ.pop(f"{var}_ORIG", None)
    if original is not None:
        os.environ[var] = original
        return
    bundle = os.path.realpath(getattr(sys, "_MEIPASS", os.path.dirname(sys.executable)))
    current = os.environ.get(var)
    if current is None:
        return
    kept = [p for p in current.split(os.pathsep) if p and os.path.realpath(p) != bundle]
    if kept:
        os.environ[var] = os.pathsep.join(kept)
    else:
        del os.environ[var]


if sys.platform.startswith("linux"):
    _restore_library_path("LD_LIBRARY_PATH")
elif sys.platform.startswith("aix"):
    _restore_library_path("LIBPATH")
