"""The optional CUDA toolkit and cuDNN: NVIDIA's redistributable manifests, the archives for this platform."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from wizard.core import messages as M
from wizard.core.drivers.steps import FetchedInstaller, Step, installer_data
from wizard.core.errors import WizardError
from wizard.core.fetch.download import Downloader, DownloadItem, ProgressCallback
from wizard.core.fetch.net import read_document
from wizard.core.knowledge.base import variant_cuda
from wizard.core.text import T


@dataclass(frozen=True)
class RedistFile:
    """One archive of a redistributable manifest."""

    component: str
    version: str
    relative_path: str
    sha256: str
    size: int
    url: str

    def item(self) -> DownloadItem:
        """As a download with its checksum and size."""
        return DownloadItem(url=self.url, filename=self.relative_path.rsplit("/", 1)[-1],
                            sha256=self.sha256, size=self.size)


def redist_platform(family: str, arch: str) -> str | None:
    """The manifest's platform key (docs/SOURCES.md nvidia §3.1): linux-x86_64, linux-sbsa, windows-x86_64."""
    if family == "linux":
        return "linux-sbsa" if arch in ("aarch64", "arm64") else ("linux-x86_64" if arch == "x86_64" else None)
    if family == "windows" and arch == "x86_64":
        return "windows-x86_64"
    return None


def parse_redist_manifest(data: Any, prefix: str, platform: str, *, components: tuple[str, ...] = (),
                          cuda_variant: str | None = None) -> tuple[list[RedistFile], list[str]]:
    """The archives for ``platform`` in a ``redistrib_<ver>.json`` document, and notes.

    CUDA manifests put ``{relative_path, sha256, md5, size}`` right under the platform key;
    cuDNN manifests nest one level deeper by CUDA major (``"cuda12"``). ``size`` is a string.
    """
    if not isinstance(data, dict) or "release_label" not in data:
        raise WizardError("the redistributable manifest is not in NVIDIA's format",
                          hint="check the manifest URL", details=str(data)[:300])
    notes: list[str] = []
    files: list[RedistFile] = []
    names = components or tuple(k for k, v in data.items() if isinstance(v, dict))
    for name in names:
        comp = data.get(name)
        if not isinstance(comp, dict):
            notes.append(f"{name} is not in the {data.get('release_label')} manifest")
            continue
        entry = comp.get(platform)
        if isinstance(entry, dict) and cuda_variant and "relative_path" not in entry:
            entry = entry.get(cuda_variant)
        if not isinstance(entry, dict):
            notes.append(f"{name} has no {platform}{'/' + cuda_variant if cuda_variant else ''} archive")
            continue
        try:
            files.append(RedistFile(name, str(comp.get("version", "")), str(entry["relative_path"]),
                                    str(entry["sha256"]).lower(), int(str(entry["size"])),
                                    prefix.rstrip("/") + "/" + str(entry["relative_path"]).lstrip("/")))
        except (KeyError, ValueError) as exc:
            raise WizardError(f"the manifest entry for {name} ({platform}) is incomplete",
                              hint="try again later", details=repr(exc)) from None
    return files, notes


def _toolkit_entry(cuda: str) -> dict[str, Any] | None:
    for t in installer_data()["cuda"]["toolkits"]:
        if t["cuda"] == cuda:
            return dict(t)
    return None


def toolkit_steps(variant: str, family: str, arch: str, *, redist_prefix: str | None = None,
                  cudnn_prefix: str | None = None) -> list[Step]:
    """The CUDA toolkit (and cuDNN) matching a torch build's CUDA, for compiling extensions only."""
    cuda = variant_cuda(variant)
    if cuda is None:
        return []
    data = installer_data()["cuda"]
    entry = _toolkit_entry(cuda)
    plat = redist_platform(family, arch)
    why = T(M.TOOLKIT_WHY, variant=variant, cuda=cuda)
    if entry is None:
        return [Step("cuda_toolkit", T(M.STEP_TOOLKIT, version=cuda), why,
                     urls=("https://developer.nvidia.com/cuda-toolkit-archive",),
                     notes=(T(M.TOOLKIT_NO_INSTALLER, cuda=cuda),),
                     sources=("docs/SOURCES.md nvidia §3.2",))]
    version = entry["version"]
    base = f"{data['installer_base']}{version}/local_installers/"
    if family == "windows":
        driver = entry.get("windows_driver")
        installer = f"{base}cuda_{version}_{driver}_windows.exe" if driver else f"{base}cuda_{version}_windows.exe"
        silent: tuple[str, ...] = tuple(data["windows_silent"])
    else:
        installer = f"{base}cuda_{version}_{entry['linux_driver']}_linux.run"
        silent = tuple(data["linux_silent"])
    prefix = redist_prefix or data["redist_prefix"]
    steps = [Step("cuda_toolkit", T(M.STEP_TOOLKIT_OPTIONAL, version=version), why, urls=(installer,),
                  version=version,
                  install_args=silent, manifest_url=f"{prefix.rstrip('/')}/redistrib_{version}.json",
                  manifest_prefix=prefix, redist_platform=plat, components=tuple(data["components"]),
                  notes=(T(M.TOOLKIT_PREFER_REDIST),
                         T(M.TOOLKIT_FULL_INSTALLER, installer=installer, args=" ".join(silent))),
                  sources=("docs/SOURCES.md nvidia §3.1", "§3.2", "§3.3"))]
    major = cuda.split(".")[0]
    cudnn = data["cudnn"].get(major)
    cudnn_base = cudnn_prefix or data["cudnn_redist_prefix"]
    if cudnn:
        steps.append(Step("cudnn", T(M.STEP_CUDNN, version=cudnn, major=major), T(M.CUDNN_WHY),
                          version=cudnn, manifest_url=f"{cudnn_base.rstrip('/')}/redistrib_{cudnn}.json",
                          manifest_prefix=cudnn_base, redist_platform=plat, cuda_variant=f"cuda{major}",
                          components=("cudnn",), sources=("docs/SOURCES.md nvidia §3.1",)))
    else:
        steps.append(Step("cudnn", T(M.STEP_CUDNN_UNKNOWN, major=major), T(M.CUDNN_WHY_SHORT), urls=(cudnn_base,),
                          notes=(T(M.CUDNN_NO_RELEASE, major=major, url=cudnn_base),),
                          sources=("docs/SOURCES.md nvidia §3.1",)))
    return steps


def fetch_redist(step: Step, dest: Path, session: requests.Session, downloader: Downloader,
                 progress: ProgressCallback | None = None,
                 cancel: threading.Event | None = None) -> FetchedInstaller:
    """Download a step's manifest, then its archives with their sha256 and size checked."""
    if not step.manifest_url or not step.manifest_prefix or not step.redist_platform:
        raise WizardError(f"{step.title}: nothing the wizard can download for this platform",
                          hint="see the listed URLs")
    url = step.manifest_url
    # a small document: read within a total deadline and a size cap (net.read_document)
    _resp, body = read_document(session, url, url.rsplit("/", 1)[-1])
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise WizardError(f"{url.rsplit('/', 1)[-1]} is not JSON", hint="check the manifest URL",
                          details=body[:300].decode("utf-8", "replace")) from None
    files, notes = parse_redist_manifest(data, step.manifest_prefix, step.redist_platform,
                                         components=step.components, cuda_variant=step.cuda_variant)
    if not files:
        raise WizardError(f"{step.title}: the manifest lists no archive for {step.redist_platform}",
                          hint="; ".join(notes) or "see the listed URLs")
    paths = downloader.fetch_all([f.item() for f in files], dest, progress, cancel)
    return FetchedInstaller(step, paths, version=str(data.get("release_label", step.version)), url=url,
                            notes=notes)
