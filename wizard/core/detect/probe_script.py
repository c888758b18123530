"""Describe the Python interpreter that runs this file, as one JSON object on stdout.

Run by torch-gpu-setup with each candidate interpreter (``python -I probe_script.py``). It must
stay standard-library only and parse on old interpreters too (Python 3.6+: no walrus, no
``from __future__ import annotations``, quoted annotations), so an old Python is reported as
too old instead of failing. It never imports torch: versions come from package metadata.
"""

import json
import os
import platform
import re
import site
import struct
import sys
import sysconfig

_DIST_RE = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+?)-(?P<version>[^-]+?)\.(dist-info|egg-info)$")


def _norm(name: str) -> str:
    # PEP 503 name normalisation
    return re.sub(r"[-_.]+", "-", name).lower()


def _scan_version(name: str, folder: str) -> "str | None":
    """Version of distribution ``name`` installed in ``folder``, from its metadata files."""
    try:
        entries = os.listdir(folder)
    except OSError:
        return None
    for entry in sorted(entries):
        match = _DIST_RE.match(entry)
        if not match or _norm(match.group("name")) != _norm(name):
            continue
        meta = os.path.join(folder, entry, "METADATA")
        if not os.path.isfile(meta):
            meta = os.path.join(folder, entry, "PKG-INFO")  # egg-info
        try:
            with open(meta, encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    if line.lower().startswith("version:"):
                        return line.split(":", 1)[1].strip()
                    if not line.strip():
                        break  # end of the header block
        except OSError:
            pass
        return match.group("version")
    return None


def _installed_version(name: str, folders: "list[str]") -> "str | None":
    """The first version of ``name`` found along ``folders``, as the import system would pick it."""
    try:
        import importlib.metadata as metadata  # Python 3.8+

        for folder in folders:
            # name= lets the finder match folder names instead of parsing every package
            for dist in metadata.distributions(name=name, path=[folder]):
                return str(dist.version)
        return None
    except ImportError:
        pass
    for folder in folders:
        version = _scan_version(name, folder)
        if version:
            return version
    return None


def _pyvenv_cfg(prefix: str) -> "dict[str, str]":
    values = {}
    try:
        with open(os.path.join(prefix, "pyvenv.cfg"), encoding="utf-8", errors="replace") as handle:
            for line in handle:
                key, sep, value = line.partition("=")
                if sep:
                    values[key.strip().lower()] = value.strip()
    except OSError:
        pass
    return values


def describe() -> "dict[str, object]":
    """Everything torch-gpu-setup wants to know about this interpreter."""
    base_prefix = getattr(sys, "base_prefix", sys.prefix)
    in_venv = sys.prefix != base_prefix or hasattr(sys, "real_prefix")
    cfg = _pyvenv_cfg(sys.prefix) if in_venv else {}
    stdlib = sysconfig.get_path("stdlib") or ""
    # PEP 668: the marker lives in the stdlib folder and does not apply inside a virtual env.
    externally_managed = (not in_venv) and os.path.isfile(os.path.join(stdlib, "EXTERNALLY-MANAGED"))

    # -I hides the user site from sys.path; work out whether a normal run would add it
    # (site.py rules: PYTHONNOUSERSITE, venvs without system site packages).
    user_site_enabled = not os.environ.get("PYTHONNOUSERSITE")
    if in_venv and cfg.get("include-system-site-packages", "false").lower() != "true":
        user_site_enabled = False
    user_site = ""
    try:
        user_site = site.getusersitepackages()
    except Exception:
        user_site_enabled = False
    env_paths = [p for p in sys.path if p and os.path.isdir(p) and p != user_site]

    torch = _installed_version("torch", env_paths)
    user_torch = _installed_version("torch", [user_site]) if user_site_enabled and user_site else None
    libc = platform.libc_ver()
    executable = sys.executable or ""
    return {
        "probe": 1,
        "version": platform.python_version(),
        "implementation": sys.implementation.name,
        "bits": struct.calcsize("P") * 8,
        "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "executable": sys.executable,
        "prefix": sys.prefix,
        "base_prefix": base_prefix,
        "in_venv": in_venv,
        "venv_creator": "uv" if "uv" in cfg else ("virtualenv" if "virtualenv" in cfg else None),
        "conda": os.path.isdir(os.path.join(sys.prefix, "conda-meta")),
        "externally_managed": externally_managed,
        "pip_version": _installed_version("pip", env_paths),
        "torch_version": torch,
        "user_site_enabled": user_site_enabled,
        "user_site_torch": user_torch,
        "platform": sys.platform,
        # where it runs, for the wheel tags a download must match (wizard.core.fetch.tags)
        "system": platform.system(),
        "machine": platform.machine(),
        "glibc": libc[1] if libc[0] == "glibc" else None,
        "release": platform.mac_ver()[0] or platform.version(),
        "purelib": sysconfig.get_path("purelib"),
        # Microsoft Store Python: its writes below %LOCALAPPDATA% are redirected (envs_dir)
        "microsoft_store": "WindowsApps" in executable or "PythonSoftwareFoundation.Python" in sys.prefix,
        # What this answer was read from: a folder's mtime changes when an entry in it is added,
        # removed or renamed (a package installed, upgraded or removed, the PEP 668 marker), so
        # the wizard may reuse the answer while none of these changed (python_probe.ProbeCache).
        "watch": sorted(set(env_paths + [p for p in (user_site, stdlib, sys.prefix,
                                                     os.path.join(sys.prefix, "pyvenv.cfg")) if p])),
    }


def main() -> None:
    """Print the description; on any failure print the error as JSON instead of a traceback."""
    try:
        data = describe()
    except Exception as exc:  # an odd interpreter must still answer in JSON
        data = {"probe": 1, "error": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write(json.dumps(data) + "\n")


if __name__ == "__main__":
    main()
