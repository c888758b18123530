"""PyInstaller runtime hook: a windowed program gets somewhere to write.

The Windows bundle's ``torch-gpu-setup.exe`` is a windowed (GUI-subsystem) program, so Python
starts it with ``sys.stdout`` and ``sys.stderr`` set to None (Python docs, "sys.__stdout__":
"under some conditions stdin, stdout and stderr ... can be None. It is usually the case for
Windows GUI apps that aren't connected to a console"). A ``sys.stderr.write`` in the error
boundary, or a library that logs to stderr, would then raise AttributeError and turn a message
into a crash. The text has nowhere to show (the GUI shows its own errors), so it goes to the null
device. The console program and Linux, which have real streams, are left alone.
"""

import os
import sys

for _name in ("stdout", "stderr"):
    if getattr(sys, _name) is None:
        setattr(sys, _name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115  (lives as long as the app)
