"""Where the PyTorch wheels come from, decided in one place for every face.

A person may give: a PEP 503/691 index (``https://download.pytorch.org/whl/cu126``), a
find-links page (one flat page listing every file, as several mirrors in China publish), a
local folder of wheels or a ``file://`` URL of one, or a mirror preset's name. :func:`source_for`
turns any of these (plus the build's variant) into a :class:`Source`; the install flow checks
it before any environment is created and tells pip how to use it:

* an index: ``--extra-index-url`` (the big wheels are already local files; their dependencies
  come the way pip would get them, from the user's own configuration, with the PyTorch index
  beside it for packages only it publishes, such as ``pytorch-triton-rocm``);
* a find-links page or a folder: ``--find-links``.

No ``requests`` here: the GUI reads this at start-up.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from wizard.core.errors import WizardError
from wizard.core.knowledge.mirrors import MIRROR_PRESETS

SOURCE_KINDS = ("index", "find-links", "folder")


@dataclass(frozen=True)
class Source:
    """``kind`` is ``index``, ``find-links`` (a URL) or ``folder`` (a local path in ``location``)."""

    kind: str
    location: str

    @property
    def is_remote(self) -> bool:
        """True for an http(s) source (downloaded by the wizard); a folder is already local."""
        return self.kind != "folder"

    def pip_args(self) -> tuple[str, ...]:
        """How pip is told about this source, next to the user's own configuration."""
        if self.kind == "index":
            return ("--extra-index-url", self.location)
        return ("--find-links", self.location)

    def with_layout(self, layout: str) -> Source:
        """The same URL once reading it showed whether it is an index or a find-links page."""
        if self.kind == "folder" or layout == self.kind:
            return self
        return Source(layout, self.location)


def parse_source(text: str, kind: str = "auto") -> Source:
    """A URL or folder as a person typed it; raises a WizardError for anything else.

    ``kind`` ``auto`` leaves an http(s) URL as an ``index`` until reading it says otherwise
    (:meth:`Source.with_layout`); a preset passes its known layout.
    """
    value = text.strip()
    if not value:
        raise WizardError("no PyTorch source was given", hint="give an index URL, a find-links URL or a folder")
    parts = urlsplit(value)
    if parts.scheme in ("http", "https"):
        if not parts.netloc:
            raise WizardError(f"'{value}' has no host name", hint="for example https://download.pytorch.org/whl/cu126")
        return Source("find-links" if kind == "find-links" else "index", value)
    if parts.scheme == "file":
        folder = Path(url2pathname(unquote(parts.path)))
    elif parts.scheme and len(parts.scheme) > 1:  # one letter: a Windows drive (C:\wheels)
        raise WizardError(f"'{value}' is not an http(s) URL, a file:// URL or a folder",
                          hint="for example https://download.pytorch.org/whl/cu126 or /srv/wheels")
    else:
        folder = Path(os.path.expanduser(value))
    if not folder.is_dir():
        raise WizardError(f"the folder {folder} does not exist",
                          hint="give a folder that holds the torch wheels, or an index URL")
    return Source("folder", str(folder.absolute()))


def source_for(variant: str, *, index_url: str | None = None, mirror: str | None = None,
               default: str | None = None) -> Source | None:
    """The source for a build: the person's URL or folder, else a mirror preset, else the plan's index.

    None when there is none at all (pip's own configuration then decides, e.g. a bundle).
    """
    if index_url:
        return parse_source(index_url)
    if mirror:
        preset = MIRROR_PRESETS.get(mirror)
        if preset is None:
            raise WizardError(f"unknown mirror '{mirror}'", hint="one of " + ", ".join(sorted(MIRROR_PRESETS)))
        return parse_source(preset.variant_url(variant), preset.kind)
    return parse_source(default) if default else None
