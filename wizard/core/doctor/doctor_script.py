"""Look at the torch of the interpreter that runs this file; print what was found as one JSON line.

Run by ``torch-gpu-setup doctor`` with the TARGET interpreter (``python doctor_script.py``, not
``-I``: the person's own programs see ``PYTHONPATH`` and the user site too, and so must the
doctor). Standard library only, and it must parse on old interpreters (Python 3.6+: no walrus,
no ``from __future__ import annotations``), so an old Python still answers. The diagnosis is
made by the wizard (:mod:`wizard.core.doctor.diagnose`); this script only gathers facts.

Every torch attribute is optional: a missing one is listed in ``missing``, never a crash. An
import that fails is reported with its exception. ``--workdir DIR`` puts DIR first on
``sys.path`` as ``python script.py`` in DIR would, so a ``torch.py`` there is seen shadowing the
package. ``--gpu`` runs the GPU probes (availability, devices, one small operation).

Output: lines of the form ``TGS-DOCTOR {json}``; anything else printed is a library's own
output, kept by the wizard as evidence.
"""

import json
import os
import platform
import struct
import sys
import traceback
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for the type comments (annotations would not parse on Python 3.6)
    from collections.abc import Callable  # noqa: F401
    from typing import Any  # noqa: F401

MARKER = "TGS-DOCTOR "
COMPANIONS = ("torchvision", "torchaudio")
#: Every folder holding a torch distribution, in sys.path order (one in the user site or on PYTHONPATH
#: can hide the environment's own).
TORCH_LOCATIONS = []  # type: list[str]


def _distributions():
    # type: () -> tuple[list[dict[str, Any]], str | None]
    """Every installed distribution: name, version, requirements, where it lives."""
    out = []  # type: list[dict[str, Any]]
    try:
        import importlib.metadata as metadata  # Python 3.8+
    except ImportError:
        return _scan_distributions(), None
    seen = set()  # type: set[str]
    for dist in metadata.distributions():
        try:
            name = dist.metadata["Name"] or ""
        except Exception:
            continue
        key = name.lower().replace("_", "-").replace(".", "-")
        try:
            location = str(dist.locate_file(""))
        except Exception:
            location = ""
        if key == "torch":
            TORCH_LOCATIONS.append(location)
        if not name or key in seen:  # the first one on sys.path is the one imported
            continue
        seen.add(key)
        out.append({"name": name, "version": dist.version, "requires": list(dist.requires or []),
                    "location": location})
    return out, None


def _scan_distributions():
    # type: () -> list[dict[str, Any]]
    """Python < 3.8: the same facts read from the ``*.dist-info/METADATA`` files along sys.path."""
    out = []  # type: list[dict[str, Any]]
    seen = set()  # type: set[str]
    for folder in sys.path:
        try:
            entries = sorted(os.listdir(folder or "."))
        except OSError:
            continue
        for entry in entries:
            if not entry.endswith(".dist-info"):
                continue
            fields = {"requires": []}  # type: dict[str, Any]
            try:
                with open(os.path.join(folder, entry, "METADATA"), encoding="utf-8", errors="replace") as handle:
                    for line in handle:
                        if not line.strip():
                            break  # the end of the header block
                        key, _, value = line.partition(":")
                        if key == "Requires-Dist":
                            fields["requires"].append(value.strip())
                        elif key in ("Name", "Version"):
                            fields[key.lower()] = value.strip()
            except OSError:
                continue
            key = str(fields.get("name", "")).lower().replace("_", "-").replace(".", "-")
            if key == "torch":
                TORCH_LOCATIONS.append(folder)
            if key and key not in seen:
                seen.add(key)
                fields["location"] = folder
                out.append(fields)
    return out


def _call(missing, name, func):
    # type: (list[str], str, Callable[[], Any]) -> Any
    """``func()``, or None with ``name`` recorded as missing (an old or odd torch)."""
    try:
        return func()
    except Exception as exc:
        missing.append(f"{name} ({type(exc).__name__}: {exc})")
        return None


def _error(exc):
    # type: (BaseException) -> dict[str, str]
    return {"type": type(exc).__name__, "message": str(exc),
            "traceback": traceback.format_exception_only(type(exc), exc)[-1].strip()}


def _torch_facts(torch, missing):
    # type: (Any, list[str]) -> dict[str, Any]
    facts = {
        "version": _call(missing, "torch.__version__", lambda: str(torch.__version__)),
        "file": _call(missing, "torch.__file__", lambda: str(torch.__file__)),
        "cuda": _call(missing, "torch.version.cuda", lambda: torch.version.cuda),
        "hip": _call(missing, "torch.version.hip", lambda: torch.version.hip),
        "xpu": getattr(getattr(torch, "version", None), "xpu", None),
        "arch_list": _call(missing, "torch.cuda.get_arch_list()", lambda: list(torch.cuda.get_arch_list())),
        "cudnn": _call(missing, "torch.backends.cudnn.version()", lambda: torch.backends.cudnn.version()),
    }
    for key in ("cuda", "hip", "xpu", "cudnn"):
        if facts[key] is not None and not isinstance(facts[key], (str, int)):
            facts[key] = str(facts[key])
    return facts


def _gpu_probes(torch):
    # type: (Any) -> dict[str, Any]
    """Availability, device count and one small operation, each exception kept as text."""
    out = {"warnings": []}  # type: dict[str, Any]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out["is_available"] = bool(torch.cuda.is_available())
        except Exception as exc:
            out["is_available"] = False
            out["available_error"] = _error(exc)
        if out["is_available"]:
            try:
                out["device_count"] = int(torch.cuda.device_count())
                out["devices"] = []
                for i in range(out["device_count"]):
                    cap = torch.cuda.get_device_capability(i)
                    out["devices"].append({"name": str(torch.cuda.get_device_name(i)),
                                           "capability": f"{int(cap[0])}.{int(cap[1])}"})
            except Exception as exc:
                out["device_error"] = _error(exc)
            try:
                value = (torch.ones(4, device="cuda") * 2).sum().item()
                out["op_ok"] = value == 8
            except Exception as exc:
                out["op_ok"] = False
                out["op_error"] = _error(exc)
    out["warnings"] = [str(w.message) for w in caught]
    return out


def _companions(torch_ok):
    # type: (bool) -> dict[str, Any]
    """torchvision / torchaudio: imported after torch, their errors kept (a build for another torch)."""
    out = {}  # type: dict[str, Any]
    if not torch_ok:
        return out
    for name in COMPANIONS:
        try:
            import importlib.util

            if importlib.util.find_spec(name) is None:
                continue
        except Exception:
            continue
        try:
            module = __import__(name)
            out[name] = {"ok": True, "version": str(getattr(module, "__version__", "")),
                         "file": str(getattr(module, "__file__", ""))}
        except BaseException as exc:  # a compiled extension may raise anything
            out[name] = {"ok": False, "error": _error(exc)}
    return out


def describe(workdir, gpu):
    # type: (str | None, bool) -> dict[str, Any]
    """Everything the doctor wants to know about this interpreter and its torch."""
    if workdir:
        # what `python script.py` run in that folder puts first on sys.path
        sys.path.insert(0, workdir)
    base_prefix = getattr(sys, "base_prefix", sys.prefix)
    dists, dist_problem = _distributions()
    data = {  # type: dict[str, Any]
        "doctor": 1,
        "python": {
            "version": platform.python_version(),
            "implementation": sys.implementation.name,
            "bits": struct.calcsize("P") * 8,
            "executable": sys.executable,
            "prefix": sys.prefix,
            "base_prefix": base_prefix,
            "in_venv": sys.prefix != base_prefix,
            "platform": sys.platform,
            "machine": platform.machine(),
        },
        "distributions": dists,
        "torch_locations": TORCH_LOCATIONS,
        "missing": [dist_problem] if dist_problem else [],
    }
    origin = None
    try:
        import importlib.util

        spec = importlib.util.find_spec("torch")
        origin = spec.origin if spec is not None else None
    except BaseException as exc:
        data["spec_error"] = _error(exc)
    data["torch_origin"] = origin
    torch = None  # type: Any
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            import torch  # type: ignore[import-not-found,no-redef]
        except BaseException as exc:  # SystemExit and friends from a broken package too
            data["import_error"] = _error(exc)
    data["import_warnings"] = [str(w.message) for w in caught]
    if torch is not None:
        data["torch"] = _torch_facts(torch, data["missing"])
        if gpu:
            data["gpu"] = _gpu_probes(torch)
    data["companions"] = _companions(torch is not None)
    return data


def main(argv):
    # type: (list[str]) -> None
    """Print the facts; on any failure of the script itself print the error as JSON instead."""
    workdir = None
    if "--workdir" in argv:
        at = argv.index("--workdir")
        workdir = argv[at + 1] if at + 1 < len(argv) else None
    try:
        data = describe(workdir if workdir and os.path.isdir(workdir) else None, "--gpu" in argv)
    except Exception as exc:
        data = {"doctor": 1, "error": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write(MARKER + json.dumps(data, default=str) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
