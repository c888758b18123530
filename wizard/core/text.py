"""Sentences for a person that a GUI can translate: English strings that remember their template.

The core speaks English (the CLI and the ``plan --json`` contract). A :class:`Text` *is* that
English string, so printing, comparing, JSON and ``in`` all work unchanged, and it also carries
the English ``template`` it was made from (a constant of :mod:`wizard.core.messages`) and its
``params``. A GUI translates the template, then fills in the params, each translated the same
way when it is a Text itself (``wizard.qt.i18n.core_text``). Lists of names stay params
(:func:`join`); translators always get whole sentences.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class Text(str):
    """An English sentence (the str value) with the template and params it was formatted from.

    ``parts``/``sep`` instead describe a list joined with a separator (:func:`join`).
    """

    template: str | None
    params: dict[str, Any]
    parts: tuple[str, ...] | None
    sep: str

    def __new__(cls, value: str = "", template: str | None = None, params: dict[str, Any] | None = None,
                parts: tuple[str, ...] | None = None, sep: str = "") -> Text:
        """``value`` is the English text; the rest says how it was made (defaults: plain text)."""
        self = super().__new__(cls, value)
        self.template = template
        self.params = dict(params or {})
        self.parts = parts
        self.sep = sep
        return self


def T(template: str, **params: Any) -> Text:
    """``template`` (a :mod:`wizard.core.messages` constant) filled with ``params``, as a :class:`Text`."""
    return Text(template.format(**params), template, params)


def join(sep: str, items: Iterable[str]) -> Text:
    """``sep.join(items)`` that keeps each item translatable (names, numbers and Texts alike)."""
    parts = tuple(items)
    return Text(sep.join(parts), parts=parts, sep=sep)


def restyle(text: str, value: str) -> str:
    """``value`` (e.g. ``text`` capitalised) keeping ``text``'s template, so it still translates."""
    if isinstance(text, Text):
        return Text(value, text.template, text.params, text.parts, text.sep)
    return value


def catalog() -> list[str]:
    """Every template the core can produce (the GUI's translation catalog, context "core")."""
    from wizard.core import messages

    seen: dict[str, None] = {}
    for name, value in vars(messages).items():  # definition order: how translators read them
        if not name.isupper():
            continue
        values = value.values() if isinstance(value, dict) else value if isinstance(value, tuple) else [value]
        for item in values:
            if isinstance(item, str):
                seen.setdefault(item, None)
    return list(seen)


__all__ = ["T", "Text", "catalog", "join", "restyle"]
