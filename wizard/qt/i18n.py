"""Translations: which language, where the ``.qm`` files are, and building them from ``.ts``.

The ``.ts`` sources live in ``wizard/i18n/``; :func:`build_qm` compiles them with the
``lrelease`` that ships inside PySide6 (``python -m wizard.qt.build_translations``). A fresh
clone without the ``.qm`` gets it built at the first start of the GUI.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import PySide6
from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from wizard.core.text import Text

log = logging.getLogger("wizard.qt")

#: The translation context of the sentences the Qt-free core makes (wizard/core/messages.py).
CORE_CONTEXT = "core"

I18N_DIR = Path(__file__).resolve().parent.parent / "i18n"
LANGUAGES = ("en", "zh_CN")
CATALOG = "torch_gpu_setup"


def ts_path(lang: str) -> Path:
    """The translation source for ``lang``."""
    return I18N_DIR / f"{CATALOG}_{lang}.ts"


def qm_path(lang: str) -> Path:
    """The compiled translation for ``lang``."""
    return I18N_DIR / f"{CATALOG}_{lang}.qm"


def qt_tool(name: str) -> str | None:
    """A Qt tool (``lrelease``, ``lupdate``) shipped with PySide6, or ``pyside6-NAME`` on PATH."""
    import shutil

    base = Path(PySide6.__file__).resolve().parent
    for candidate in (base / name, base / f"{name}.exe", base / "Qt" / "libexec" / name):
        if candidate.is_file():
            return str(candidate)
    return shutil.which(f"pyside6-{name}")


def build_qm(lang: str, force: bool = False) -> Path | None:
    """Compile the ``.ts`` of ``lang`` to ``.qm`` when missing or older; the path, or None."""
    source, target = ts_path(lang), qm_path(lang)
    if not source.is_file():
        return target if target.is_file() else None
    if target.is_file() and not force and target.stat().st_mtime >= source.stat().st_mtime:
        return target
    import subprocess  # only when a .qm is (re)built: not on every start

    tool = qt_tool("lrelease")
    if tool is None:
        log.warning("lrelease not found: %s stays untranslated", lang)
        return target if target.is_file() else None
    try:
        subprocess.run([tool, "-silent", str(source), "-qm", str(target)], check=True,
                       capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:  # a read-only install: use what is there
        log.warning("could not build %s: %s", target, exc)
    return target if target.is_file() else None


def system_language() -> str:
    """``zh_CN`` for a Chinese system locale (any zh: the translation is Simplified), else ``en``."""
    return "zh_CN" if QLocale.system().name().lower().startswith("zh") else "en"


class Translations:
    """Installs the app's translator (and Qt's own, for standard dialogs) for one language.

    The language belongs to the application, not to one window: a switch removes whatever any
    earlier ``Translations`` installed (a second wizard in the same process starts clean).
    """

    _installed: ClassVar[list[QTranslator]] = []  # shared on purpose: the application's translators

    def __init__(self) -> None:
        self.language = "en"

    def switch(self, lang: str) -> bool:
        """Switch the application to ``lang``; True when a translation was loaded (or English)."""
        app = QCoreApplication.instance()
        if app is None:
            return False
        for translator in Translations._installed:
            app.removeTranslator(translator)
        Translations._installed.clear()
        self.language = lang if lang in LANGUAGES else "en"
        if self.language == "en":
            return True
        ok = False
        path = build_qm(self.language)
        if path is not None:
            mine = QTranslator(app)
            if mine.load(str(path)):
                app.installTranslator(mine)
                Translations._installed.append(mine)
                ok = True
        qt_own = QTranslator(app)
        if qt_own.load(f"qtbase_{self.language}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
            app.installTranslator(qt_own)
            Translations._installed.append(qt_own)
        return ok


def core_text(text: Any) -> str:
    """A sentence from the core in the interface language.

    A :class:`~wizard.core.text.Text` is translated from its template (context "core") and
    filled with its params, each translated the same way; anything else is shown as it is
    (names, numbers, text the core got from elsewhere). A translation whose fields do not
    match falls back to the English.
    """
    if not isinstance(text, Text):
        return str(text)
    if text.parts is not None:
        # ", " and "; " are templates too (messages.LIST_SEPARATOR, CLAUSE_SEPARATOR): "、" and "；" in Chinese
        sep = QCoreApplication.translate(CORE_CONTEXT, text.sep) if text.sep in (", ", "; ") else text.sep
        return sep.join(core_text(part) for part in text.parts)
    if text.template is None:
        return str(text)
    template = QCoreApplication.translate(CORE_CONTEXT, text.template)
    if template == text.template:  # not translated (English): the core's own words, as styled there
        return str(text)
    params = {key: core_text(value) if isinstance(value, Text) else value for key, value in text.params.items()}
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        log.warning("translation of %r does not fit its fields", text.template)
        return str(text)
