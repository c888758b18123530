"""Environments for the doctor: real venvs holding stand-in torch packages (the world at its edge).

A stand-in ``torch/__init__.py`` carries what a real build reports (``__version__``,
``version.cuda``/``hip``, ``cuda.get_arch_list()``, cuDNN) or raises the import error a broken
install raises; its ``dist-info`` says what pip would have recorded (``Requires-Dist`` included).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from wizard.core.model.machine import Machine, load_profile

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "tests" / "profiles"

STAND_IN = '''\
"""A stand-in torch for the doctor's tests."""
import sys as _sys
{before}
__version__ = {version!r}


class _NS(object):
    pass


version = _NS()
version.cuda = {cuda!r}
version.hip = {hip!r}

cuda = _NS()
cuda.get_arch_list = lambda: {arch!r}


def _is_available():
{available}


cuda.is_available = _is_available
cuda.device_count = lambda: {count!r}
cuda.get_device_capability = lambda i=0: {capability!r}
cuda.get_device_name = lambda i=0: {device_name!r}

backends = _NS()
backends.cudnn = _NS()
backends.cudnn.version = lambda: {cudnn!r}


class _Tensor(object):
    def __init__(self, value):
        self.value = value

    def __mul__(self, other):
        return _Tensor(self.value * other)

    def sum(self):
        return self

    def item(self):
        return self.value


def ones(n, device="cpu"):
{op}
    return _Tensor(n)
'''


@dataclass
class StandIn:
    """What the stand-in torch reports, or the error its import raises."""

    version: str = "2.14.1+cpu"
    cuda: str | None = None
    hip: str | None = None
    arch: Sequence[str] = ()
    raises: str | None = None       # e.g. "OSError('libcudnn.so.9: cannot open shared object file')"
    stderr: str | None = None       # printed to stderr while importing (a library's warning)
    available: str = "return False"  # body of torch.cuda.is_available()
    op_raises: str | None = None    # raised by the one small operation on the GPU
    count: int = 1
    capability: tuple[int, int] = (8, 9)
    device_name: str = "NVIDIA GeForce RTX 4070"
    cudnn: int | None = None
    companions: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    metadata: bool = True           # write torch's dist-info
    crash: int | None = None        # the interpreter dies in import torch with this exit code (a segfault: 139)


def site_packages(prefix: Path) -> Path:
    """The venv's site-packages folder."""
    if sys.platform == "win32":
        return prefix / "Lib" / "site-packages"
    return Path(glob.glob(str(prefix / "lib" / "python3*" / "site-packages"))[0])


def python_of(prefix: Path) -> Path:
    """The venv's interpreter."""
    return prefix / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def write_dist(site: Path, name: str, version: str, requires: Sequence[str] = ()) -> None:
    """The dist-info pip would have written (METADATA is what importlib.metadata reads)."""
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        + "".join(f"Requires-Dist: {r}\n" for r in requires), encoding="utf-8")
    (info / "INSTALLER").write_text("pip\n", encoding="utf-8")


def install_stand_in(prefix: Path, spec: StandIn) -> None:
    """Put the stand-in torch (and companions) into the venv at ``prefix``."""
    site = site_packages(prefix)
    package = site / "torch"
    package.mkdir(parents=True, exist_ok=True)
    before = ""
    if spec.stderr:
        before += f"_sys.stderr.write({spec.stderr!r} + '\\n')\n"
    if spec.raises:
        before += f"raise {spec.raises}\n"
    if spec.crash is not None:
        before += f"_sys.stdout.flush()\nimport os as _os\n_os._exit({spec.crash})\n"
    op = f"    if device != 'cpu':\n        raise {spec.op_raises}" if spec.op_raises else "    pass"
    (package / "__init__.py").write_text(STAND_IN.format(
        before=before, version=spec.version, cuda=spec.cuda, hip=spec.hip, arch=list(spec.arch),
        available="\n".join("    " + line for line in spec.available.splitlines()), count=spec.count,
        capability=spec.capability, device_name=spec.device_name, cudnn=spec.cudnn, op=op), encoding="utf-8")
    if spec.metadata:
        write_dist(site, "torch", spec.version, ("filelock", "typing-extensions>=4.10.0"))
    for name, (version, requires) in spec.companions.items():
        (site / name).mkdir(exist_ok=True)
        (site / name / "__init__.py").write_text(f"__version__ = {version!r}\n", encoding="utf-8")
        write_dist(site, name, version, requires)


@pytest.fixture(scope="session")
def bare_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real venv without pip (fast to make), copied by :func:`env`."""
    path = tmp_path_factory.mktemp("doctor-template") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path


@pytest.fixture
def env(bare_venv: Path, tmp_path: Path) -> Path:
    """A private copy of the bare venv; returns its prefix."""
    path = tmp_path / "env"
    shutil.copytree(bare_venv, path, symlinks=True)
    return path


def profile(name: str) -> Machine:
    """A machine profile of tests/profiles (or tests/profiles/extra)."""
    path = PROFILES / f"{name}.json"
    return load_profile(path if path.is_file() else PROFILES / "extra" / f"{name}.json")


def find_python(minor: str) -> str | None:
    """An interpreter of Python ``minor`` ("3.7") on this machine that starts, or None."""
    candidates = [shutil.which(f"python{minor}") or ""]
    root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    candidates += sorted(glob.glob(os.path.join(root, "versions", f"{minor}.*", "bin", f"python{minor}")))
    for candidate in candidates:
        if candidate and subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0:
            return candidate
    return None
