"""Offline bundles: every wheel an install needs, for machines that have no network.

``make_bundle`` plans the build for each target (a real interpreter or a machine profile),
fetches torch, its companions and every dependency for that target's tags with
:func:`wizard.core.fetch.wheelhouse.fetch_wheelhouse`, and writes ``bundle.json``: the sha256 and size
of every file, and for each target the machine it was made for and its plan.

``open_bundle`` is the other end: it checks every hash (and that no unlisted wheel was slipped
in) before anything is installed, and ``choose_target`` refuses a bundle whose wheels do not fit
the interpreter it is asked to install into, naming the machine the bundle was made for.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests
from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from wizard import __version__
from wizard.core.errors import WizardError
from wizard.core.fetch.tags import describe_target, target_tags
from wizard.core.fetch.wheelhouse import MANIFEST as WHEELHOUSE_MANIFEST
from wizard.core.fetch.wheelhouse import fetch_wheelhouse
from wizard.core.helpdesk.exit_codes import ExitCode, ExitError
from wizard.core.install.flow import companion_requirements
from wizard.core.model.machine import Machine, OsInfo, PythonTarget
from wizard.core.model.plan import Build, Choices, Plan
from wizard.core.paths import atomic_write_text
from wizard.core.plan.planner import make_plan

BUNDLE_MANIFEST = "bundle.json"
BUNDLE_SCHEMA = "offline-bundle/1"
WHEELS_DIR = "wheels"
INSTALLERS_DIR = "installers"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class BundleTarget:
    """One machine a bundle was made for, as written in ``bundle.json``."""

    label: str
    python: PythonTarget
    os: OsInfo
    torch: str
    variant: str
    device: str
    requirements: tuple[str, ...]
    files: tuple[str, ...]
    plan: dict[str, Any]

    def describe(self) -> str:
        """``Python 3.12 on linux x86_64 (glibc 2.35), machine 'lab-a'``."""
        return f"{describe_target(self.python, self.os)}, machine '{self.label}'"


@dataclass(frozen=True)
class BundledInstaller:
    """A driver/toolkit installer stored in the bundle (``bundle --with-installers``) for one target."""

    target: str           # the BundleTarget label it was fetched for
    kind: str             # the installers Step kind: driver_windows | cuda_toolkit | cudnn
    path: Path            # absolute, inside the bundle
    version: str | None
    url: str | None
    install_args: tuple[str, ...] = ()
    published_sha256: bool = False  # NVIDIA published the sha256 it was checked against on download


@dataclass(frozen=True)
class Bundle:
    """A bundle on disk whose every file matched its hash."""

    root: Path
    targets: tuple[BundleTarget, ...]
    created: str
    wizard_version: str
    installers: tuple[BundledInstaller, ...] = ()

    def installers_for(self, target: BundleTarget) -> list[BundledInstaller]:
        """The installers stored for ``target``."""
        return [i for i in self.installers if i.target == target.label]

    @property
    def wheels(self) -> Path:
        """The folder pip gets as ``--find-links``."""
        return self.root / WHEELS_DIR


def sha256_file(path: Path) -> str:
    """The sha256 of a file, read in 1 MiB pieces (torch CUDA wheels are ~2.5 GB)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def plan_for(machine: Machine, choices: Choices) -> tuple[Plan, Build]:
    """The plan and its recommended build; an unsupported machine is an :class:`ExitError`."""
    plan = make_plan(machine, choices)
    if plan.recommended is None or plan.status == "unsupported":
        why = " ".join(plan.explanation[-1:]) or "no build fits"
        raise ExitError(ExitCode.UNSUPPORTED, f"no PyTorch build fits machine '{machine.id}': {why}",
                        hint="run torch-gpu-setup plan for the details")
    return plan, plan.recommended


def make_bundle(
    machines: Sequence[Machine],
    choices: Choices,
    out: Path,
    *,
    index_url: str | None = None,
    session: requests.Session | None = None,
    on_status: Callable[[str], None] = lambda text: None,
    installers: InstallerOptions | None = None,
) -> Path:
    """Write a bundle for ``machines`` into ``out``; returns the manifest path.

    Every target gets the wheels of its planned build (torch, companions, every dependency)
    in ``out/wheels``; a wheel shared by several targets is stored once. With ``installers``
    each target also gets what can be downloaded from NVIDIA for it (the Windows driver, the
    CUDA toolkit / cuDNN archives when asked) in ``out/installers``.
    """
    if not machines:
        raise WizardError("a bundle needs at least one target", hint="give --python PATH or --machine PROFILE")
    out = Path(out)
    wheels = out / WHEELS_DIR
    wheels.mkdir(parents=True, exist_ok=True)
    targets: list[dict[str, Any]] = []
    notes: list[str] = []
    bundled: list[dict[str, Any]] = []
    for machine in machines:
        if machine.python is None:
            raise WizardError(f"machine '{machine.id}' has no Python to build a bundle for",
                              hint="give its interpreter with --python, or a profile with a python section")
        plan, build = plan_for(machine, choices)
        source = index_url or build.index_url
        on_status(f"{machine.id}: {build.label()} for {describe_target(machine.python, machine.os)} from {source}")
        # numpy too: every install adds it (flow.companion_requirements), offline as online
        wanted = list(build.requirements) + companion_requirements(build.torch, build.requirements)
        result = fetch_wheelhouse(wanted, index_url=source, dest=wheels, python=machine.python,
                                  os_info=machine.os, session=session)
        notes += result.notes
        targets.append({
            "label": machine.id,
            "description": machine.description,
            "python": {"version": machine.python.version, "implementation": machine.python.implementation,
                       "bits": machine.python.bits, "free_threaded": machine.python.free_threaded},
            "os": {"family": machine.os.family, "version": machine.os.version, "arch": machine.os.arch,
                   "glibc": machine.os.glibc},
            "platform": describe_target(machine.python, machine.os),
            "torch": build.torch, "variant": build.variant, "device": build.device,
            "index_url": source,
            "requirements": list(build.requirements),
            "files": sorted(w.filename for w in result.wheels),
            "plan": plan.to_json(),
        })
        if installers is not None:
            bundled += _fetch_installers(machine, plan, out, installers, session, on_status)
    # fetch_wheelhouse's own manifest describes the last target only; bundle.json replaces it.
    (wheels / WHEELHOUSE_MANIFEST).unlink(missing_ok=True)
    listed = sorted({name for t in targets for name in t["files"]})
    files = []
    for name in listed:
        path = wheels / name
        files.append({"path": f"{WHEELS_DIR}/{name}", "sha256": sha256_file(path), "size": path.stat().st_size})
    for rel in sorted({b["path"] for b in bundled}):
        path = out / rel
        # Every file gets a sha256 here (the bundle's own integrity, checked before use); whether
        # NVIDIA published one to check the download against is in "installers".
        files.append({"path": rel, "sha256": sha256_file(path), "size": path.stat().st_size})
    manifest = {
        "schema": BUNDLE_SCHEMA,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wizard_version": __version__,
        "targets": targets,
        "files": files,
        "installers": bundled,
        "notes": notes,
    }
    path = out / BUNDLE_MANIFEST
    atomic_write_text(path, json.dumps(manifest, indent=2))
    return path


def _refuse(message: str, hint: str = "") -> ExitError:
    return ExitError(ExitCode.BUNDLE_REFUSED, message, hint=hint or "make the bundle again with torch-gpu-setup "
                     "bundle, and copy the whole folder")


def _target_from(raw: dict[str, Any]) -> BundleTarget:
    py, os_raw = raw["python"], raw["os"]
    return BundleTarget(
        label=str(raw["label"]),
        python=PythonTarget(version=str(py["version"]), implementation=str(py["implementation"]),
                            bits=int(py["bits"]), free_threaded=bool(py["free_threaded"])),
        os=OsInfo(family=str(os_raw["family"]), version=str(os_raw.get("version") or ""), arch=str(os_raw["arch"]),
                  glibc=os_raw.get("glibc") or None),
        torch=str(raw["torch"]), variant=str(raw["variant"]), device=str(raw["device"]),
        requirements=tuple(str(r) for r in raw["requirements"]), files=tuple(str(f) for f in raw["files"]),
        plan=dict(raw.get("plan") or {}),
    )


def open_bundle(root: Path) -> Bundle:
    """Read ``bundle.json`` and check every file against it, before anything is installed.

    Refused (:class:`ExitError` with ``BUNDLE_REFUSED``): no or unreadable manifest, a missing
    file, a size or sha256 that differs, anything in ``wheels/`` that the manifest does not list
    (pip would pick it up: a source archive would run its ``setup.py``), a listed file there that
    is not a wheel or is a link, and a target whose files or dependencies the bundle does not hold.
    The install then gets ``wheels/`` as its only source, wheels only (``--no-index``,
    ``--only-binary :all:``), so nothing outside the manifest can be installed or run.
    """
    root = Path(root)
    manifest = root / BUNDLE_MANIFEST
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _refuse(f"{root} is not an offline bundle (no {BUNDLE_MANIFEST})",
                      "give the folder torch-gpu-setup bundle --out wrote") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _refuse(f"{manifest} cannot be read: {exc}") from None
    except RecursionError:
        raise _refuse(f"{manifest} is nested too deeply to be a bundle manifest") from None
    if not isinstance(data, dict) or data.get("schema") != BUNDLE_SCHEMA:
        raise _refuse(f"{manifest} is not a {BUNDLE_SCHEMA} manifest",
                      "this wizard reads bundles made by the same major version")
    try:
        targets = tuple(_target_from(t) for t in data["targets"])
        entries = [(str(f["path"]), str(f["sha256"]), int(f["size"])) for f in data["files"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise _refuse(f"{manifest} is damaged: {exc!r}") from None
    listed: set[str] = set()
    for rel, sha256, size in entries:
        folder, _, name = rel.partition("/")
        if folder not in (WHEELS_DIR, INSTALLERS_DIR) or "/" in name or "\\" in name or name in ("", ".", ".."):
            raise _refuse(f"{manifest} names a file outside {WHEELS_DIR}/ and {INSTALLERS_DIR}/: {rel!r}")
        path = root / folder / name
        if folder == WHEELS_DIR and not _is_wheel_name(name):
            raise _refuse(f"the bundle lists {rel}, which is not a wheel: a bundle installs wheels only, "
                          "and nothing that would have to be built (and run code) on this machine")
        if path.is_symlink():
            raise _refuse(f"{rel} is a link: a bundle holds its files themselves")
        if not path.is_file():
            raise _refuse(f"the bundle is incomplete: {rel} is missing")
        if path.stat().st_size != size or sha256_file(path) != sha256:
            raise _refuse(f"{rel} does not match the sha256 in {BUNDLE_MANIFEST}: the file was changed or damaged; "
                          "nothing was installed")
        if folder == WHEELS_DIR:
            listed.add(name)
    try:
        installers = tuple(_installer_from(root, raw, {e[0] for e in entries}) for raw in data.get("installers", []))
    except (KeyError, TypeError, ValueError) as exc:
        raise _refuse(f"{manifest} is damaged: {exc!r}") from None
    try:
        present = [p.name for p in (root / WHEELS_DIR).iterdir()]
    except OSError as exc:
        raise _refuse(f"the bundle's {WHEELS_DIR}/ folder cannot be read: {exc.strerror}") from None
    # Anything at all: pip's --find-links takes source archives too, and would build (run) them.
    extra = sorted(name for name in present if name not in listed)
    if extra:
        raise _refuse(f"the bundle holds files its manifest does not list: {', '.join(extra)}",
                      "remove them, or make the bundle again; nothing was installed")
    for target in targets:
        _check_complete(root, target, listed)
    return Bundle(root, targets, str(data.get("created", "")), str(data.get("wizard_version", "")), installers)


def _is_wheel_name(name: str) -> bool:
    """Whether ``name`` is a valid wheel file name (PEP 427): the only kind of file a bundle installs."""
    if not name.endswith(".whl"):
        return False
    try:
        parse_wheel_filename(name)
    except (InvalidWheelFilename, InvalidVersion):
        return False
    return True


def _check_complete(root: Path, target: BundleTarget, listed: set[str]) -> None:
    """Refuse a target whose wheels, or whose wheels' dependencies, the bundle does not hold.

    Each wheel's ``Requires-Dist`` (markers evaluated for the target, without extras) must be met
    by a wheel of the target: a manifest entry removed together with its file is a damaged bundle
    (exit 8), not a failed install for pip to discover.
    """
    from wizard.core.fetch.wheelhouse import marker_environment, metadata_from_wheel, requires_dist

    missing = [name for name in target.files if name not in listed]
    if missing:
        raise _refuse(f"the bundle is incomplete: the build for {target.describe()} needs "
                      f"{', '.join(missing)}, which the manifest does not list")
    have: dict[str, Version] = {}
    for name in target.files:
        project, version, _build, _tags = parse_wheel_filename(name)
        have[str(project)] = version
    try:
        env = marker_environment(target.python, target.os)
    except KeyError:
        env = None   # a platform the marker table does not know: only names are checked
    needs: list[tuple[str, str]] = [("the manifest", r) for r in target.requirements]
    for name in target.files:
        try:
            lines = requires_dist(metadata_from_wheel(root / WHEELS_DIR / name))
        except WizardError as exc:
            raise _refuse(f"{WHEELS_DIR}/{name} is not a valid wheel: {exc.message}") from None
        needs += [(name, line) for line in lines]
    for who, line in needs:
        try:
            req = Requirement(line)
            if req.marker is not None and (env is None or not req.marker.evaluate({**env, "extra": ""})):
                continue
        except (InvalidRequirement, InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
            continue   # pip would ignore or report it the same way; nothing to hold against the bundle
        project = canonicalize_name(req.name)
        held_version = have.get(project)
        if held_version is None or (req.specifier and not req.specifier.contains(held_version, prereleases=True)):
            held = f" (it holds {project} {held_version})" if held_version is not None else ""
            raise _refuse(f"the bundle is incomplete: {who} needs {req}, which the bundle does not hold{held}",
                          "make the bundle again with torch-gpu-setup bundle, and copy the whole folder; "
                          "nothing was installed")


def _installer_from(root: Path, raw: dict[str, Any], listed: set[str]) -> BundledInstaller:
    rel = str(raw["path"])
    if rel not in listed:
        raise ValueError(f"installer {rel!r} is not among the checked files")
    return BundledInstaller(target=str(raw["target"]), kind=str(raw["kind"]), path=(root / rel).resolve(),
                            version=raw.get("version"), url=raw.get("url"),
                            install_args=tuple(str(a) for a in raw.get("install_args", ())),
                            published_sha256=bool(raw.get("published_sha256")))


@dataclass(frozen=True)
class InstallerOptions:
    """``bundle --with-installers``: what to fetch from NVIDIA, and from where (mirrors, tests)."""

    toolkit: bool = False
    pfid: str | None = None
    lookup_base: str | None = None
    redist_prefix: str | None = None
    cudnn_prefix: str | None = None


def _fetch_installers(machine: Machine, plan: Plan, out: Path, options: InstallerOptions,
                      session: requests.Session | None, on_status: Callable[[str], None]) -> list[dict[str, Any]]:
    """Download what can be downloaded from NVIDIA for one target into ``out/installers``.

    Linux drivers come from the distribution's packages (nothing to store); the commands are
    in the target's plan. A Windows GPU whose product id is unknown gets a note, not a failure.
    """
    from wizard.core.drivers.installers import fetch_installers, installers_for
    from wizard.core.fetch.download import Downloader
    from wizard.core.fetch.net import make_session

    iplan = installers_for(machine, plan, toolkit=options.toolkit, pfid=options.pfid,
                           lookup_base=options.lookup_base, redist_prefix=options.redist_prefix,
                           cudnn_prefix=options.cudnn_prefix)
    session = session or make_session()
    dest = out / INSTALLERS_DIR
    if any(s.kind == "driver_windows" and not s.lookup_url for s in iplan.steps):
        on_status(f"{machine.id}: the Windows driver cannot be looked up (unknown GPU product id): give --pfid")
        iplan.steps = [s for s in iplan.steps if not (s.kind == "driver_windows" and not s.lookup_url)]
    rows: list[dict[str, Any]] = []
    for fetched in fetch_installers(iplan, dest, session, Downloader(session)):
        step = fetched.step
        on_status(f"{machine.id}: {step.title}" + (f" {fetched.version}" if fetched.version else ""))
        for path in fetched.paths:
            rows.append({"target": machine.id, "kind": step.kind, "path": f"{INSTALLERS_DIR}/{path.name}",
                         "version": fetched.version, "url": fetched.url,
                         "install_args": list(step.install_args),
                         # redist archives are checked against NVIDIA's manifest sha256; the
                         # Windows lookup publishes none (docs/SOURCES.md nvidia §4.6).
                         "published_sha256": step.kind in ("cuda_toolkit", "cudnn")})
    if not iplan.steps:
        on_status(f"{machine.id}: nothing to fetch from NVIDIA")
    return rows


def wheel_fits(filename: str, tags: set[Tag]) -> bool:
    """Whether pip on an interpreter with ``tags`` can install this wheel."""
    try:
        _, _, _, wheel_tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return False
    return bool(wheel_tags & tags)


def choose_target(bundle: Bundle, python: PythonTarget, os_info: OsInfo) -> BundleTarget:
    """The bundle target whose every wheel installs on ``python``; refused in words otherwise."""
    tags = set(target_tags(python, os_info))
    for target in bundle.targets:
        if all(wheel_fits(name, tags) for name in target.files):
            return target
    made_for = "; ".join(t.describe() for t in bundle.targets) or "no machine"
    raise _refuse(
        f"this bundle does not fit {describe_target(python, os_info)}: it was made for {made_for}",
        "make a bundle for this interpreter: torch-gpu-setup bundle --python PATH (or --machine PROFILE) --out DIR",
    )
