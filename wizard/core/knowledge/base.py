"""The knowledge base: which PyTorch builds exist, what they run on, and which driver they need.

Facts live in ``wizard/data/releases.json`` and ``wizard/data/cuda.json``, each entry with its
source; facts the research could only infer are listed in the entry's ``inferred`` keys and the
planner says so. ``torch-gpu-setup data refresh`` writes an observed-index overlay into the
user's data directory; :func:`load_knowledge` merges it, so a new PyTorch release works without
a new wizard release. The bundled data stays the fallback.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from wizard.core.errors import KnowledgeError

log = logging.getLogger(__name__)

OVERLAY_NAME = "observed_index.json"
OVERLAY_SCHEMA = "observed-index/1"


def parse_cc(value: str) -> tuple[int, int]:
    """"8.6" -> (8, 6)."""
    major, minor = value.split(".", 1)
    return int(major), int(minor)


def format_cc(cc: tuple[int, int]) -> str:
    """(8, 6) -> "8.6"."""
    return f"{cc[0]}.{cc[1]}"


@dataclass(frozen=True)
class ArchSet:
    """The GPU code compiled into one CUDA build: native SASS per capability and optional PTX."""

    sass: tuple[tuple[int, int], ...]
    ptx: tuple[int, int] | None = None

    def runs_on(self, cc: tuple[int, int]) -> str | None:
        """How a GPU of capability ``cc`` runs this build: "sass", "ptx" or None (it does not).

        SASS for X.y runs on X.z with z >= y (NVIDIA binary compatibility within a major,
        docs/SOURCES.md torch-matrix §2); PTX for X.y is JIT-compiled on any newer GPU.
        """
        if any(major == cc[0] and minor <= cc[1] for major, minor in self.sass):
            return "sass"
        if self.ptx is not None and self.ptx <= cc:
            return "ptx"
        return None

    def describe(self) -> str:
        """"sm_75 … sm_120 (+PTX 12.0)" for explanations."""
        text = ", ".join(f"sm_{a}{b}" for a, b in self.sass)
        return text + (f", PTX {format_cc(self.ptx)}" if self.ptx else "")


@dataclass(frozen=True)
class Companion:
    """torchvision or torchaudio paired with a torch release."""

    version: str
    published: bool
    inferred: bool = False


@dataclass(frozen=True)
class Release:
    """One torch minor release (its newest patch) and the builds it published."""

    torch: str
    versions: tuple[str, ...]
    date: str
    python: tuple[str, ...]
    free_threaded: tuple[str, ...]
    python_index_only: dict[str, tuple[str, ...]]
    glibc_min: str
    variants: dict[str, dict[str, ArchSet | None]]
    pypi_default: dict[str, str]
    torchvision: Companion | None
    torchaudio: Companion | None
    inferred: frozenset[str]
    source: str
    #: Pythons the release supports only experimentally (RELEASE.md: 2.5 and 3.13).
    python_experimental: tuple[str, ...] = ()

    @property
    def version(self) -> Version:
        """The release as a comparable version."""
        return Version(self.torch)

    @property
    def minor(self) -> str:
        """"2.14" for torch 2.14.1."""
        return ".".join(self.torch.split(".")[:2])

    def is_inferred(self, *keys: str) -> bool:
        """True when any of ``keys`` (a variant, a platform, "linux-aarch64/cu128", "torchaudio") is inferred."""
        return any(k in self.inferred for k in keys)


@dataclass(frozen=True)
class Knowledge:
    """Everything the planner knows, newest release first."""

    date: str
    releases: tuple[Release, ...]
    rocm_gfx: dict[str, tuple[frozenset[str], bool]]
    cuda_floors: dict[int, dict[str, str]]
    cuda_bundled: dict[str, dict[str, str | None]]
    disk_needs_gib: dict[str, float]
    download_gib: dict[str, float] = field(default_factory=dict)
    overlay: dict[str, Any] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def release(self, version: str) -> Release | None:
        """The release for "2.13", "2.13.0" or "2.13.0+cu126" (any patch of that minor)."""
        base = version.split("+", 1)[0]
        for rel in self.releases:
            if base == rel.minor or base in rel.versions or base == rel.torch:
                return rel
        return None

    def size_estimate(self, device: str) -> tuple[float, float]:
        """(download GiB, disk GiB needed in all) for a build of ``device``: the one estimate.

        releases.json's ``download_gib`` and ``disk_needs_gib`` (downloads included), each with its
        source. The real sizes are known once the index is read (the install's ``FilesPlanned``).
        """
        need = self.disk_needs_gib.get(device, 0.0)
        return self.download_gib.get(device, need / 3), need

    def floor(self, cuda_major: int, os_family: str) -> str | None:
        """Minimum driver for any toolkit of ``cuda_major`` (minor-version compatibility, Table 2)."""
        return self.cuda_floors.get(cuda_major, {}).get(os_family)

    def bundled_driver(self, cuda: str, os_family: str) -> str | None:
        """The driver that ships with toolkit ``cuda`` GA (Table 3), or None when unknown."""
        return self.cuda_bundled.get(cuda, {}).get(os_family)


def variant_cuda(variant: str) -> str | None:
    """"cu126" -> "12.6", "cu130" -> "13.0"; None for non-CUDA variants."""
    if not variant.startswith("cu") or not variant[2:].isdigit():
        return None
    digits = variant[2:]
    return f"{digits[:-1]}.{digits[-1]}"


def variant_device(variant: str) -> str:
    """The torch device family a variant drives: cuda, rocm, xpu, mps or cpu."""
    if variant.startswith("cu"):
        return "cuda"
    if variant.startswith("rocm"):
        return "rocm"
    return variant if variant in ("xpu", "mps") else "cpu"


def _data_text(name: str) -> str:
    return resources.files("wizard.data").joinpath(name).read_text(encoding="utf-8")


def _arch_set(raw: dict[str, Any]) -> ArchSet:
    return ArchSet(
        sass=tuple(parse_cc(c) for c in raw["sass"]),
        ptx=parse_cc(raw["ptx"]) if raw.get("ptx") else None,
    )


def _companion(raw: dict[str, Any] | None) -> Companion | None:
    if not raw:
        return None
    return Companion(str(raw["version"]), bool(raw.get("published", True)), bool(raw.get("inferred", False)))


def _build(releases_doc: dict[str, Any], cuda_doc: dict[str, Any]) -> Knowledge:
    arch_sets = {name: _arch_set(raw) for name, raw in releases_doc["arch_sets"].items()}
    releases = []
    for raw in releases_doc["releases"]:
        variants: dict[str, dict[str, ArchSet | None]] = {}
        for platform, table in raw["variants"].items():
            variants[platform] = {v: (arch_sets[s] if s else None) for v, s in table.items()}
        releases.append(Release(
            torch=raw["torch"],
            versions=tuple(raw["versions"]),
            date=raw["date"],
            python=tuple(raw["python"]),
            free_threaded=tuple(raw.get("free_threaded", ())),
            python_index_only={k: tuple(v) for k, v in raw.get("python_index_only", {}).items()},
            glibc_min=raw["glibc_min"],
            variants=variants,
            pypi_default=dict(raw.get("pypi_default", {})),
            torchvision=_companion(raw.get("torchvision")),
            torchaudio=_companion(raw.get("torchaudio")),
            inferred=frozenset(raw.get("inferred", ())),
            source=raw["source"],
            python_experimental=tuple(raw.get("python_experimental", ())),
        ))
    releases.sort(key=lambda r: r.version, reverse=True)
    rocm = {name: (frozenset(v["gfx"]), bool(v.get("inferred", False)))
            for name, v in releases_doc["rocm_gfx"].items()}
    floors = {int(f["major"]): dict(f["floor"]) for f in cuda_doc["families"]}
    bundled = {t["cuda"]: dict(t["bundled"]) for t in cuda_doc["toolkits"]}
    disk = {k: float(v) for k, v in releases_doc["disk_needs_gib"].items() if k != "source"}
    download = {k: float(v) for k, v in releases_doc.get("download_gib", {}).items()
                if isinstance(v, (int, float))}
    return Knowledge(
        date=releases_doc["date"], releases=tuple(releases), rocm_gfx=rocm,
        cuda_floors=floors, cuda_bundled=bundled, disk_needs_gib=disk, download_gib=download,
    )


@lru_cache(maxsize=1)
def bundled_knowledge() -> Knowledge:
    """The knowledge base shipped with the wizard."""
    try:
        return _build(json.loads(_data_text("releases.json")), json.loads(_data_text("cuda.json")))
    except (OSError, ValueError, KeyError, TypeError) as exc:  # a broken package, not user input
        raise KnowledgeError("The wizard's bundled knowledge base is damaged.",
                             hint="reinstall torch-gpu-setup", details=repr(exc)) from exc


def overlay_path() -> Path:
    """Where ``data refresh`` writes what it saw on the live index."""
    from wizard.core import paths

    return paths.data_dir() / "knowledge" / OVERLAY_NAME


def load_knowledge(overlay: Path | None = None, *, use_overlay: bool = True) -> Knowledge:
    """The bundled knowledge merged with the observed-index overlay when one is present.

    A damaged overlay is ignored with a note (the bundled data is the fallback), never fatal.
    """
    kb = bundled_knowledge()
    if not use_overlay:
        return kb
    path = overlay if overlay is not None else overlay_path()
    if not path.is_file():
        return kb
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or doc.get("schema") != OVERLAY_SCHEMA:
            raise ValueError(f"schema is not {OVERLAY_SCHEMA}")
        return merge_overlay(kb, doc)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("ignoring damaged knowledge overlay %s: %s", path, exc)
        return replace(kb, notes=(*kb.notes, f"ignored the refreshed index data in {path}: {exc}"))


def merge_overlay(kb: Knowledge, doc: dict[str, Any]) -> Knowledge:
    """Fold an observed-index document into the knowledge base.

    What the live index shows wins: companions seen there count as published, variants seen
    there are added (their GPU code taken from the same variant in the nearest older release),
    and torch versions the bundled data does not know become new releases modelled on the
    newest known one, every fact of them marked inferred.
    """
    projects = doc.get("projects", {})
    torch_seen: dict[str, dict[str, list[str]]] = projects.get("torch", {})
    releases = {rel.torch: rel for rel in kb.releases}

    for version in sorted(torch_seen, key=_safe_version):
        variants_seen = torch_seen[version]
        existing = kb.release(version)
        if existing is None:
            releases[version] = _new_release(kb, version, variants_seen)
        elif version not in existing.versions:
            releases[existing.torch] = replace(existing, versions=(*existing.versions, version))
        base = kb.release(version) or releases[version]
        releases[base.torch] = _add_variants(kb, releases[base.torch], variants_seen)

    for project in ("torchvision", "torchaudio"):
        for version, variants_seen in projects.get(project, {}).items():
            for rel_key, rel in list(releases.items()):
                comp = getattr(rel, project)
                if comp is not None and comp.version == version and variants_seen:
                    published = Companion(version, True, comp.inferred)
                    releases[rel_key] = (replace(rel, torchvision=published) if project == "torchvision"
                                         else replace(rel, torchaudio=published))

    ordered = tuple(sorted(releases.values(), key=lambda r: r.version, reverse=True))
    note = f"index data refreshed {doc.get('fetched_at', '?')} from {doc.get('index_base', '?')}"
    return replace(kb, releases=ordered, overlay=doc, notes=(*kb.notes, note))


def _safe_version(text: str) -> Version:
    try:
        return Version(text.split("+", 1)[0])
    except InvalidVersion:
        return Version("0")


def _platform_of(tag: str) -> str | None:
    """"cp312-cp312-manylinux_2_28_x86_64" -> "linux-x86_64"."""
    plat = tag.rsplit("-", 1)[-1]
    if plat.startswith(("manylinux", "linux")):
        return "linux-aarch64" if plat.endswith("aarch64") else "linux-x86_64"
    if plat == "win_amd64":
        return "windows-x86_64"
    if plat.startswith("macosx") and plat.endswith("arm64"):
        return "macos-arm64"
    return None


def _nearest_arch(kb: Knowledge, platform: str, variant: str, below: Version) -> ArchSet | None:
    for rel in kb.releases:
        if rel.version <= below and variant in rel.variants.get(platform, {}):
            return rel.variants[platform][variant]
    # An unknown new CUDA variant: assume the newest CUDA build's GPU code (marked inferred).
    for rel in kb.releases:
        for v, arch in rel.variants.get(platform, {}).items():
            if v.startswith("cu") and arch is not None:
                return arch
    return None


def _add_variants(kb: Knowledge, rel: Release, seen: dict[str, list[str]]) -> Release:
    variants = {p: dict(t) for p, t in rel.variants.items()}
    added: set[str] = set()
    for variant, tags in seen.items():
        label = "mps" if variant == "pypi" else variant
        for tag in tags:
            platform = _platform_of(tag)
            if platform is None or (variant == "pypi" and platform != "macos-arm64"):
                continue
            table = variants.setdefault(platform, {})
            if label not in table:
                table[label] = _nearest_arch(kb, platform, label, rel.version)
                added.add(label)
    if not added:
        return rel
    return replace(rel, variants=variants, inferred=rel.inferred | added)


def _new_release(kb: Knowledge, version: str, seen: dict[str, list[str]]) -> Release:
    model = kb.releases[0]
    pythons = sorted({_py_of(t) for tags in seen.values() for t in tags} - {""}, key=_py_key)
    return Release(
        torch=version.split("+", 1)[0],
        versions=(version.split("+", 1)[0],),
        date="seen on the index",
        python=tuple(pythons) or model.python,
        free_threaded=(),
        python_index_only={},
        glibc_min=model.glibc_min,
        variants={},
        pypi_default={},
        torchvision=None,
        torchaudio=None,
        inferred=frozenset({"variants", "python", "glibc_min", "torchvision", "torchaudio"}),
        source="observed on the live index by 'data refresh'; arch lists taken from the nearest known release",
    )


def _py_of(tag: str) -> str:
    interp = tag.split("-", 1)[0]
    if interp.startswith("cp") and interp[2:].isdigit() and len(interp) >= 4:
        return f"{interp[2]}.{interp[3:]}"
    return ""


def _py_key(v: str) -> tuple[int, int]:
    a, b = v.split(".")
    return int(a), int(b)
