"""Entry point of the bundled app: PyInstaller runs this file as ``__main__``.

The same ``wizard.cli.main`` as the ``torch-gpu-setup`` console script and ``python -m wizard``:
no argument opens the GUI (or prints the plan without a display).
"""

import sys

from wizard.cli import main

if __name__ == "__main__":
    sys.exit(main())
