"""Build step: ``python -m wizard.qt.build_translations [--update]``.

Compiles every ``wizard/i18n/*.ts`` into ``.qm`` with PySide6's ``lrelease``. ``--update``
first re-extracts the strings from ``wizard/qt`` with ``lupdate`` (maintainers, after changing
user-facing text), keeping the existing translations, and adds the sentence templates of the
Qt-free core (:func:`wizard.core.text.catalog`) under context "core", which lupdate cannot see.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape

from wizard.core.text import catalog
from wizard.qt.i18n import CORE_CONTEXT, LANGUAGES, build_qm, qt_tool, ts_path


def core_translations(ts: Path) -> dict[str, ET.Element]:
    """The ``<translation>`` elements of context "core" in ``ts``, by source template."""
    if not ts.is_file():
        return {}
    found: dict[str, ET.Element] = {}
    for context in ET.parse(ts).getroot().iter("context"):
        if context.findtext("name") != CORE_CONTEXT:
            continue
        for message in context.iter("message"):
            translation = message.find("translation")
            if message.findtext("source") is not None and translation is not None:
                found[message.findtext("source") or ""] = translation
    return found


def merge_core_catalog(ts: Path, keep: dict[str, ET.Element] | None = None) -> int:
    """Write context "core" of ``ts`` from the core's catalog; the number of unfinished entries.

    Existing translations (from ``keep``, else from ``ts`` itself) stay; a new template gets an
    unfinished entry for the translator; templates the core no longer has are dropped. The rest
    of the file is left byte for byte as lupdate wrote it (the context is spliced in as text).
    """
    keep = core_translations(ts) if keep is None else keep
    text = ts.read_text(encoding="utf-8")
    text = re.sub(r"<context>\s*<name>" + CORE_CONTEXT + r"</name>.*?</context>\n?", "", text, flags=re.DOTALL)
    lines = ["<context>", f"    <name>{CORE_CONTEXT}</name>"]
    unfinished = 0
    for template in catalog():
        old = keep.get(template)
        lines += ["    <message>", f"        <source>{_xml(template)}</source>"]
        if old is not None and old.text and old.get("type") != "unfinished":
            lines.append(f"        <translation>{_xml(old.text)}</translation>")
        else:
            draft = old.text if old is not None and old.text else ""
            lines.append(f'        <translation type="unfinished">{_xml(draft)}</translation>')
            unfinished += 1
        lines.append("    </message>")
    lines.append("</context>")
    text = text.replace("</TS>", "\n".join(lines) + "\n</TS>")
    ts.write_text(text, encoding="utf-8")
    return unfinished


def _xml(text: str) -> str:
    """Text escaped the way lupdate writes it."""
    return escape(text, {"'": "&apos;", '"': "&quot;"})


def update_sources() -> None:
    """Re-extract the translatable strings of wizard/qt into every .ts (lupdate), then the core's."""
    tool = qt_tool("lupdate")
    if tool is None:
        raise SystemExit("lupdate not found (it ships with PySide6)")
    sources = sorted(str(p) for p in (Path(__file__).resolve().parent).rglob("*.py"))
    for lang in LANGUAGES:
        if lang == "en":
            continue
        # lupdate drops what it cannot find in wizard/qt, the core's sentences too: keep them aside.
        keep = core_translations(ts_path(lang))
        subprocess.run([tool, "-silent", "-no-obsolete", *sources, "-ts", str(ts_path(lang))], check=True)
        unfinished = merge_core_catalog(ts_path(lang), keep)
        if unfinished:
            print(f"{lang}: {unfinished} core sentences to translate in {ts_path(lang)}")


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
