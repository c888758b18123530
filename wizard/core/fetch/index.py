"""Read package indexes and pick the exact wheel for the target interpreter.

Understands:

* PEP 503 HTML project pages: ``<a href="...whl#sha256=HEX" data-requires-python=">=3.10"
  data-dist-info-metadata="sha256=HEX" data-core-metadata="sha256=HEX">`` (PEP 658 / PEP 714;
  download.pytorch.org writes these, docs/SOURCES.md torch-matrix §4.2);
* PEP 691 JSON (``application/vnd.pypi.simple.v1+json``) when the server answers with it: the
  request prefers JSON and the response's Content-Type decides the parser;
* find-links flat pages: one HTML page listing every file (several PyTorch mirrors publish this way).

Wheel names are parsed with ``packaging.utils.parse_wheel_filename``; compatibility is decided by
the target's tag list from :func:`wizard.core.fetch.tags.target_tags`, best tag first.
"""

from __future__ import annotations

import codecs
import contextlib
import html.parser
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import requests
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from wizard.core import messages as M
from wizard.core.errors import InputError, WizardError
from wizard.core.fetch.net import (
    SIMPLE_ACCEPT,
    NetworkError,
    check_response,
    classify_error,
    get_document,
    make_session,
)
from wizard.core.text import T

JSON_CONTENT_TYPE = "application/vnd.pypi.simple.v1+json"


class NotOnIndex(InputError):
    """The source has no wheel of what was asked for this target: a choice to change, nothing changed."""


@dataclass(frozen=True)
class WheelFile:
    """One wheel an index offers, with everything known about it before downloading."""

    filename: str
    url: str
    project: str                      # canonical name, e.g. "torch"
    version: Version                  # includes the local label: 2.14.1+cu126
    tags: frozenset[Tag]
    hashes: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    size: int | None = None
    requires_python: str | None = None
    metadata: dict[str, str] | None = field(default=None, hash=False, compare=False)  # PEP 658: {} = no hash
    yanked: bool = False

    @property
    def sha256(self) -> str | None:
        """The index's sha256 for the file, lower-case hex, or None when the page gave none."""
        return self.hashes.get("sha256")

    @property
    def metadata_url(self) -> str | None:
        """The PEP 658 ``.metadata`` file next to the wheel, when the index announces one."""
        return f"{self.url}.metadata" if self.metadata is not None else None

    @property
    def local_label(self) -> str | None:
        """``cu126``, ``cpu`` ... or None."""
        return self.version.local

    def best_tag_rank(self, tags: Sequence[Tag]) -> int | None:
        """Index of the first target tag this wheel supports (lower is better), or None."""
        for i, tag in enumerate(tags):
            if tag in self.tags:
                return i
        return None


@dataclass(frozen=True)
class CheckResult:
    """The proof, before any large download, that every planned wheel exists."""

    files: list[WheelFile]
    total_size: int
    unknown_sizes: list[str]          # filenames whose size neither the page nor HEAD gave


# --------------------------------------------------------------------------- parsing


class _LinkParser(html.parser.HTMLParser):
    """Fed a page piece by piece; keeps only the wheels it links to (not the page, not every tag)."""

    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.base: str | None = None
        self.wheels: list[WheelFile] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base" and self.base is None:
            self.base = urljoin(self.page_url, dict(attrs).get("href") or "")
        elif tag == "a":
            d = dict(attrs)
            if d.get("href"):
                w = _link_wheel(d, self.base or self.page_url)
                if w is not None:
                    self.wheels.append(w)


def _parse_hash(fragment: str) -> dict[str, str]:
    if "=" not in fragment:
        return {}
    algo, value = fragment.split("=", 1)
    return {algo.lower(): value.lower()}


def _metadata_attr(value: str | None) -> dict[str, str] | None:
    """PEP 658/714 attribute value: ``"true"`` -> {} , ``"sha256=HEX"`` -> {"sha256": HEX}, absent -> None."""
    if value is None or value.lower() == "false":
        return None
    return _parse_hash(value)


def _wheel(filename: str, url: str, hashes: dict[str, str], *, size: int | None = None,
           requires_python: str | None = None, metadata: dict[str, str] | None = None,
           yanked: bool = False) -> WheelFile | None:
    if not filename.endswith(".whl"):
        return None
    try:
        name, version, _build, tags = parse_wheel_filename(filename)
    except (InvalidWheelFilename, InvalidVersion):
        return None  # a malformed name on a page is skipped, like pip does
    return WheelFile(filename=filename, url=url, project=str(name), version=version, tags=tags,
                     hashes=hashes, size=size, requires_python=requires_python or None,
                     metadata=metadata, yanked=yanked)


def _link_wheel(a: dict[str, str | None], base: str) -> WheelFile | None:
    """The wheel one ``<a>`` of a PEP 503 / find-links page links to, or None (not a wheel)."""
    url, fragment = urldefrag(urljoin(base, a.get("href") or ""))
    filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    metadata = _metadata_attr(a.get("data-core-metadata"))
    if metadata is None:
        metadata = _metadata_attr(a.get("data-dist-info-metadata"))
    return _wheel(filename, url, _parse_hash(fragment), requires_python=a.get("data-requires-python"),
                  metadata=metadata, yanked="data-yanked" in a)


def parse_html(text: str | Iterable[str], page_url: str) -> list[WheelFile]:
    """Wheels linked from a PEP 503 project page or a find-links flat page.

    ``text`` may be the page in pieces as they arrive: only the wheels are kept, never the page.
    """
    parser = _LinkParser(page_url)
    for piece in [text] if isinstance(text, str) else text:
        parser.feed(piece)
    parser.close()
    return parser.wheels


def _charset(content_type: str) -> str:
    """The charset a Content-Type names, else UTF-8 (PEP 503 pages are UTF-8)."""
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "charset" and value.strip('"\' '):
            name = value.strip('"\' ')
            try:
                codecs.lookup(name)
            except LookupError:
                break
            return name
    return "utf-8"


def _decoded(pieces: Iterable[bytes], charset: str) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder(charset)(errors="replace")
    for piece in pieces:
        yield decoder.decode(piece)
    yield decoder.decode(b"", final=True)


def parse_json(data: Any, page_url: str) -> list[WheelFile]:
    """Wheels listed in a PEP 691 JSON project page."""
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise WizardError(f"the index answered {page_url} with JSON that is not a PEP 691 project page",
                          hint="check the index URL")
    wheels: list[WheelFile] = []
    for f in data["files"]:
        if not isinstance(f, dict) or not isinstance(f.get("filename"), str):
            continue
        meta = f.get("core-metadata", f.get("dist-info-metadata"))
        metadata: dict[str, str] | None
        if isinstance(meta, dict):
            metadata = {str(k).lower(): str(v).lower() for k, v in meta.items()}
        else:
            metadata = {} if meta is True else None
        hashes = f.get("hashes") if isinstance(f.get("hashes"), dict) else {}
        size = f.get("size")
        w = _wheel(
            f["filename"], urljoin(page_url, str(f.get("url", f["filename"]))),
            {str(k).lower(): str(v).lower() for k, v in (hashes or {}).items()},
            size=size if isinstance(size, int) and size >= 0 else None,
            requires_python=f.get("requires-python") if isinstance(f.get("requires-python"), str) else None,
            metadata=metadata,
            yanked=bool(f.get("yanked")),
        )
        if w is not None:
            wheels.append(w)
    return wheels


# --------------------------------------------------------------------------- the client


def _python_of(tags: Sequence[Tag]) -> tuple[int, int] | None:
    for tag in tags:
        if tag.interpreter.startswith("cp") and tag.interpreter[2:].isdigit():
            digits = tag.interpreter[2:]
            return int(digits[0]), int(digits[1:])
    return None


def describe_tags(tags: Sequence[Tag]) -> str:
    """``Python 3.8 on win_amd64``, from the best tag of a target tag list."""
    py = _python_of(tags)
    abi = tags[0].abi if tags else ""
    ft = " free-threaded" if abi.endswith("t") and abi.startswith("cp") else ""
    plat = tags[0].platform if tags else "this platform"
    return f"Python {py[0]}.{py[1]}{ft} on {plat}" if py else f"this interpreter on {plat}"


def _python_ok(wheel: WheelFile, python_version: str | None) -> bool:
    if not wheel.requires_python or not python_version:
        return True
    try:
        return Version(python_version) in SpecifierSet(wheel.requires_python)
    except (InvalidSpecifier, InvalidVersion):
        return True  # pip ignores a broken Requires-Python too


class IndexClient:
    """Reads one index (or find-links page) and caches the project pages it read.

    ``kind`` is ``"index"`` (``<url>/<project>/``), ``"find-links"`` (``<url>`` itself lists
    every file) or ``"auto"``: the project page first, the flat page when that is 404.
    """

    def __init__(self, index_url: str, session: requests.Session | None = None, kind: str = "auto") -> None:
        if kind not in ("index", "find-links", "auto"):
            raise WizardError(f"unknown index kind '{kind}'", hint="use index, find-links or auto")
        if urlsplit(index_url).scheme not in ("http", "https"):
            raise WizardError(f"'{index_url}' is not an http(s) URL",
                              hint="for example https://download.pytorch.org/whl/cu126")
        self.page_url = index_url            # a find-links page is read exactly as given
        self.index_url = index_url.rstrip("/") + "/"
        self.session = session or make_session()
        self.kind = kind
        self._pages: dict[str, list[WheelFile]] = {}
        #: "index" once a project page was read, "find-links" once the flat page was used
        self.layout = "find-links" if kind == "find-links" else "index"
        self.format_seen: dict[str, str] = {}    # page URL -> "json" | "html"

    def _get_page(self, url: str) -> list[WheelFile]:
        # Read as it arrives, within a total deadline and a size cap (net.get_document): a
        # trickling or endless page ends in words, and an HTML page is parsed piece by piece.
        resp, body = get_document(self.session, url, T(M.NET_WHAT_INDEX_PAGE), headers={"Accept": SIMPLE_ACCEPT})
        with resp:
            content_type = resp.headers.get("Content-Type", "")
            ctype = content_type.split(";")[0].strip().lower()
            final = resp.url or url
            if ctype == JSON_CONTENT_TYPE:
                raw = b"".join(body)
                try:
                    data = json.loads(raw)
                except (ValueError, RecursionError):
                    raise WizardError(f"the index page {final} is not valid JSON",
                                      hint="check the index URL") from None
                self.format_seen[url] = "json"
                return parse_json(data, final)
            self.format_seen[url] = "html"
            return parse_html(_decoded(body, _charset(content_type)), final)

    def project_files(self, project: str) -> list[WheelFile]:
        """Every wheel of ``project`` the index lists (any platform, any version)."""
        name = canonicalize_name(project)
        if name in self._pages:
            return self._pages[name]
        files: list[WheelFile]
        if self.kind == "find-links":
            files = self._flat_page()
        else:
            try:
                files = self._get_page(f"{self.index_url}{name}/")
            except NetworkError as exc:
                if exc.kind != "not-found":
                    raise
                files = [] if self.kind == "index" else self._flat_page(missing_ok=True)
                if self.kind == "auto" and self._pages.get("\0flat"):
                    self.layout = "find-links"
        files = [f for f in files if f.project == name]
        self._pages[name] = files
        return files

    def _flat_page(self, missing_ok: bool = False) -> list[WheelFile]:
        key = "\0flat"
        if key not in self._pages:
            try:
                self._pages[key] = self._get_page(self.page_url)
            except NetworkError as exc:
                if not (missing_ok and exc.kind == "not-found"):
                    raise
                self._pages[key] = []   # neither a project page nor a flat page: "not on the index"
        return self._pages[key]

    def find_best(self, project: str, specifier: SpecifierSet | str, tags: Sequence[Tag],
                  python_version: str | None = None, exclude: Iterable[str] = ()) -> WheelFile:
        """The newest version matching ``specifier`` with a wheel for ``tags``; best tag wins.

        Raises :class:`WizardError` with words naming the target and the newest version that
        does exist for it.
        """
        spec = SpecifierSet(str(specifier)) if not isinstance(specifier, SpecifierSet) else specifier
        skip = set(exclude)
        files = [f for f in self.project_files(project) if f.filename not in skip]
        if python_version is None:
            py = _python_of(tags)
            python_version = f"{py[0]}.{py[1]}" if py else None
        candidates: list[tuple[Version, int, WheelFile]] = []
        for f in files:
            rank = f.best_tag_rank(tags)
            if rank is None or not _python_ok(f, python_version):
                continue
            pinned = any(s.operator in ("==", "===") for s in spec)
            if f.yanked and not pinned:
                continue
            if spec.contains(f.version, prereleases=True if pinned else None):
                candidates.append((f.version, -rank, f))
        if candidates:
            candidates.sort(key=lambda c: (c[0], c[1]))
            return candidates[-1][2]
        raise self._missing(project, spec, tags, files, python_version)

    def _missing(self, project: str, spec: SpecifierSet, tags: Sequence[Tag], files: list[WheelFile],
                 python_version: str | None) -> NotOnIndex:
        name = canonicalize_name(project)
        want = f"{name} {str(spec).lstrip('=')}" if str(spec).startswith("==") else f"{name} {spec}".strip()
        target = describe_tags(tags)
        if not files:
            return NotOnIndex(
                f"{name} is not on the index {self.index_url}",
                hint="check the index URL or variant; a mirror may not carry this project",
            )
        exact = [f for f in files if spec.contains(f.version, prereleases=True)]
        if not exact:
            versions = sorted({f.version for f in files})
            return NotOnIndex(
                f"{want} is not on the index {self.index_url}; the newest there is {versions[-1]}",
                hint="choose another version or another variant",
            )
        # Same variant (local label) as asked for, if one was: "the newest cu126 wheel for Python 3.8".
        labels = {Version(s.version).local for s in spec
                  if s.operator in ("==", "===") and "*" not in s.version}
        usable = [f for f in files if f.best_tag_rank(tags) is not None and _python_ok(f, python_version)]
        same_variant = [f for f in usable if f.version.local in labels]
        usable = same_variant or usable
        newest = f"the newest for {target.split(' on ')[0]} is {max(f.version for f in usable)}" if usable \
            else f"no version of {name} on this index has a wheel for it"
        return NotOnIndex(
            f"{want} has no wheel for {target}; {newest}",
            hint="choose that version, another Python, or another variant (the planner can fall back)",
            details=", ".join(sorted({f.filename for f in exact}))[:2000],
        )

    def find_wheel(self, project: str, version: str, tags: Sequence[Tag],
                   python_version: str | None = None) -> WheelFile:
        """The wheel of exactly ``project==version`` (local label included) best matching ``tags``."""
        return self.find_best(project, f"=={version}", tags, python_version)

    def content_length(self, url: str) -> int | None:
        """The file's size, for pages that do not list sizes: from HEAD, else from the first GET.

        HEAD is only a shortcut: mirrors, proxies and object stores may refuse it (405, 501, a
        5xx, a reset connection), so any HEAD failure falls back silently to a GET asking for the
        first byte (``Range: bytes=0-0``), whose ``Content-Range`` (206) or ``Content-Length``
        (200, a server without ranges) gives the size; its body is not read. Only that GET's
        failure is an error.
        """
        with contextlib.suppress(requests.RequestException):
            head = self.session.head(url, allow_redirects=True)
            value = head.headers.get("Content-Length", "")
            if head.status_code < 300 and value.isdigit():
                return int(value)
        try:
            with self.session.get(url, headers={"Range": "bytes=0-0", "Accept-Encoding": "identity"},
                                  stream=True) as resp:
                check_response(resp, T(M.NET_WHAT_WHEEL))
                total = resp.headers.get("Content-Range", "").rsplit("/", 1)[-1]
                if resp.status_code == 206 and total.isdigit():
                    return int(total)
                value = resp.headers.get("Content-Length", "")
                return int(value) if resp.status_code == 200 and value.isdigit() else None
        except requests.RequestException as exc:
            raise classify_error(exc, url) from None

    def with_size(self, wheel: WheelFile) -> WheelFile:
        """The wheel with its size filled in from HEAD when the page gave none."""
        if wheel.size is not None:
            return wheel
        size = self.content_length(wheel.url)
        if size is None:
            return wheel
        return WheelFile(wheel.filename, wheel.url, wheel.project, wheel.version, wheel.tags, wheel.hashes,
                         size, wheel.requires_python, wheel.metadata, wheel.yanked)

    def check_requirements(self, requirements: Iterable[str], tags: Sequence[Tag],
                           python_version: str | None = None) -> CheckResult:
        """Prove every requirement has a wheel for ``tags`` and total their sizes, before downloading."""
        files: list[WheelFile] = []
        unknown: list[str] = []
        for text in requirements:
            req = parse_requirement(text)
            wheel = self.with_size(self.find_best(req.name, req.specifier, tags, python_version))
            if wheel.size is None:
                unknown.append(wheel.filename)
            files.append(wheel)
        return CheckResult(files, sum(f.size or 0 for f in files), unknown)


def parse_requirement(text: str) -> Requirement:
    """A PEP 508 requirement, or a WizardError naming the bad text."""
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise WizardError(f"'{text}' is not a valid requirement: {exc}",
                          hint="write it like torch==2.14.1+cu126 or numpy>=1.26") from None


def find_wheel(project: str, version: str, tags: Sequence[Tag], index_url: str,
               session: requests.Session | None = None) -> WheelFile:
    """The wheel of ``project==version`` (e.g. ``2.14.1+cu126``) on ``index_url`` best matching ``tags``."""
    return IndexClient(index_url, session).find_wheel(project, version, tags)


def check_requirements(requirements: Iterable[str], tags: Sequence[Tag], index_url: str,
                       session: requests.Session | None = None) -> list[WheelFile]:
    """Every requirement's wheel (sizes filled in), or a WizardError for the first one missing."""
    return IndexClient(index_url, session).check_requirements(requirements, tags).files
