"""Machine + the user's choices -> the PyTorch build to install, and why, in plain words.

The planner picks the newest torch release whose CUDA/ROCm/XPU/CPU build runs on every
supported GPU with this driver, OS and Python. When an action (a driver update, a newer
Python) unlocks a newer release, it recommends the action and offers the build that works as
the machine is now as an alternative. Its output is the ``plan --json`` contract of
tests/profiles/SCHEMA.md.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from packaging.version import InvalidVersion, Version

from wizard.core import messages as M
from wizard.core.errors import ChoiceError
from wizard.core.knowledge import gpu_catalog
from wizard.core.knowledge.base import (
    Knowledge,
    Release,
    format_cc,
    load_knowledge,
    parse_cc,
    variant_cuda,
    variant_device,
)
from wizard.core.model.machine import DriverState, Gpu, Machine, PythonTarget
from wizard.core.model.plan import Action, Build, Choices, EnvironmentChoice, GpuVerdict, Plan
from wizard.core.plan.environment import default_environment
from wizard.core.text import T, join, restyle

PYTORCH_INDEX = "https://download.pytorch.org/whl"
PYPI_INDEX = "https://pypi.org/simple"
# The Python a person is asked to install when theirs cannot run a current build: new enough
# for every release since 2.2, old enough that every library has wheels for it.
RECOMMENDED_PYTHON = "3.12"


# --------------------------------------------------------------------------- machine reading


def platform_key(family: str, arch: str) -> str:
    """The knowledge base's platform name: "linux-x86_64", "windows-x86_64", "macos-arm64" ..."""
    if family == "macos":
        return "macos-arm64" if arch in ("arm64", "aarch64") else f"macos-{arch}"
    if family == "linux" and arch == "arm64":
        arch = "aarch64"
    return f"{family}-{arch}"


@dataclass(frozen=True)
class _GpuFacts:
    """A GPU with what the planner learned about it."""

    index: int
    gpu: Gpu
    cc: tuple[int, int] | None = None
    cc_inferred: bool = False
    gfx: str | None = None
    architecture: str = ""
    usable_kind: str | None = None  # "cuda", "rocm", "xpu", "mps" or None (ignored)
    ignore_reason: str = ""
    family: str | None = None  # "Ampere", "RDNA3", "Xe2 (Lunar Lake)", "Apple silicon"
    known_by: str | None = None  # "driver", "pci_id", "name" (plan --json gpus[].known_by); None: not known
    unknown_id: bool = False  # it has a PCI id, but neither the driver nor the catalog told the architecture by it
    jetson: bool = False  # a Jetson module's integrated GPU (L4T on aarch64)
    linux_validated: str | None = None  # Intel: the oldest Linux PyTorch's Intel GPU guide validates it on


# A Jetson's GPU is on the SoC, not on PCI: its name says what it is (detect, or the profile).
_JETSON_NAME = re.compile(r"\b(Jetson|Tegra|Orin|Xavier|Thor)\b", re.IGNORECASE)


def _gpu_facts(index: int, gpu: Gpu, family: str, platform: str = "") -> _GpuFacts:
    if gpu.vendor == "nvidia":
        return _nvidia_facts(index, gpu, platform)
    if gpu.vendor == "amd":
        ident = gpu_catalog.identify("amd", gpu.name, gpu.pci_id)
        gfx = gpu.gfx_arch or (ident.gfx_arch if ident else None)
        known_by = "driver" if gpu.gfx_arch else (ident.known_by if ident and ident.gfx_arch else None)
        base = _GpuFacts(index, gpu, gfx=gfx, family=gpu_catalog.amd_family(gfx) or (ident.family if ident else None),
                         known_by=known_by, unknown_id=bool(gpu.pci_id) and known_by in (None, "name"))
        if family != "linux":
            return dataclasses.replace(base, ignore_reason=T(M.GPU_AMD_NOT_LINUX, os=_family_name(family)))
        if gfx is None:
            return dataclasses.replace(base, ignore_reason=T(M.GPU_AMD_GFX_UNKNOWN))
        return dataclasses.replace(base, architecture=gfx, usable_kind="rocm")
    if gpu.vendor == "intel":
        ident = gpu_catalog.identify("intel", gpu.name, gpu.pci_id)
        base = _GpuFacts(index, gpu, family=ident.family if ident else None,
                         known_by=ident.known_by if ident and ident.family else None)
        if ident is None or not ident.xpu:
            return dataclasses.replace(base, ignore_reason=T(M.GPU_INTEL_NO_XPU))
        if family not in ("linux", "windows"):
            return dataclasses.replace(base, ignore_reason=T(M.GPU_XPU_OS))
        return dataclasses.replace(base, architecture=ident.family or "Intel Arc", usable_kind="xpu",
                                   linux_validated=ident.linux_validated)
    if gpu.vendor == "apple":
        return _GpuFacts(index, gpu, architecture="Apple silicon", usable_kind="mps" if family == "macos" else None,
                         ignore_reason="" if family == "macos" else T(M.GPU_APPLE_NOT_MACOS),
                         family="Apple silicon", known_by="name")
    return _GpuFacts(index, gpu, ignore_reason=T(M.GPU_UNKNOWN_VENDOR))


def _nvidia_facts(index: int, gpu: Gpu, platform: str) -> _GpuFacts:
    """Compute capability from the driver, else the catalog (PCI id first, then the name)."""
    # By name only: DGX Spark's GB10 is an integrated aarch64 GPU too, but runs the server-Arm stack.
    jetson = platform == "linux-aarch64" and bool(_JETSON_NAME.search(gpu.name))
    if gpu.compute_capability:
        cc = parse_cc(gpu.compute_capability)
        arch = gpu.architecture or gpu_catalog.architecture_name(gpu.compute_capability)
        facts = _GpuFacts(index, gpu, cc=cc, architecture=arch, usable_kind="cuda", family=arch, known_by="driver",
                          jetson=jetson)
    else:
        ident = gpu_catalog.identify("nvidia", gpu.name, gpu.pci_id)
        if ident is None or ident.compute_capability is None:
            return _GpuFacts(index, gpu, usable_kind=None, ignore_reason=T(M.GPU_NVIDIA_ARCH_UNKNOWN),
                             unknown_id=bool(gpu.pci_id), jetson=jetson)
        arch = gpu_catalog.architecture_name(ident.compute_capability)
        facts = _GpuFacts(index, gpu, cc=parse_cc(ident.compute_capability), cc_inferred=True, architecture=arch,
                          usable_kind="cuda", family=arch, known_by=ident.known_by,
                          unknown_id=ident.known_by != "pci_id" and bool(gpu.pci_id), jetson=jetson)
    if jetson and facts.cc is not None and facts.cc < JETSON_SBSA_MIN_CC:
        # Orin and older run L4T's own CUDA stack: download.pytorch.org's aarch64 CUDA wheels are
        # built for server Arm (SBSA) and do not run there (../shared/research/external-check.md
        # "Routes the external tools have"; pytorch/pytorch#78067: NVIDIA's Jetson wheels per JetPack).
        return dataclasses.replace(facts, usable_kind=None, ignore_reason=T(M.GPU_JETSON))
    return facts


#: Jetson Thor (sm_110) runs JetPack 7, whose CUDA stack is the server-Arm (SBSA) one: PyTorch's
#: aarch64 cu13x builds carry sm_110 and run there (gpus.json source "jetson-thor").
JETSON_SBSA_MIN_CC = (11, 0)


def _family_name(family: str) -> str:
    return {"linux": "Linux", "windows": "Windows", "macos": "macOS"}.get(family, family)


def _vkey(text: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        return Version("0")


# --------------------------------------------------------------------------- candidates


@dataclass(frozen=True)
class _Fixes:
    """Which obstacles the plan may ask the person to remove."""

    driver: bool = False
    python: bool = False


@dataclass
class _Candidate:
    release: Release
    variant: str
    python: str
    driver_fit: str  # "native", "compat", "update", "missing", "n/a"
    min_driver: str | None
    companions: dict[str, str]
    missing_companions: list[str]
    inferred: bool
    python_changed: bool


class _Planner:
    def __init__(self, machine: Machine, choices: Choices, kb: Knowledge) -> None:
        self.m = machine
        self.c = choices
        self.kb = kb
        self.family = machine.os.family
        self.platform = platform_key(machine.os.family, machine.os.arch)
        # WSL uses the Windows driver, so Windows driver numbering and floors apply there.
        self.driver_family = "windows" if (machine.os.family == "windows" or machine.os.wsl) else "linux"
        self.explain: list[str] = []
        self.warnings: list[str] = []
        self.facts = [_gpu_facts(i, g, self.family, self.platform) for i, g in enumerate(machine.gpus)]

    # ---- python

    def _python_now(self) -> tuple[str | None, str]:
        """The target Python as "3.12" when usable for PyTorch, else None and why."""
        py = self.m.python
        if py is None:
            return None, T(M.PY_NONE)
        if py.implementation.lower() != "cpython":
            return None, T(M.PY_NOT_CPYTHON, implementation=py.implementation)
        if py.bits != 64:
            return None, T(M.PY_32BIT)
        if self.m.os.arch == "x86":
            return None, T(M.OS_32BIT)
        return f"{py.minor[0]}.{py.minor[1]}", ""

    def _python_ok(self, rel: Release, py: str) -> tuple[bool, bool]:
        """(has torch wheels for py here, companions have wheels too)."""
        ft = bool(self.m.python and self.m.python.free_threaded)
        if ft and py not in rel.free_threaded:
            return False, False
        if py in rel.python:
            return True, True
        if self.platform in rel.python_index_only.get(py, ()):
            return True, False  # e.g. cp315 on download.pytorch.org: torch only, no torchvision
        return False, False

    def _glibc_ok(self, rel: Release) -> bool:
        if self.family != "linux" or not self.m.os.glibc:
            return True
        return _vkey(self.m.os.glibc) >= _vkey(rel.glibc_min)

    # ---- driver

    def _driver_fit(self, variant: str) -> tuple[str, str | None]:
        cuda = variant_cuda(variant)
        if cuda is None:
            return "n/a", None
        major = int(cuda.split(".")[0])
        bundled = self.kb.bundled_driver(cuda, self.driver_family)
        floor = self.kb.floor(major, self.driver_family)
        needed = bundled or floor
        drv = self.m.nvidia_driver
        if drv is None:
            return "missing", needed
        if drv.cuda_version and _vkey(cuda) <= _vkey(drv.cuda_version):
            return "native", needed
        if not drv.cuda_version and bundled and _vkey(drv.version) >= _vkey(bundled):
            return "native", needed
        if floor and _vkey(drv.version) >= _vkey(floor):
            return "compat", needed
        return "update", needed

    # ---- coverage

    def _covers(self, rel: Release, variant: str, targets: list[_GpuFacts]) -> bool:
        arch = rel.variants.get(self.platform, {}).get(variant)
        device = variant_device(variant)
        # Identical cards are asked once (a profile may list thousands: issue 15 #9).
        for f in {(t.cc, t.gfx, t.usable_kind): t for t in targets}.values():
            if device == "cuda":
                if arch is None or f.cc is None or arch.runs_on(f.cc) is None:
                    return False
            elif device == "rocm":
                gfx = self.kb.rocm_gfx.get(variant)
                if gfx is None or f.gfx not in gfx[0]:
                    return False
            elif device != f.usable_kind:
                return False
        return True

    def candidates(self, device: str, targets: list[_GpuFacts], fixes: _Fixes,
                   need_companions: bool = True) -> list[_Candidate]:
        """Every build that would run, newest release first, best variant first within one."""
        py_now, _ = self._python_now()
        out: list[_Candidate] = []
        for rel in self.kb.releases:
            if self.c.torch and self.kb.release(self.c.torch) is not rel:
                continue
            if not self._glibc_ok(rel):
                continue
            python = py_now
            py_ok, comp_ok = (self._python_ok(rel, py_now) if py_now else (False, False))
            changed = False
            if not py_ok or (need_companions and not comp_ok and self._wants_companions()):
                if not fixes.python:
                    if not py_ok:
                        continue
                else:
                    python = RECOMMENDED_PYTHON if RECOMMENDED_PYTHON in rel.python else rel.python[-1]
                    py_ok, comp_ok, changed = True, True, True
            assert python is not None
            variants = rel.variants.get(self.platform, {})
            found: list[_Candidate] = []
            for variant in variants:
                if self.c.variant and variant != self.c.variant:
                    continue
                if variant_device(variant) != device:
                    continue
                if not self.c.variant and not self._covers(rel, variant, targets):
                    continue
                fit, needed = self._driver_fit(variant)
                if fit in ("update", "missing") and not fixes.driver:
                    continue
                companions, missing = self._companions(rel, variant, comp_ok)
                if missing and need_companions:
                    continue
                inferred = rel.is_inferred(variant, self.platform, f"{self.platform}/{variant}", "variants") or (
                    device == "rocm" and self.kb.rocm_gfx.get(variant, (frozenset(), False))[1])
                found.append(_Candidate(rel, variant, python, fit, needed, companions, missing,
                                        inferred, changed))
            out.extend(sorted(found, key=lambda c: self._variant_rank(c)))
        return out

    def _wants_companions(self) -> bool:
        return self.c.torchvision or self.c.torchaudio

    def _companions(self, rel: Release, variant: str, wheels_ok: bool) -> tuple[dict[str, str], list[str]]:
        wanted = [n for n, on in (("torchvision", self.c.torchvision), ("torchaudio", self.c.torchaudio)) if on]
        have: dict[str, str] = {}
        missing: list[str] = []
        for name in wanted:
            comp = getattr(rel, name)
            if comp is None or not comp.published or not wheels_ok:
                missing.append(name)
            else:
                have[name] = comp.version
        return have, missing

    def _variant_rank(self, c: _Candidate) -> tuple[int, Any]:
        """Sort key within one release: builds that run as the driver is now come first."""
        cuda = variant_cuda(c.variant)
        if cuda is None:
            # ROCm/XPU/CPU: the newest ROCm first.
            return (0, tuple(-p for p in _vkey(c.variant.removeprefix("rocm")).release))
        v = _vkey(cuda)
        if c.driver_fit == "native":
            return (0, tuple(-p for p in v.release))          # newest CUDA the driver supports
        if c.driver_fit == "compat":
            return (1, v.release)                            # closest to the driver
        # The driver will be installed or updated anyway: prefer the release's stable CUDA
        # (its PyPI default), then the newest.
        stable = c.release.pypi_default.get("linux-x86_64")
        return (2, (0 if c.variant == stable else 1, tuple(-p for p in v.release)))

    # ---- build assembly

    def build(self, cand: _Candidate, why_not: str | None = None) -> Build:
        device = variant_device(cand.variant)
        local = self.platform.startswith("macos") or cand.variant == "mps"
        label = "" if local else f"+{cand.variant}"
        index = PYPI_INDEX if local else f"{PYTORCH_INDEX}/{cand.variant}"
        reqs = [f"torch=={cand.release.torch}{label}"]
        reqs += [f"{name}=={version}{label}" for name, version in cand.companions.items()]
        actions: list[Action] = []
        if cand.python_changed:
            actions.append(Action("python_install", cand.python, T(
                M.ACTION_PYTHON_INSTALL, python=cand.python,
                problem=_sentence(self._python_now()[1] or self._python_problem(cand)))))
        if cand.driver_fit in ("update", "missing"):
            actions.extend(self._driver_actions(cand))
        return Build(
            torch=cand.release.torch, variant=cand.variant, device=device, index_url=index,
            requirements=reqs, actions=actions, why_not=why_not,
            inferred=cand.inferred or any(f.cc_inferred for f in self.facts if f.usable_kind == "cuda"
                                          and device == "cuda"),
            python=cand.python,
        )

    def _python_problem(self, cand: _Candidate) -> str:
        py = self.m.python
        if py is None:
            return ""
        return T(M.PY_NO_WHEELS_COMPANIONS if self._wants_companions() else M.PY_NO_WHEELS,
                 version=py.version, torch=cand.release.torch)

    def _driver_actions(self, cand: _Candidate) -> list[Action]:
        cuda = variant_cuda(cand.variant) or ""
        drv = self.m.nvidia_driver
        # The last driver branch of an architecture NVIDIA no longer develops for (gpus.json
        # nvidia_architectures, source nvidia-support): R470 for Kepler, R580 for Maxwell/Pascal/Volta.
        branches: dict[str, set[str]] = {}
        for f in self.facts:
            branch = gpu_catalog.last_driver_branch(format_cc(f.cc)) if f.cc and f.usable_kind == "cuda" else None
            if branch:
                branches.setdefault(branch, set()).add(f.architecture)
        if self.m.os.wsl:
            where = T(M.DRIVER_WHERE_WSL)
        elif self.family == "windows":
            where = T(M.DRIVER_WHERE_WINDOWS)
        else:
            where = T(M.DRIVER_WHERE_LINUX)
        if branches:
            branch = min(branches, key=lambda b: int(b.lstrip("R")))  # the oldest GPU decides
            where = T(M.TWO_SENTENCES, first=where, second=T(
                M.DRIVER_BRANCH_LAST, branch=branch, architectures=join(", ", sorted(branches[branch]))))
        build = f"{cand.release.torch}+{cand.variant}"
        if drv is None:
            kind = "driver_install" if not self.m.os.wsl else "driver_update"
            text = T(M.ACTION_DRIVER_MISSING_WSL if self.m.os.wsl else M.ACTION_DRIVER_MISSING,
                     build=build, min_driver=cand.min_driver, cuda=cuda, where=where)
        else:
            kind = "driver_update"
            text = T(M.ACTION_DRIVER_UPDATE, version=drv.version, driver_cuda=drv.cuda_version or T(M.UNKNOWN),
                     build=build, min_driver=cand.min_driver, cuda=cuda, where=where)
        actions = [Action(kind, cand.min_driver, text)]
        if self.family == "linux" and not self.m.os.wsl:
            reboot = T(M.ACTION_REBOOT_AFTER_DRIVER)
            if self.m.os.secure_boot:
                reboot = T(M.TWO_SENTENCES, first=reboot, second=T(M.ACTION_REBOOT_SECURE_BOOT))
            actions.append(Action("reboot", None, reboot))
        return actions


# --------------------------------------------------------------------------- the plan


#: How well an interpreter suits PyTorch (:func:`rank_pythons`), best first.
PYTHON_FITS = ("recommended", "older", "none")


def rank_pythons(machine: Machine, choices: Choices | None = None,
                 kb: Knowledge | None = None) -> list[tuple[PythonTarget, str]]:
    """Every interpreter of the machine with how well it suits PyTorch, best first (stable order).

    ``recommended``: the newest build that fits runs with it as it is; ``older``: only an older
    build does (the plan asks for another Python for the newest); ``none``: no build has wheels
    for it (3.15, 32-bit ...). The environment page preselects the first and never a ``none``.
    """
    kb = kb or load_knowledge()
    seen: dict[str, PythonTarget] = {}
    for py in ([machine.python] if machine.python else []) + list(machine.interpreters):
        seen.setdefault(py.path or py.version, py)
    ranked: list[tuple[PythonTarget, str]] = []
    for py in seen.values():
        plan = make_plan(dataclasses.replace(machine, python=py), choices, kb)
        builds = ([plan.recommended] if plan.recommended else []) + list(plan.alternatives)
        needs_python = [any(a.kind == "python_install" for a in b.actions) for b in builds]
        fit = "none" if not builds or all(needs_python) else "recommended" if not needs_python[0] else "older"
        ranked.append((py, fit))
    return sorted(ranked, key=lambda item: PYTHON_FITS.index(item[1]))


def make_plan(machine: Machine, choices: Choices | None = None, kb: Knowledge | None = None) -> Plan:
    """Plan the PyTorch build for ``machine``.

    Raises :class:`ChoiceError` when the user's choices name a torch version or variant the
    knowledge base does not know.
    """
    choices = choices or Choices()
    kb = kb or load_knowledge()
    p = _Planner(machine, choices, kb)
    _check_choices(p)
    explain, warnings = p.explain, p.warnings
    explain.extend(kb.notes)

    if p.platform not in ("linux-x86_64", "linux-aarch64", "windows-x86_64", "macos-arm64", "macos-x86_64"):
        reason = T(M.PLATFORM_NO_WHEELS_WINDOWS_ARM if p.platform == "windows-arm64" else M.PLATFORM_NO_WHEELS,
                   os=_family_name(p.family), arch=machine.os.arch)
        explain.append(T(M.SENTENCE, text=reason))
        verdicts = [_verdict(f, False, reason) for f in p.facts]
        return Plan("unsupported", None, [], verdicts, warnings, explain, kb.date, machine.id)

    _, py_problem = p._python_now()
    if py_problem:
        explain.append(T(M.EXPLAIN_PYTHON_PROBLEM, problem=py_problem, python=RECOMMENDED_PYTHON))

    device, targets = _choose_device(p)
    fixes_order = [_Fixes(), _Fixes(driver=True), _Fixes(python=True), _Fixes(driver=True, python=True)]
    # Several GPUs no single build covers: keep the newest ones (the card a person bought for
    # this), drop the oldest generation, and say so.
    groups = _target_groups(targets)
    chosen_targets: list[_GpuFacts] = []
    best: dict[_Fixes, _Candidate | None] = {}
    for group in groups:
        best = {fx: next(iter(p.candidates(device, group, fx)), None) for fx in fixes_order}
        if any(best.values()):
            chosen_targets = group
            break
    if device != "cpu" and not any(best.values()):
        explain.append(T(M.EXPLAIN_FALLBACK_CPU, device=device.upper(), gpus=_names(targets)))
        device, chosen_targets = "cpu", []
        best = {fx: next(iter(p.candidates("cpu", [], fx)), None) for fx in fixes_order}

    now = best.get(_Fixes())
    recommended_c = _pick(best, fixes_order)
    if recommended_c is None:
        return _unsupported(p, machine, device)

    rec = p.build(recommended_c)
    alternatives: list[Build] = []
    _explain_choice(p, device, recommended_c, now, chosen_targets)

    if now is not None and (now.release is not recommended_c.release or now.variant != recommended_c.variant):
        alternatives.append(p.build(now, why_not=T(M.WHY_NOT_WORKS_NOW, build=rec.label(),
                                                   actions=_action_words(rec.actions))))
    driver_only = next((c for c in p.candidates(device, chosen_targets, _Fixes(driver=True))
                        if c.release is recommended_c.release and c.driver_fit == "update"), None)
    if driver_only is not None and device == "cuda" and not rec.actions:
        alt = p.build(driver_only, why_not=T(M.WHY_NOT_OTHER_CUDA, cuda=variant_cuda(driver_only.variant),
                                             min_driver=driver_only.min_driver, build=rec.label()))
        alternatives.append(alt)
    _companion_alternative(p, device, chosen_targets, recommended_c, alternatives)
    _dropped_gpu_alternatives(p, chosen_targets, targets, alternatives)
    if device != "cpu" and not choices.prefer_cpu:
        cpu = next(iter(p.candidates("cpu", [], _Fixes(python=True))), None)
        if cpu is not None:
            alternatives.append(p.build(cpu, why_not=T(M.WHY_NOT_CPU)))

    _driver_state_action(p, rec, device)
    _disk_action(p, rec, device)
    for alt in alternatives:
        # a driver that waits for a restart, or a full disk, holds back the other builds too
        _driver_state_action(p, alt, alt.device, explain=False)
        _disk_action(p, alt, alt.device, explain=False)
    _warnings(p, rec, device, chosen_targets)
    _gpu_warnings(p, rec, device, chosen_targets, targets, alternatives)
    verdicts = _verdicts(p, rec, device, chosen_targets, targets)
    status = "action_required" if rec.actions else "ready"
    if rec.actions:
        # The index is not named here: a mirror or --index-url may replace it (Build.index_url says it).
        explain.append(T(M.EXPLAIN_RECOMMENDED_AFTER, build=rec.label(), actions=_action_words(rec.actions)))
    else:
        explain.append(T(M.EXPLAIN_RECOMMENDED, build=rec.label()))
    return Plan(status, rec, alternatives, verdicts, warnings, explain, kb.date, machine.id,
                environment=environment_for(machine, rec))


def environment_for(machine: Machine, build: Build) -> EnvironmentChoice:
    """Where a new environment for ``build`` goes by default on ``machine`` (plan.environment)."""
    from wizard.core import paths

    return default_environment(
        family=machine.os.family, torch=build.torch, variant=build.variant, user_home=machine.os.user_home,
        data_dir=str(paths.data_dir()) if machine.local else None,
        long_paths_enabled=machine.os.long_paths_enabled,
        microsoft_store=bool(machine.python and machine.python.microsoft_store))


def _action_words(actions: Iterable[Action]) -> str:
    """"driver update, reboot": the kinds of ``actions`` as words for a sentence."""
    return join(", ", (T(M.ACTION_KINDS[a.kind]) if a.kind in M.ACTION_KINDS else a.kind.replace("_", " ")
                       for a in actions))


def _check_choices(p: _Planner) -> None:
    if p.c.torch and p.kb.release(p.c.torch) is None:
        known = ", ".join(r.torch for r in p.kb.releases)
        raise ChoiceError(T(M.CHOICE_UNKNOWN_TORCH, torch=p.c.torch),
                          hint=T(M.CHOICE_UNKNOWN_TORCH_HINT, known=known))
    if p.c.variant:
        known_variants = sorted({v for r in p.kb.releases for v in r.variants.get(p.platform, {})})
        if p.c.variant not in known_variants:
            raise ChoiceError(T(M.CHOICE_UNKNOWN_VARIANT, variant=p.c.variant, platform=p.platform),
                              hint=T(M.CHOICE_UNKNOWN_VARIANT_HINT, known=", ".join(known_variants)))


def _choose_device(p: _Planner) -> tuple[str, list[_GpuFacts]]:
    if p.c.variant:
        device = variant_device(p.c.variant)
        return device, [f for f in p.facts if f.usable_kind == device]
    if p.c.prefer_cpu:
        p.explain.append(T(M.EXPLAIN_ASKED_CPU))
        return "cpu", []
    for kind in ("cuda", "rocm", "xpu", "mps"):
        targets = [f for f in p.facts if f.usable_kind == kind]
        if targets:
            return kind, targets
    return "cpu", []


def _target_groups(targets: list[_GpuFacts]) -> list[list[_GpuFacts]]:
    """All targets first, then without the oldest CUDA generation, and so on."""
    groups = [targets]
    ccs = sorted({f.cc for f in targets if f.cc is not None})
    for cut in ccs[1:]:
        groups.append([f for f in targets if f.cc is not None and f.cc >= cut])
    return groups


def _pick(best: dict[_Fixes, _Candidate | None], order: list[_Fixes]) -> _Candidate | None:
    """The newest release wins; on a tie, the one needing fewer actions."""
    chosen: _Candidate | None = None
    for fx in order:  # ordered by how much they ask of the person
        cand = best.get(fx)
        if cand is None:
            continue
        if chosen is None or cand.release.version > chosen.release.version:
            chosen = cand
    return chosen


def _names(facts: Iterable[_GpuFacts]) -> str:
    """GPU names for a sentence, identical cards counted once: "4 x Tesla V100-SXM2-32GB"."""
    counts: dict[str, int] = {}
    for f in facts:
        counts[f.gpu.name] = counts.get(f.gpu.name, 0) + 1
    if not counts:
        return T(M.THIS_MACHINE)
    return join(", ", (name if n == 1 else T(M.COUNTED_NAME, count=n, name=name) for name, n in counts.items()))


def _explain_choice(p: _Planner, device: str, cand: _Candidate, now: _Candidate | None,
                    targets: list[_GpuFacts]) -> None:
    e = p.explain
    for f in p.facts:
        if f.usable_kind is None:
            e.append(T(M.EXPLAIN_GPU_NOT_USED, name=f.gpu.name, reason=f.ignore_reason))
    if device == "cuda":
        seen: set[tuple[str, Any]] = set()
        for f in targets:
            if (f.gpu.name, f.cc) in seen:
                continue
            seen.add((f.gpu.name, f.cc))
            assert f.cc is not None
            template = M.EXPLAIN_CUDA_GPU
            if f.cc_inferred:
                template = M.EXPLAIN_CUDA_GPU_BY_ID if f.known_by == "pci_id" else M.EXPLAIN_CUDA_GPU_INFERRED
            e.append(T(template, name=f.gpu.name, architecture=f.architecture, cc=format_cc(f.cc)))
            if f.jetson:
                e.append(T(M.EXPLAIN_JETSON_THOR, name=f.gpu.name))
        drv = p.m.nvidia_driver
        if drv:
            e.append(T(M.EXPLAIN_DRIVER, version=drv.version, cuda=drv.cuda_version or T(M.UNKNOWN_VERSION)))
        else:
            e.append(T(M.EXPLAIN_NO_DRIVER))
        arch = cand.release.variants[p.platform][cand.variant]
        if arch is not None:
            e.append(T(M.EXPLAIN_ARCH_LIST, torch=cand.release.torch, variant=cand.variant, archs=arch.describe()))
        if cand.driver_fit == "compat":
            e.append(T(M.EXPLAIN_COMPAT, cuda=variant_cuda(cand.variant)))
    elif device == "rocm":
        for f in targets:
            e.append(T(M.EXPLAIN_ROCM, name=f.gpu.name, gfx=f.gfx))
    elif device == "xpu":
        for name, family in dict.fromkeys((f.gpu.name, f.family) for f in targets):  # identical cards once
            e.append(T(M.EXPLAIN_XPU_GPU, name=name, family=family) if family else T(M.EXPLAIN_XPU, names=name))
    elif device == "mps":
        e.append(T(M.EXPLAIN_MPS))
    else:
        e.append(T(M.EXPLAIN_CPU_LINUX if p.platform == "linux-x86_64" else M.EXPLAIN_CPU))
    if p.family == "windows" and device == "cuda":
        e.append(T(M.EXPLAIN_WINDOWS_CUDA))
    if p.platform == "macos-x86_64":
        e.append(T(M.EXPLAIN_INTEL_MAC))
    newest = p.kb.releases[0]
    if cand.release is not newest and not p.c.torch:
        reasons = _why_not_newer(p, device, cand)
        e.append(T(M.EXPLAIN_NEWEST_FIT, torch=cand.release.torch, reasons=join("; ", reasons)) if reasons
                 else T(M.EXPLAIN_NEWEST_FIT_NO_REASON, torch=cand.release.torch))


def _why_not_newer(p: _Planner, device: str, cand: _Candidate) -> list[str]:
    newer = [r for r in p.kb.releases if r.version > cand.release.version]
    reasons: list[str] = []
    for rel in newer[:2]:
        py_now, _ = p._python_now()
        if py_now and not p._python_ok(rel, py_now)[0]:
            reasons.append(T(M.NEWER_NO_PYTHON, torch=rel.torch, python=py_now))
        elif p._wants_companions() and not all((getattr(rel, n) or _Unpub).published
                                               for n, on in (("torchvision", p.c.torchvision),
                                                             ("torchaudio", p.c.torchaudio)) if on):
            names = " / ".join(n for n, on in (("torchvision", p.c.torchvision),
                                               ("torchaudio", p.c.torchaudio)) if on)
            reasons.append(T(M.NEWER_NO_COMPANIONS, torch=rel.torch, names=names))
        elif not p._glibc_ok(rel):
            reasons.append(T(M.NEWER_GLIBC, torch=rel.torch, need=rel.glibc_min, have=p.m.os.glibc))
        elif device == "cuda":
            reasons.append(T(M.NEWER_NO_ARCH, torch=rel.torch))
        else:
            reasons.append(T(M.NEWER_NO_DEVICE, torch=rel.torch, device=device))
    return reasons


class _Unpub:
    published = False


def _companion_alternative(p: _Planner, device: str, targets: list[_GpuFacts], cand: _Candidate,
                           alts: list[Build]) -> None:
    if not p._wants_companions():
        return
    for fx in (_Fixes(), _Fixes(driver=True)):
        bare = next(iter(p.candidates(device, targets, fx, need_companions=False)), None)
        if bare is not None and bare.release.version > cand.release.version:
            bare.companions = {}
            wanted = [n for n, on in (("torchvision", p.c.torchvision), ("torchaudio", p.c.torchaudio)) if on]
            names = wanted[0] if len(wanted) == 1 else T(M.TWO_NAMES, first=wanted[0], second=wanted[1])
            alts.append(p.build(bare, why_not=T(M.WHY_NOT_NO_COMPANIONS, names=names, torch=bare.release.torch)))
            return


def _dropped_gpu_alternatives(p: _Planner, chosen: list[_GpuFacts], targets: list[_GpuFacts],
                              alts: list[Build]) -> None:
    kept = set(chosen)   # a set: a list's `in` made many GPUs quadratic (issue 15 #9)
    dropped = [f for f in targets if f not in kept]
    if not dropped:
        return
    fixes = [_Fixes(), _Fixes(driver=True), _Fixes(python=True), _Fixes(driver=True, python=True)]
    for_dropped = _pick({fx: next(iter(p.candidates("cuda", dropped, fx)), None) for fx in fixes}, fixes)
    if for_dropped is not None:
        alts.append(p.build(for_dropped, why_not=T(M.WHY_NOT_OTHER_GPUS, gpus=_names(dropped),
                                                   chosen=_names(chosen))))
    p.explain.append(T(M.EXPLAIN_DROPPED_GPUS, chosen=_names(chosen), dropped=_names(dropped)))


def _unsupported(p: _Planner, machine: Machine, device: str) -> Plan:
    py_now, problem = p._python_now()
    if problem:
        reason = T(M.UNSUPPORTED_PROBLEM, problem=problem)
    elif p.family == "linux" and machine.os.glibc and all(not p._glibc_ok(r) for r in p.kb.releases):
        reason = T(M.UNSUPPORTED_GLIBC, glibc=machine.os.glibc)
    else:
        reason = T(M.UNSUPPORTED_MACHINE, platform=p.platform, python=py_now)
    p.explain.append(reason)
    verdicts = [_verdict(f, False, reason) for f in p.facts]
    return Plan("unsupported", None, [], verdicts, p.warnings, p.explain, p.kb.date, machine.id)


def _driver_state_action(p: _Planner, rec: Build, device: str, explain: bool = True) -> None:
    """A driver that is installed but not working (reboot pending, module rejected) comes first."""
    status = p.m.driver_status
    if device != "cuda" or status is None or (not explain and status.state not in (
            DriverState.MISMATCH, DriverState.NOT_LOADED)):
        return
    words: str = T(M.TWO_SENTENCES, first=status.message, second=status.hint) if status.hint else status.message
    if status.state in (DriverState.MISMATCH, DriverState.NOT_LOADED):
        # The driver is installed but its kernel module is not running: installing it again
        # would not help; a restart (or fixing what blocked the module) does.
        rec.actions[:] = [a for a in rec.actions if a.kind not in ("driver_install", "reboot")]
        rec.actions.insert(0, Action("reboot", None, words or T(M.ACTION_REBOOT_DRIVER_LOADS)))
        if explain:
            p.explain.append(T(M.EXPLAIN_DRIVER_STATUS, message=status.message))
    elif status.state in (DriverState.NO_PERMISSION, DriverState.GPU_LOST, DriverState.ERROR):
        p.warnings.append(T(M.WARN_DRIVER_STATUS, words=words))


def _disk_action(p: _Planner, rec: Build, device: str, explain: bool = True) -> None:
    """A build that does not fit in the free space asks for space first (every build, not only the first)."""
    need = p.kb.size_estimate(device)[1] if device in p.kb.disk_needs_gib else None
    free = p.m.disk_free_gib
    if need is None or free is None or free >= need:
        return
    rec.actions.append(Action("free_disk", f"{need:g} GiB",
                              T(M.ACTION_FREE_DISK, build=rec.label(), need=f"{need:g}", free=f"{free:g}")))
    if explain:
        p.explain.append(T(M.EXPLAIN_DISK, free=f"{free:g}", need=f"{need:g}"))


def _last_build(p: _Planner, cc: tuple[int, int]) -> tuple[Release, str] | None:
    """The newest (release, CUDA variant) on this platform whose GPU code runs on ``cc``."""
    for rel in p.kb.releases:
        running = [v for v, arch in rel.variants.get(p.platform, {}).items()
                   if variant_device(v) == "cuda" and arch is not None and arch.runs_on(cc)]
        if running:
            return rel, max(running, key=lambda v: _vkey(variant_cuda(v) or "0"))
    return None


def _last_build_warnings(p: _Planner, targets: list[_GpuFacts]) -> None:
    """A GPU generation whose newest build is older than the newest release: say which build is its last.

    Derived from the arch lists (releases.json), so Kepler's last build is 2.7 with CUDA 11.8 and
    Pascal's 2.14 with CUDA 12.6; the driver branch from gpus.json's nvidia_architectures.
    """
    newest = p.kb.releases[0]
    groups: dict[tuple[str, str], list[_GpuFacts]] = {}
    for f in targets:
        last = _last_build(p, f.cc) if f.cc is not None else None
        if last is None or last[0] is newest:
            continue
        groups.setdefault((last[0].torch, last[1]), []).append(f)
    for (torch, variant), group in groups.items():
        rel = p.kb.release(torch)
        later = [r for r in p.kb.releases if rel is not None and r.version > rel.version]
        architectures = ", ".join(sorted({f.architecture for f in group}))
        text = T(M.WARN_LAST_BUILD, names=_names(group), architectures=architectures,
                 torch=".".join(torch.split(".")[:2]), cuda=variant_cuda(variant),
                 next=later[-1].minor if later else "")
        branches = sorted({b for f in group if f.cc and (b := gpu_catalog.last_driver_branch(format_cc(f.cc)))})
        if branches:
            text = T(M.TWO_SENTENCES, first=text, second=T(M.WARN_LAST_DRIVER_BRANCH, branch=" / ".join(branches)))
        p.warnings.append(text)


def _warnings(p: _Planner, rec: Build, device: str, targets: list[_GpuFacts]) -> None:
    w = p.warnings
    if device == "cuda":
        _last_build_warnings(p, targets)
    if device == "cuda" and any(f.cc_inferred and f.known_by == "name" for f in targets):
        w.append(T(M.WARN_ARCH_INFERRED))
    elif device == "cuda" and any(f.cc_inferred for f in targets):
        w.append(T(M.WARN_ARCH_INFERRED_BY_ID))
    if rec.inferred:
        w.append(T(M.WARN_PLAN_INFERRED, build=rec.label()))
    rel = p.kb.release(rec.torch)
    if rel is not None and rec.python in rel.python_experimental:
        w.append(T(M.WARN_PYTHON_EXPERIMENTAL, torch=rel.minor, python=rec.python))
    drv = p.m.nvidia_driver
    if device == "cuda" and drv and variant_cuda(rec.variant) and drv.cuda_version and \
            _vkey(variant_cuda(rec.variant) or "0") > _vkey(drv.cuda_version) and not rec.actions:
        w.append(T(M.WARN_PTX_JIT, driver_cuda=drv.cuda_version, cuda=variant_cuda(rec.variant)))
    if p.m.os.wsl and device == "cuda":
        w.append(T(M.WARN_WSL))
    py = p.m.python
    if py is not None:
        if py.externally_managed:
            w.append(T(M.WARN_PEP668, version=py.version))
        if py.microsoft_store:
            w.append(T(M.WARN_MICROSOFT_STORE))
        if py.user_site_torch:
            w.append(T(M.WARN_USER_SITE, version=py.user_site_torch))
        if py.installed_torch is not None:
            installed = py.installed_torch.version
            target = rec.requirements[0].split("==", 1)[1]
            if installed == target or (installed.split("+")[0] == rec.torch and p.platform.startswith("macos")):
                p.explain.append(T(M.EXPLAIN_ALREADY_INSTALLED, version=installed))
            else:
                w.append(T(M.WARN_REPLACE_CPU_TORCH if _is_cpu_torch(installed, p.platform) else M.WARN_REPLACE_TORCH,
                           installed=installed, target=target))
    if p.m.os.secure_boot and device == "cuda" and any(a.kind == "driver_install" for a in rec.actions):
        w.append(T(M.WARN_SECURE_BOOT))


def _runs(p: _Planner, build: Build, f: _GpuFacts) -> bool:
    rel = p.kb.release(build.torch)
    arch = rel.variants.get(p.platform, {}).get(build.variant) if rel else None
    return arch is not None and f.cc is not None and arch.runs_on(f.cc) is not None


def _gpu_warnings(p: _Planner, rec: Build, device: str, chosen: list[_GpuFacts], targets: list[_GpuFacts],
                  alternatives: list[Build]) -> None:
    """Every GPU the recommended build does not serve is a warning, with what can be done about it."""
    w = p.warnings
    nvidia = {f: k for k, f in enumerate(f for f in p.facts if f.gpu.vendor == "nvidia")}
    served = set(chosen)   # sets and dicts: lists made many GPUs quadratic (issue 15 #9)
    separate: dict[str, str] = {}
    for f in p.facts:
        name = f.gpu.name
        if f.unknown_id:
            w.append(T(M.WARN_PCI_ID_UNKNOWN_NAMED if (f.cc or f.gfx) else M.WARN_PCI_ID_UNKNOWN,
                       name=name, pci_id=f.gpu.pci_id))
            if f.usable_kind is None and not f.gfx:
                continue
        if f in served and device != "cpu":
            continue
        if p.c.prefer_cpu and f.usable_kind is not None:
            continue  # the person chose the CPU build: nothing to warn about
        if f.jetson:
            w.append(T(M.WARN_JETSON, name=name))
        elif f.gpu.vendor == "amd" and p.family == "windows":
            rdna = f.family in ("RDNA3", "RDNA4")
            w.append(T(M.WARN_AMD_WINDOWS_RDNA, name=name, family=f.family) if rdna
                     else T(M.WARN_AMD_WINDOWS_OTHER, name=name))
        elif f.gpu.vendor == "amd" and p.family == "linux" and f.gfx and f.usable_kind == "rocm":
            _amd_unserved(p, f, rec)
        elif f.usable_kind == "cuda" and device == "cuda":
            text = T(M.WARN_GPU_NOT_SERVED, name=name, architecture=f.architecture, build=rec.label())
            other = next((b for b in alternatives if b.device == "cuda" and _runs(p, b, f)), None)
            if other is not None:
                if other.label() not in separate:
                    dropped = [d for d in targets if d not in served and _runs(p, other, d)]
                    separate[other.label()] = T(
                        M.WARN_GPU_SEPARATE_ENV, other=other.label(),
                        other_devices=",".join(str(nvidia[d]) for d in dropped),
                        served_devices=",".join(str(nvidia[c]) for c in chosen))
                text = T(M.TWO_SENTENCES, first=text, second=separate[other.label()])
            w.append(text)
        elif f.usable_kind == "cuda":
            w.append(T(M.WARN_GPU_NOT_USED, name=name, reason=T(M.GPU_NO_BUILD)))
        elif f.usable_kind is not None and f.usable_kind != device and device != "cpu":
            w.append(T(M.WARN_GPU_NOT_USED, name=name, reason=T(M.GPU_OTHER_VENDOR, device=device.upper())))
        elif f.usable_kind is None and f.gpu.vendor in ("nvidia", "amd"):
            w.append(T(M.WARN_GPU_NOT_USED, name=name, reason=f.ignore_reason))
    if device == "xpu":
        w.append(T(M.WARN_XPU_DRIVER, names=_names(chosen)))
        if p.family == "linux":
            for f in chosen:
                if f.linux_validated:
                    w.append(T(M.WARN_XPU_LINUX_VALIDATED, name=f.gpu.name, distro=f.linux_validated))


def _amd_unserved(p: _Planner, f: _GpuFacts, rec: Build) -> None:
    """An AMD GPU no ROCm build lists: the unsupported HSA_OVERRIDE_GFX_VERSION route where one exists."""
    override = gpu_catalog.hsa_override(f.gfx)
    if override is not None:
        version, target = override
        planned = p.kb.release(rec.torch)
        for rel in ([planned] if planned else []) + list(p.kb.releases):
            listed = [v for v in rel.variants.get(p.platform, {})
                      if variant_device(v) == "rocm" and target in p.kb.rocm_gfx.get(v, (frozenset(), False))[0]]
            if listed:
                variant = max(listed, key=lambda v: _vkey(v.removeprefix("rocm")))
                p.warnings.append(T(M.WARN_HSA_OVERRIDE, name=f.gpu.name, gfx=f.gfx, version=version,
                                    target=target, torch=rel.torch, variant=variant))
                return
    p.warnings.append(T(M.WARN_GPU_NOT_USED, name=f.gpu.name, reason=T(M.GPU_ROCM_NOT_LISTED, gfx=f.gfx)))


def _is_cpu_torch(version: str, platform: str) -> bool:
    label = version.split("+", 1)[1] if "+" in version else None
    if label is not None:
        return label == "cpu"
    return platform == "windows-x86_64"  # PyPI's Windows wheel is the CPU build


def _verdict(f: _GpuFacts, supported: bool, reason: str) -> GpuVerdict:
    """One ``gpus[]`` entry: the verdict with the architecture the planner knows, whatever the driver state."""
    return GpuVerdict(f.gpu.name, supported, reason,
                      compute_capability=format_cc(f.cc) if f.cc is not None else None,
                      gfx_arch=f.gfx, family=f.family, known_by=f.known_by)


def _verdicts(p: _Planner, rec: Build, device: str, chosen: list[_GpuFacts],
              targets: list[_GpuFacts]) -> list[GpuVerdict]:
    rel = p.kb.release(rec.torch)
    out = []
    served, wanted = set(chosen), set(targets)   # sets: lists made many GPUs quadratic (issue 15 #9)
    for f in p.facts:
        if f in served and device != "cpu":
            out.append(_verdict(f, *_verdict_for_target(p, rel, rec, f)))
        elif f.usable_kind is None:
            out.append(_verdict(f, False, _capitalise(f.ignore_reason or T(M.GPU_NOT_USABLE))))
        elif device == "cpu" and p.c.prefer_cpu:
            out.append(_verdict(f, False, T(M.VERDICT_CPU_CHOSEN)))
        elif f in wanted:
            out.append(_verdict(f, False, T(M.VERDICT_NO_GPU_CODE, build=rec.label(), architecture=f.architecture)))
        else:
            out.append(_verdict(f, False, T(M.VERDICT_OTHER_VENDOR, device=device.upper())))
    return out


def _verdict_for_target(p: _Planner, rel: Release | None, rec: Build, f: _GpuFacts) -> tuple[bool, str]:
    if rec.device == "cuda" and rel is not None and f.cc is not None:
        arch = rel.variants.get(p.platform, {}).get(rec.variant)
        how = arch.runs_on(f.cc) if arch else None
        if how is None:
            return False, T(M.VERDICT_NO_CC, build=rec.label(), cc=format_cc(f.cc))
        code = f"sm_{f.cc[0]}{f.cc[1]}"
        pending = bool(rec.actions and p.m.nvidia_driver is None)
        if how == "sass":
            via = T(M.HOW_NATIVE_PENDING if pending else M.HOW_NATIVE)
        else:
            via = T(M.HOW_PTX_PENDING if pending else M.HOW_PTX)
        return True, T(M.VERDICT_RUNS_INFERRED if f.cc_inferred and f.known_by == "name" else M.VERDICT_RUNS,
                       architecture=f.architecture, code=code, build=rec.label(), how=via)
    if rec.device == "rocm":
        return True, T(M.VERDICT_ROCM, gfx=f.gfx, variant=rec.variant)
    if rec.device == "xpu":
        return True, T(M.VERDICT_XPU_FAMILY, family=f.family) if f.family else T(M.VERDICT_XPU)
    if rec.device == "mps":
        return True, T(M.VERDICT_MPS)
    return False, T(M.VERDICT_NOT_USED)


def _capitalise(text: str) -> str:
    """A clause as a sentence (first letter up, full stop); it still translates as its template."""
    return restyle(text, text[:1].upper() + text[1:] + ("" if text.endswith(".") else "."))


def all_variants(kb: Knowledge) -> list[str]:
    """Every variant name the knowledge base knows, for help texts."""
    return sorted({v for r in kb.releases for t in r.variants.values() for v in t},
                  key=lambda v: (variant_device(v), v))


__all__ = ["Action", "Build", "Choices", "GpuVerdict", "Plan", "all_variants", "make_plan", "platform_key"]


def _sentence(text: str) -> str:
    """``text`` ending with one full stop (a problem is sometimes a clause, sometimes a sentence)."""
    return text if text.rstrip().endswith(".") else T(M.SENTENCE, text=text)
