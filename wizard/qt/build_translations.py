"""Build step: ``python -m wizard.qt.build_translations [--update]``.

Compiles every ``wizard/i18n/*.ts`` into ``.qm`` with PySide6's ``lrelease``. ``--update``
first re-extracts the strings from ``wizard/qt`` with ``lupdate`` (maintainers, after changing
user-facing text), keeping the existing translations.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from wizard.qt.i18n import LANGUAGES, build_qm, qt_tool, ts_path


def update_sources() -> None:
    """Re-extract the translatable strings of wizard/qt into every .ts (lupdate)."""
    tool = qt_tool("lupdate")
    if tool is None:
        raise SystemExit("lupdate not found (it ships with PySide6)")
    sources = sorted(str(p) for p in (Path(__file__).resolve().parent).rglob("*.py"))
    for lang in LANGUAGES:
        if lang != "en":
            subprocess.run([tool, "-silent", "-no-obsolete", *sources, "-ts", str(ts_path(lang))], check=True)


def main(argv: list[str] | None = None) -> int:
    """Compile the translations; exit 1 when one could not be built."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--update", action="store_true", help="re-extract strings with lupdate first")
    args = parser.parse_args(argv)
    if args.update:
        update_sources()
    failed = 0
    for lang in LANGUAGES:
        if lang == "en":
            continue
        path = build_qm(lang, force=True)
        print(f"{lang}: {path or 'FAILED'}")
        failed += path is None
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
