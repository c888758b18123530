"""What is wrong with an environment's torch on this machine, and the one fix: pure functions.

:func:`diagnose` reads the facts the doctor's script gathered in the target interpreter
(:mod:`wizard.core.doctor.doctor_script`) against the machine (detected or a profile) and the
knowledge base; the fix is the planner's choice for this machine and this Python
(:func:`wizard.core.plan.planner.make_plan`), so the doctor never decides a build on its own.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from wizard.core import messages as M
from wizard.core.doctor.model import REINSTALL_CODES, Finding
from wizard.core.errors import ChoiceError
from wizard.core.knowledge import gpu_catalog
from wizard.core.knowledge.base import ArchSet, Knowledge, load_knowledge, parse_cc, variant_device
from wizard.core.model.machine import DriverState, Gpu, InstalledTorch, Machine, PythonTarget
from wizard.core.model.plan import Build, Choices, Plan
from wizard.core.plan.planner import make_plan, platform_key
from wizard.core.text import T, Text, join

# Import errors recognised by their words (the loader's own messages: glibc's dlopen "cannot open
# shared object file", Windows' "DLL load failed while importing", NumPy's ABI messages).
_CUDNN_LIB = re.compile(r"\b((?:lib)?cudnn[\w.\-]*\.(?:so[\w.]*|dll))", re.IGNORECASE)
_CUDA_LIB = re.compile(r"\b((?:lib)?(?:cu\w+|nccl|nvrtc|nvJitLink|nvToolsExt|cusparseLt)[\w.\-]*\.(?:so[\w.]*|dll))",
                       re.IGNORECASE)
_NUMPY_ABI = re.compile(r"compiled using NumPy 1\.x cannot be run in|_ARRAY_API not found|"
                        r"numpy\.core\.multiarray failed to import|numpy\.dtype size changed", re.IGNORECASE)
_ARCH = re.compile(r"^(sm|compute)_(\d+)(\d)$")
_DRIVER_TOO_OLD = re.compile(r"driver on your system is too old|driver version is insufficient", re.IGNORECASE)
_NO_KERNEL = re.compile(r"no kernel image is available", re.IGNORECASE)
_BLOCKING = ("driver_install", "driver_update", "python_install", "free_disk", "reboot")


def norm(name: str) -> str:
    """PEP 503 name normalisation."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _vkey(text: str | None) -> Version:
    try:
        return Version(str(text))
    except InvalidVersion:
        return Version("0")


def _base(version: str) -> str:
    return version.split("+", 1)[0]


def _label(version: str) -> str | None:
    return version.split("+", 1)[1] if "+" in version else None


@dataclass
class _Problem:
    """A finding before the fix is known: its fix sentence is written once the planner chose the build."""

    code: str
    severity: str
    message: str
    evidence: tuple[str, ...]
    fix: Callable[[Build | None], str]


def installed_version(facts: Mapping[str, Any]) -> str | None:
    """The torch version: what the module says, else its distribution's metadata."""
    torch = facts.get("torch") if isinstance(facts.get("torch"), dict) else {}
    dists = [d for d in facts.get("distributions") or [] if isinstance(d, dict) and norm(str(d.get("name"))) == "torch"]
    version = (torch or {}).get("version") or (dists[0].get("version") if dists else None)
    return str(version) if version else None


def python_target(facts: Mapping[str, Any], installed: str | None) -> PythonTarget:
    """The target interpreter as the planner sees it, from the script's answer."""
    py = dict(facts.get("python") or {})
    bits = py.get("bits")
    return PythonTarget(
        version=str(py.get("version") or "0.0"),
        implementation=str(py.get("implementation") or "cpython"),
        bits=int(bits) if bits in (32, 64) else 64,
        source="venv" if py.get("in_venv") else "unknown",
        installed_torch=InstalledTorch(installed) if installed else None,
        path=str(py.get("executable") or "") or None,
        in_venv=bool(py.get("in_venv")),
    )


def build_device(torch_facts: Mapping[str, Any], family: str) -> str:
    """What the installed build drives: cuda, rocm, xpu, mps or cpu."""
    label = _label(str(torch_facts.get("version") or "")) or ""
    if torch_facts.get("cuda"):
        return "cuda"
    if torch_facts.get("hip"):
        return "rocm"
    if torch_facts.get("xpu") or label == "xpu":
        return "xpu"
    if family == "macos" and label == "":
        return "mps"
    return variant_device(label) if label else "cpu"


def arch_set_of(arch_list: Sequence[str]) -> ArchSet | None:
    """``torch.cuda.get_arch_list()`` (["sm_80", ..., "compute_90"]) as an :class:`ArchSet`."""
    sass: list[tuple[int, int]] = []
    ptx: list[tuple[int, int]] = []
    for item in arch_list:
        match = _ARCH.match(str(item))
        if match:
            cc = (int(match.group(2)), int(match.group(3)))
            (sass if match.group(1) == "sm" else ptx).append(cc)
    if not sass and not ptx:
        return None
    return ArchSet(tuple(sorted(sass)), max(ptx) if ptx else None)


def gpu_cc(gpu: Gpu) -> tuple[int, int] | None:
    """An NVIDIA GPU's compute capability, reported or known from its name / PCI id."""
    if gpu.compute_capability:
        return parse_cc(gpu.compute_capability)
    guess = gpu_catalog.infer_nvidia(gpu.name, gpu.pci_id)
    return parse_cc(guess.compute_capability) if guess else None


def _names(gpus: Iterable[Gpu]) -> str:
    seen: dict[str, None] = {}
    for g in gpus:
        seen.setdefault(g.name, None)
    return join(", ", seen) if seen else T(M.THIS_MACHINE)


def action_words(actions: Iterable[Any]) -> str:
    """"a driver update, a restart": the kinds of ``actions`` as words for a sentence."""
    return join(", ", (T(M.ACTION_KINDS[a.kind]) if a.kind in M.ACTION_KINDS else a.kind.replace("_", " ")
                       for a in actions))


def blocking_actions(build: Build | None) -> list[Any]:
    """The fix's actions that must happen before the build can run (driver, Python, disk, restart)."""
    return [a for a in build.actions if a.kind in _BLOCKING] if build is not None else []


def fix_sentence(build: Build | None, installed: str | None = None) -> str:
    """The fix in one sentence, as a technician says it (``installed``: the torch there now)."""
    if build is None:
        return T(M.DOCTOR_FIX_NONE)
    first = blocking_actions(build)
    if first and installed and build.requirements and build.requirements[0] == f"torch=={installed}":
        return T(M.DOCTOR_FIX_ACTIONS_ONLY, actions=action_words(first), build=build.label())
    if first:
        return T(M.DOCTOR_FIX_ACTIONS_FIRST, actions=action_words(first), build=build.label())
    return T(M.DOCTOR_FIX_INSTALL, build=build.label())


class _Doctor:
    def __init__(self, facts: Mapping[str, Any], machine: Machine, kb: Knowledge,
                 output: Sequence[str], pins: Sequence[str]) -> None:
        self.facts = facts
        self.m = machine
        self.kb = kb
        self.output = list(output)
        self.pins = list(pins)
        self.problems: list[_Problem] = []
        self.dists: dict[str, dict[str, Any]] = {}
        for d in facts.get("distributions") or []:
            if isinstance(d, dict) and d.get("name"):
                self.dists.setdefault(norm(str(d["name"])), d)
        self.torch: dict[str, Any] | None = facts.get("torch") if isinstance(facts.get("torch"), dict) else None
        self.version: str | None = installed_version(facts)
        self.family = machine.os.family
        self.platform = platform_key(machine.os.family, machine.os.arch)
        self.driver_family = "windows" if (machine.os.family == "windows" or machine.os.wsl) else "linux"

    def add(self, code: str, severity: str, message: str, evidence: Iterable[str],
            fix: Callable[[Build | None], str]) -> None:
        self.problems.append(_Problem(code, severity, message, tuple(str(e) for e in evidence if e), fix))

    def has(self, code: str) -> bool:
        return any(p.code == code for p in self.problems)

    # ---- python

    def python(self) -> None:
        py = dict(self.facts.get("python") or {})
        version = str(py.get("version") or "?")
        impl, bits = str(py.get("implementation") or "cpython"), py.get("bits")
        evidence = [f"{py.get('executable')}: Python {version} ({impl}, {bits}-bit)"]
        if impl.lower() != "cpython" or bits != 64:
            self.add("python_unsupported", "error", T(M.DOCTOR_PYTHON_NOT_64, what=f"{impl} {bits}-bit"),
                     evidence, self._python_fix)
            return
        minor = ".".join(version.split(".")[:2])
        supporting = [r for r in self.kb.releases if minor in r.python]
        # "current": the newest release whose torchvision is published (what the planner installs)
        current = next((r for r in self.kb.releases if r.torchvision is not None and r.torchvision.published),
                       self.kb.releases[0])
        if not supporting:
            self.add("python_unsupported", "error", T(M.DOCTOR_PYTHON_NO_WHEELS, version=version), evidence,
                     self._python_fix)
        elif minor not in current.python:
            self.add("python_unsupported", "warning",
                     T(M.DOCTOR_PYTHON_OLD, version=version, torch=supporting[0].torch), evidence,
                     self._python_fix)

    def _python_fix(self, build: Build | None) -> str:
        action = next((a for a in (build.actions if build else []) if a.kind == "python_install"), None)
        if action is not None:
            return T(M.DOCTOR_FIX_PYTHON, python=action.min_version)
        return T(M.DOCTOR_FIX_REINSTALL, build=build.label()) if build else ""

    # ---- import

    def imported(self) -> bool:
        """Checks whether torch is there and imports (the package, not a stray file); False stops the build checks."""
        dist = self.dists.get("torch")
        origin = (self.torch or {}).get("file") or self.facts.get("torch_origin")
        error = self.facts.get("import_error") if isinstance(self.facts.get("import_error"), dict) else None
        own = self._own_location()
        if origin and (self._shadowed(str(origin), dist) or (own and self._shadowed(str(origin), {"location": own}))):
            where = [f"torch imported from: {origin}"]
            if dist:
                where.append(f"torch {dist.get('version')} installed in: {own or dist.get('location')}")
            self.add("torch_shadowed", "error", T(M.DOCTOR_SHADOWED, origin=str(origin)), where,
                     lambda _b: T(M.DOCTOR_SHADOWED_FIX, origin=str(origin)))
            return False
        if dist is None and (error is None or error.get("type") == "ModuleNotFoundError" or not origin):
            self.add("no_torch", "error", T(M.DOCTOR_NO_TORCH),
                     [error.get("traceback", "") if error else "", "no torch distribution in this environment"],
                     lambda b: T(M.DOCTOR_NO_TORCH_FIX, build=b.label()) if b else "")
            return False
        if error is not None:
            self._broken(error)
            return False
        self._numpy_warning()
        return self.torch is not None

    def _own_location(self) -> str | None:
        """The folder inside the environment (its prefix) that holds a torch distribution, if any."""
        prefix = str((self.facts.get("python") or {}).get("prefix") or "")
        if not prefix:
            return None
        root = os.path.normcase(os.path.realpath(prefix)) + os.sep
        for location in self.facts.get("torch_locations") or []:
            if location and os.path.normcase(os.path.realpath(str(location))).startswith(root):
                return str(location)
        return None

    @staticmethod
    def _shadowed(origin: str, dist: Mapping[str, Any] | None) -> bool:
        if dist is None or not dist.get("location"):
            return True  # an importable torch that no installed distribution owns
        package = os.path.normcase(os.path.realpath(os.path.join(str(dist["location"]), "torch")))
        here = os.path.normcase(os.path.realpath(origin))
        return not here.startswith(package + os.sep)

    def _broken(self, error: Mapping[str, Any]) -> None:
        text = f"{error.get('type', 'Error')}: {error.get('message', '')}"
        evidence = [str(error.get("traceback") or text)]
        cause: str | None = None
        fix: Callable[[Build | None], str] = self._reinstall_fix
        cudnn, cuda_lib = _CUDNN_LIB.search(text), _CUDA_LIB.search(text)
        if cudnn:
            cause = T(M.DOCTOR_CAUSE_CUDNN, library=cudnn.group(1))
        elif cuda_lib:
            cause = T(M.DOCTOR_CAUSE_CUDA_LIB, library=cuda_lib.group(1))
        elif _NUMPY_ABI.search(text) or _NUMPY_ABI.search("\n".join(self.output)):
            cause = T(M.DOCTOR_CAUSE_NUMPY)
            fix = self._numpy_fix
            evidence += self._numpy_evidence()
        elif "dll load failed" in text.lower() or "winerror 126" in text.lower():
            cause = T(M.DOCTOR_CAUSE_DLL)
            fix = self._vcredist_fix
        elif "undefined symbol" in text.lower():
            cause = T(M.DOCTOR_CAUSE_SYMBOL)
        message = (T(M.DOCTOR_BROKEN_IMPORT, cause=cause) if cause
                   else T(M.DOCTOR_BROKEN_IMPORT_UNKNOWN, error=text.strip()))
        self.add("broken_import", "error", message, evidence, fix)

    def _numpy_evidence(self) -> list[str]:
        lines = list(self.facts.get("import_warnings") or []) + self.output
        return [line.strip() for line in lines if _NUMPY_ABI.search(str(line))][:3]

    def _numpy_warning(self) -> None:
        evidence = self._numpy_evidence()
        if evidence:
            self.add("broken_import", "warning", T(M.DOCTOR_NUMPY_WARNING), evidence, self._numpy_fix)

    def _reinstall_fix(self, build: Build | None) -> str:
        return T(M.DOCTOR_FIX_REINSTALL, build=build.label()) if build else ""

    def _numpy_fix(self, build: Build | None) -> str:
        return T(M.DOCTOR_FIX_NUMPY, build=build.label() if build else "torch")

    def _vcredist_fix(self, build: Build | None) -> str:
        return T(M.DOCTOR_FIX_VCREDIST, build=build.label() if build else "torch")

    # ---- the build against the machine

    def build(self, plan: Plan) -> None:
        t = self.torch or {}
        version = self.version or "?"
        device = build_device(t, self.family)
        gpus = [g for g in self.m.gpus if not g.integrated or g.vendor == "apple"]
        nvidia = [g for g in gpus if g.vendor == "nvidia"]
        wanted = plan.recommended.device if plan.recommended is not None else "cpu"
        evidence = [f"torch.__version__ = {version}", f"torch.version.cuda = {t.get('cuda')}",
                    f"torch.version.hip = {t.get('hip')}"]
        if device == "cpu" and wanted in ("cuda", "rocm", "xpu"):
            used = [g for g in gpus if any(v.name == g.name and v.supported for v in plan.gpus)] or gpus
            self.add("cpu_build_on_gpu_machine", "error", T(M.DOCTOR_CPU_BUILD, version=version, gpus=_names(used)),
                     evidence + [f"GPU: {g.name}" for g in used],
                     lambda b: T(M.DOCTOR_FIX_GPU_BUILD, build=b.label()) if b else "")
            return
        vendor = {"cuda": "nvidia", "rocm": "amd", "xpu": "intel"}.get(device)
        if vendor and gpus and not any(g.vendor == vendor for g in gpus):
            kind = {"cuda": "CUDA (NVIDIA)", "rocm": "ROCm (AMD)", "xpu": "XPU (Intel)"}[device]
            self.add("wrong_vendor_build", "error", T(M.DOCTOR_WRONG_VENDOR, version=version, kind=kind,
                                                      gpus=_names(gpus)),
                     evidence + [f"GPU: {g.name} ({g.vendor})" for g in gpus],
                     lambda b: T(M.DOCTOR_FIX_VENDOR, build=b.label()) if b else "")
            return
        if device == "cuda" and nvidia:
            self._driver(version, str(t.get("cuda") or ""))
            self._arch(version, t, nvidia)
        amd = [g for g in gpus if g.vendor == "amd"]
        if device == "rocm" and amd:
            self._gfx(version, amd)

    def _gfx(self, version: str, amd: list[Gpu]) -> None:
        """A ROCm build carries code for a list of gfx targets (wizard/data/releases.json "rocm_gfx")."""
        variant = _label(version) or ""
        known = self.kb.rocm_gfx.get(variant)
        if known is None:
            return
        for gpu in amd:
            gfx = gpu.gfx_arch or gpu_catalog.infer_amd_gfx(gpu.name, gpu.pci_id)
            if gfx is None or gfx in known[0]:
                continue
            self.add("arch_not_compiled", "error", T(M.DOCTOR_ARCH_NOT_COMPILED_ROCM, version=version, gpu=gpu.name,
                                                     code=gfx),
                     [f"{gpu.name}: {gfx}", f"{variant} has {', '.join(sorted(known[0]))} (wizard/data/releases.json)"],
                     _arch_fix(gfx))
            return

    def _driver(self, version: str, cuda: str) -> None:
        drv, status = self.m.nvidia_driver, self.m.driver_status
        broken = status is not None and status.state in (DriverState.NO_DRIVER, DriverState.NOT_LOADED,
                                                         DriverState.MISMATCH)
        if drv is None or broken:
            words = str(status.message) if status is not None and status.message else T(M.DOCTOR_NO_DRIVER_STATUS)
            self.add("no_driver", "error", T(M.DOCTOR_NO_DRIVER, version=version, status=words),
                     [f"driver state: {status.state.value if status else 'no driver'}", f"torch.version.cuda = {cuda}"],
                     self._driver_fix)
            return
        if not cuda or not cuda.split(".")[0].isdigit():
            return
        major = int(cuda.split(".")[0])
        # Minor-version compatibility (NVIDIA CUDA release notes, Table 2; wizard/data/cuda.json
        # "families"): any driver at or above the family floor runs every toolkit of that major.
        floor = self.kb.floor(major, self.driver_family)
        too_old = floor is not None and _vkey(drv.version) < _vkey(floor)
        if drv.cuda_version and drv.cuda_version.split(".")[0].isdigit():
            too_old = too_old or int(drv.cuda_version.split(".")[0]) < major
        if too_old:
            self.add("driver_too_old", "error",
                     T(M.DOCTOR_DRIVER_TOO_OLD, version=version, cuda=cuda, min_driver=floor or f"CUDA {major}",
                       driver=drv.version),
                     [f"torch.version.cuda = {cuda}", f"driver {drv.version} (CUDA {drv.cuda_version})",
                      f"CUDA {major}.x needs driver >= {floor} on {self.driver_family} (wizard/data/cuda.json)"],
                     self._driver_fix)

    def _driver_fix(self, build: Build | None) -> str:
        action = next((a for a in (build.actions if build else []) if a.kind in ("driver_install", "driver_update",
                                                                                 "reboot")), None)
        if action is not None:
            return str(action.detail)
        return T(M.DOCTOR_FIX_BUILD_FOR_DRIVER, build=build.label()) if build else ""

    def _arch_set(self, t: Mapping[str, Any]) -> tuple[ArchSet | None, str]:
        runtime = arch_set_of(t.get("arch_list") or [])
        if runtime is not None:
            return runtime, f"torch.cuda.get_arch_list() = {', '.join(map(str, t.get('arch_list') or []))}"
        rel = self.kb.release(self.version or "")
        label = _label(self.version or "") or rel.pypi_default.get(self.platform) if rel else None
        arch = rel.variants.get(self.platform, {}).get(label or "") if rel else None
        if arch is None:
            return None, ""
        return arch, f"{rel.torch if rel else ''}+{label} has {arch.describe()} (wizard/data/releases.json)"

    def _arch(self, version: str, t: Mapping[str, Any], nvidia: list[Gpu]) -> None:
        arch, described = self._arch_set(t)
        if arch is None:
            return
        for gpu in nvidia:
            cc = gpu_cc(gpu)
            if cc is None or arch.runs_on(cc) is not None:
                continue
            code = f"sm_{cc[0]}{cc[1]}"
            self.add("arch_not_compiled", "error", T(M.DOCTOR_ARCH_NOT_COMPILED, version=version, gpu=gpu.name,
                                                     code=code),
                     [f"{gpu.name}: compute capability {cc[0]}.{cc[1]}", described],
                     _arch_fix(code))
            return

    # ---- the GPU tried for real

    def runtime(self) -> None:
        gpu = self.facts.get("gpu")
        t = self.torch or {}
        if not isinstance(gpu, dict) or not t.get("cuda"):
            return
        said = [str(w) for w in gpu.get("warnings") or []]
        error = gpu.get("available_error") or {}
        if error:
            said.append(f"{error.get('type')}: {error.get('message')}")
        if not gpu.get("is_available"):
            if self.has("no_driver") or self.has("driver_too_old"):
                return
            if any(_DRIVER_TOO_OLD.search(s) for s in said):
                drv = self.m.nvidia_driver
                self.add("driver_too_old", "error",
                         T(M.DOCTOR_DRIVER_TOO_OLD, version=self.version or "?", cuda=t.get("cuda"),
                           min_driver=self.kb.floor(int(str(t.get("cuda")).split(".")[0]), self.driver_family)
                           or "?", driver=drv.version if drv else T(M.UNKNOWN)),
                         said, self._driver_fix)
                return
            why = said[0] if said else T(M.DOCTOR_CUDA_UNAVAILABLE_WHY)
            self.add("cuda_unavailable", "error", T(M.DOCTOR_CUDA_UNAVAILABLE, cuda=t.get("cuda"), why=why), said,
                     lambda _b: T(M.DOCTOR_FIX_CHECK_DRIVER))
            return
        op_error = gpu.get("op_error")
        if isinstance(op_error, dict):
            text = f"{op_error.get('type')}: {op_error.get('message')}"
            if _NO_KERNEL.search(text) and not self.has("arch_not_compiled"):
                device = (gpu.get("devices") or [{}])[0]
                code = "sm_" + str(device.get("capability", "?")).replace(".", "")
                self.add("arch_not_compiled", "error",
                         T(M.DOCTOR_ARCH_NOT_COMPILED, version=self.version or "?", gpu=device.get("name", "?"),
                           code=code), [text, *said],
                         _arch_fix(code))
            elif not _NO_KERNEL.search(text):
                self.add("gpu_op_failed", "error", T(M.DOCTOR_GPU_OP_FAILED, error=text), [text, *said],
                         lambda _b: T(M.DOCTOR_FIX_CHECK_DRIVER))

    # ---- torchvision / torchaudio

    def companions(self) -> None:
        torch_version = self.version
        if not torch_version:
            return
        imports = self.facts.get("companions") or {}
        for name in ("torchvision", "torchaudio"):
            dist = self.dists.get(name)
            if dist is None:
                continue
            have = str(dist.get("version") or "?")
            wanted = self._wanted_torch(name, dist, torch_version)
            loaded = imports.get(name) if isinstance(imports, dict) else None
            failed = isinstance(loaded, dict) and loaded.get("ok") is False
            evidence = [f"{name} {have} requires: {', '.join(str(r) for r in dist.get('requires') or []) or '-'}",
                        f"torch {torch_version}"]
            if wanted is not None:
                if failed:
                    evidence.append(str(loaded["error"].get("traceback", "")))  # type: ignore[index]
                self.add("mismatched_companions", "error",
                         T(M.DOCTOR_MISMATCHED, name=name, have=have, wanted=wanted, torch=torch_version), evidence,
                         lambda b: T(M.DOCTOR_FIX_COMPANIONS, requirements=" ".join(b.requirements)) if b else "")
            elif failed:
                error = loaded["error"]  # type: ignore[index]
                text = f"{error.get('type')}: {error.get('message')}"
                self.add("mismatched_companions", "error", T(M.DOCTOR_MISMATCHED_IMPORT, name=name, error=text),
                         [*evidence, text],
                         lambda b: T(M.DOCTOR_FIX_COMPANIONS, requirements=" ".join(b.requirements)) if b else "")

    def _wanted_torch(self, name: str, dist: Mapping[str, Any], torch_version: str) -> str | None:
        """The torch this companion was built for, when it is not the installed one; None when they match."""
        have = str(dist.get("version") or "")
        torch_base, torch_label = _base(torch_version), _label(torch_version)
        label = _label(have)
        for raw in dist.get("requires") or []:
            try:
                req = Requirement(str(raw))
            except InvalidRequirement:
                continue
            if norm(req.name) != "torch" or req.marker is not None or not req.specifier:
                continue
            if not req.specifier.contains(torch_base, prereleases=True):
                pinned = [s.version for s in req.specifier if s.operator in ("==", "===")]
                return (pinned[0] if pinned else str(req.specifier)) + (f"+{label}" if label else "")
        # CUDA 12.6 torchvision with a CPU torch, etc.: the local labels name the build
        if label and torch_label and label != torch_label:
            return f"{torch_base}+{label}"
        # no pin in the metadata: the knowledge base pairs each torch release with its companion
        rel = self.kb.release(torch_base)
        comp = getattr(rel, name, None) if rel else None
        if comp is not None and _base(have) != comp.version:
            other = next((r for r in self.kb.releases if (getattr(r, name, None) or comp).version == _base(have)
                          and getattr(r, name, None) is not None), None)
            return other.torch if other else T(M.UNKNOWN_VERSION)
        return None

    def pinned(self) -> None:
        if self.pins:
            self.add("pinned_by_wizard", "info", T(M.DOCTOR_PINNED, pins=", ".join(self.pins)), self.pins,
                     lambda _b: T(M.DOCTOR_PINNED_FIX))


def _arch_fix(code: str) -> Callable[[Build | None], str]:
    def fix(build: Build | None) -> str:
        if build is None:
            return ""
        if build.device == "cpu":   # no GPU build carries this architecture any more
            return T(M.DOCTOR_FIX_ARCH_CPU, build=build.label(), code=code)
        return T(M.DOCTOR_FIX_ARCH, build=build.label(), code=code)
    return fix


def _choices(doctor: _Doctor, codes: set[str]) -> list[Choices]:
    """What to ask the planner, most specific first: only the companions wrong keeps this torch build."""
    torchaudio = "torchaudio" in doctor.dists
    general = Choices(torchvision=True, torchaudio=torchaudio)
    if codes & REINSTALL_CODES == {"mismatched_companions"} and doctor.version:
        same = Choices(torch=_base(doctor.version), variant=_label(doctor.version), torchvision=True,
                       torchaudio=torchaudio)
        return [same, general]
    return [general]


def propose_fix(doctor: _Doctor, machine: Machine, kb: Knowledge) -> Build | None:
    """The planner's build for this machine and this Python, when a finding calls for a reinstall."""
    codes = {p.code for p in doctor.problems if p.severity != "info"}
    if not codes & REINSTALL_CODES:
        return None
    for choices in _choices(doctor, codes):
        try:
            plan = make_plan(machine, choices, kb)
        except ChoiceError:
            continue
        if plan.recommended is not None and plan.status != "unsupported":
            return plan.recommended
    return None


@dataclass
class DoctorAnswer:
    """What :func:`diagnose` returns: the findings, the fix and the fix in one sentence."""

    findings: list[Finding]
    fix: Build | None
    fix_text: str
    torch_version: str | None
    machine: Machine


def diagnose(facts: Mapping[str, Any], machine: Machine, kb: Knowledge | None = None, *,
             output: Sequence[str] = (), pins: Sequence[str] = ()) -> DoctorAnswer:
    """Compare the facts from the target interpreter with ``machine`` and the knowledge base.

    ``output`` is what the script printed besides its answer (a library's warnings), ``pins``
    the wizard's pin lines in the environment. ``machine.python`` is replaced by the target.
    """
    kb = kb or load_knowledge()
    machine = dataclasses.replace(machine, python=python_target(facts, installed_version(facts)))
    doctor = _Doctor(facts, machine, kb, output, pins)
    doctor.python()
    if doctor.imported():
        plan = make_plan(machine, Choices(), kb)
        doctor.build(plan)
        doctor.runtime()
        doctor.companions()
    doctor.pinned()
    fix = propose_fix(doctor, machine, kb)
    findings = [Finding(p.code, p.severity, p.message, p.evidence, _fix_text(p, fix)) for p in doctor.problems]
    reinstall = fix is not None
    shadow = next((f for f in findings if f.code == "torch_shadowed"), None)
    # only the driver is wrong: the build there now is the one to keep
    only_driver = {p.code for p in doctor.problems} <= {"driver_too_old", "no_driver", "pinned_by_wizard"}
    kept = doctor.version if only_driver else None
    text = fix_sentence(fix, kept) if reinstall else (shadow.fix if shadow else T(M.DOCTOR_FIX_NONE))
    return DoctorAnswer(findings, fix, text, doctor.version, machine)


def _fix_text(problem: _Problem, fix: Build | None) -> str:
    text = problem.fix(fix)
    return text if isinstance(text, Text) or text else ""
