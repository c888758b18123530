"""Build the double-click app: ``python packaging/build.py``.

Steps (each prints one line):

1. compile the GUI translations (``.ts`` -> ``.qm``) so the bundle carries them;
2. PyInstaller with ``packaging/torch-gpu-setup.spec`` -> ``dist/torch-gpu-setup/`` (one folder,
   the executable ``torch-gpu-setup`` / ``torch-gpu-setup.exe`` inside);
3. the archives: Linux ``dist/torch-gpu-setup-VERSION-linux-ARCH.tar.gz`` (bundle, ``.desktop`` file,
   icon, ``install-menu-entry.sh``) and ``dist/torch-gpu-setup_VERSION_DEBARCH.deb`` (installs
   under ``/opt/torch-gpu-setup`` with a menu entry; needs ``dpkg-deb``); Windows
   ``dist/torch-gpu-setup-VERSION-windows-ARCH.zip`` and, when Inno Setup's ``iscc`` is on PATH,
   the installer from ``packaging/windows/torch-gpu-setup.iss``;
4. the smoke test of the bundle (``pytest -m bundle tests/packaging``).

Run it with the interpreter of a development environment that has ``pip install -e '.[build,test]'``.
Exit status: 0 when everything was built and the smoke test passed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAME = "torch-gpu-setup"
DIST = ROOT / "dist"
WORK = ROOT / "build"
BUNDLE = DIST / NAME
WINDOWS = sys.platform == "win32"
LINUX = sys.platform.startswith("linux")
EXE = BUNDLE / (f"{NAME}.exe" if WINDOWS else NAME)
# Windows: EXE is the windowed program (the double-click); the commands and the smoke test's CLI
# steps need the console one the spec builds beside it. Elsewhere one program is both.
CLI_EXE = BUNDLE / (f"{NAME}-cli.exe" if WINDOWS else NAME)
SPEC = ROOT / "packaging" / f"{NAME}.spec"
DESKTOP = ROOT / "packaging" / "linux" / f"{NAME}.desktop"
MENU_SCRIPT = ROOT / "packaging" / "linux" / "install-menu-entry.sh"
ISS = ROOT / "packaging" / "windows" / f"{NAME}.iss"
RESOURCES = ROOT / "resources"
# Debian architecture names (dpkg-architecture(1)) for platform.machine() values.
DEB_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
# Shared libraries the bundle takes from the system, not from PySide6's wheel: Qt's xcb platform
# plugin needs these on X11 ("Qt for X11 Requirements", Qt 6 documentation); Wayland and GL come
# with any desktop. Package names as in Debian 12 / Ubuntu 22.04 and later.
DEB_DEPENDS = ("libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1", "libxkbcommon-x11-0", "libegl1",
               "libfontconfig1")
# The wizard installs torch into the person's Python; Debian/Ubuntu split venv support into its own
# package, and without it "python3 -m venv" fails.
DEB_RECOMMENDS = ("python3 (>= 3.10)", "python3-venv")


class BuildError(Exception):
    """A step failed; the message says which and what to do."""


def say(message: str) -> None:
    """One progress line."""
    print(f"[build] {message}", flush=True)


def version() -> str:
    """The wizard's version, read from ``wizard/__init__.py`` (no import: no side effects)."""
    text = (ROOT / "wizard" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.M)
    if match is None:
        raise BuildError("no __version__ in wizard/__init__.py")
    return match.group(1)


def machine() -> str:
    """``x86_64``, ``aarch64``, ... as the archive names use it."""
    m = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(m, m)


def run(argv: list[str], **kwargs: object) -> None:
    """Run a build tool; its failure stops the build."""
    result = subprocess.run(argv, cwd=ROOT, check=False, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise BuildError(f"'{' '.join(argv[:4])} ...' failed with exit code {result.returncode}")


def build_translations() -> None:
    """Compile ``wizard/i18n/*.ts`` to ``.qm`` with the lrelease inside PySide6."""
    if not list((ROOT / "wizard" / "i18n").glob("*.ts")):
        say("translations: none to build")
        return
    result = subprocess.run([sys.executable, "-m", "wizard.qt.build_translations"], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    say("translations: " + (result.stdout.strip().replace("\n", ", ") or result.stderr.strip()[-200:]))


def ensure_icons() -> None:
    """Render the icon set if a file of it is missing (it is committed, so normally nothing to do)."""
    needed = [RESOURCES / f"{NAME}.ico", RESOURCES / "png" / f"{NAME}-256.png"]
    if all(p.is_file() for p in needed):
        return
    say("icons: rendering from resources/torch-gpu-setup.svg")
    run([sys.executable, str(ROOT / "packaging" / "icons.py")])


def freeze() -> None:
    """PyInstaller: the one-folder bundle in ``dist/torch-gpu-setup``."""
    if importlib.util.find_spec("PyInstaller") is None:
        raise BuildError("PyInstaller is not installed: pip install -e '.[build]'")
    started = time.monotonic()
    run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
         "--distpath", str(DIST), "--workpath", str(WORK / "pyinstaller"), str(SPEC)])
    for exe in dict.fromkeys((EXE, CLI_EXE)):
        if not exe.is_file():
            raise BuildError(f"PyInstaller finished but {exe} is missing")
    say(f"bundle: {BUNDLE} ({folder_size(BUNDLE) / 2**20:.0f} MiB) in {time.monotonic() - started:.0f} s")


def folder_size(folder: Path) -> int:
    """Bytes of all files under ``folder`` (links not followed)."""
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _root_owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def linux_tarball(ver: str) -> Path:
    """``.tar.gz``: the bundle folder with the .desktop file, the icon and the menu script in it."""
    target = DIST / f"{NAME}-{ver}-linux-{machine()}.tar.gz"
    with tarfile.open(target, "w:gz", compresslevel=6) as tar:
        tar.add(BUNDLE, arcname=NAME, filter=_root_owned)
        tar.add(DESKTOP, arcname=f"{NAME}/{NAME}.desktop", filter=_root_owned)
        tar.add(RESOURCES / "png" / f"{NAME}-256.png", arcname=f"{NAME}/{NAME}.png", filter=_root_owned)
        tar.add(MENU_SCRIPT, arcname=f"{NAME}/install-menu-entry.sh", filter=_root_owned)
    say(f"archive: {target} ({target.stat().st_size / 2**20:.0f} MiB)")
    return target


def _normalize_modes(root: Path) -> None:
    """Debian policy §10.9: directories 0755, files 0644, executables 0755."""
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        executable = path.is_dir() or bool(mode & stat.S_IXUSR)
        path.chmod(0o755 if executable else 0o644)


def deb_control(ver: str, arch: str, installed_kib: int) -> str:
    """The ``DEBIAN/control`` file of the package."""
    libc = platform.libc_ver()[1] or "2.17"
    depends = ", ".join((f"libc6 (>= {libc})", *DEB_DEPENDS))
    return (
        f"Package: {NAME}\n"
        f"Version: {ver}\n"
        f"Architecture: {arch}\n"
        "Maintainer: torch-gpu-setup developers <noreply@torch-gpu-setup.invalid>\n"
        f"Installed-Size: {installed_kib}\n"
        f"Depends: {depends}\n"
        f"Recommends: {', '.join(DEB_RECOMMENDS)}\n"
        "Section: devel\n"
        "Priority: optional\n"
        "Description: setup wizard for PyTorch on your GPU\n"
        " Finds your graphics card, driver and Python, picks the right PyTorch build\n"
        " (CUDA, ROCm, XPU or CPU), installs it into a new virtual environment and\n"
        " checks that it trains on the GPU. A self-contained app: it brings its own\n"
        " Python and Qt, and never installs anything into them.\n"
    )


def linux_deb(ver: str) -> Path:
    """``.deb`` built with dpkg-deb: /opt/torch-gpu-setup, a menu entry, hicolor icons, /usr/bin link."""
    dpkg_deb = shutil.which("dpkg-deb")
    if dpkg_deb is None:
        raise BuildError("dpkg-deb not found: install dpkg (apt-get install dpkg), or pass --no-deb")
    arch = DEB_ARCH.get(machine())
    if arch is None:
        raise BuildError(f"no Debian architecture known for {machine()}; pass --no-deb")
    stage = WORK / "deb" / f"{NAME}_{ver}_{arch}"
    shutil.rmtree(stage, ignore_errors=True)
    shutil.copytree(BUNDLE, stage / "opt" / NAME, symlinks=True)
    apps = stage / "usr" / "share" / "applications"
    apps.mkdir(parents=True)
    shutil.copy2(DESKTOP, apps / f"{NAME}.desktop")
    hicolor = stage / "usr" / "share" / "icons" / "hicolor"
    for png in sorted((RESOURCES / "png").glob(f"{NAME}-*.png")):
        size = png.stem.rsplit("-", 1)[1]
        folder = hicolor / f"{size}x{size}" / "apps"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(png, folder / f"{NAME}.png")
    (hicolor / "scalable" / "apps").mkdir(parents=True)
    shutil.copy2(RESOURCES / f"{NAME}.svg", hicolor / "scalable" / "apps" / f"{NAME}.svg")
    (stage / "usr" / "bin").mkdir(parents=True)
    (stage / "usr" / "bin" / NAME).symlink_to(f"/opt/{NAME}/{NAME}")  # the CLI on PATH
    _normalize_modes(stage)
    installed_kib = (folder_size(stage) + 1023) // 1024
    (stage / "DEBIAN").mkdir()
    (stage / "DEBIAN" / "control").write_text(deb_control(ver, arch, installed_kib), encoding="utf-8")
    # No maintainer scripts: the desktop-file-utils and hicolor-icon-theme dpkg triggers refresh
    # the menu and icon caches.
    target = DIST / f"{NAME}_{ver}_{arch}.deb"
    run([dpkg_deb, "--root-owner-group", "--build", str(stage), str(target)], stdout=subprocess.DEVNULL)
    say(f"package: {target} ({target.stat().st_size / 2**20:.0f} MiB)")
    return target


def windows_archives(ver: str) -> list[Path]:
    """The ``.zip`` of the bundle, and the Inno Setup installer when ``iscc`` is available."""
    base = DIST / f"{NAME}-{ver}-windows-{machine()}"
    made = [Path(shutil.make_archive(str(base), "zip", root_dir=DIST, base_dir=NAME))]
    say(f"archive: {made[0]}")
    iscc = shutil.which("iscc") or shutil.which("ISCC")
    if iscc is None:
        say("installer: skipped (Inno Setup's iscc is not on PATH)")
        return made
    run([iscc, f"/DAppVersion={ver}", f"/DBundleDir={BUNDLE}", f"/O{DIST}", str(ISS)])
    made.extend(DIST.glob(f"{NAME}-{ver}-setup*.exe"))
    say(f"installer: {made[-1]}")
    return made


def smoke_test() -> None:
    """Run the bundle smoke test (tests/packaging, marker ``bundle``)."""
    say("smoke test: pytest -m bundle tests/packaging")
    env = {**os.environ, "TGS_BUNDLE_REQUIRED": "1"}  # a missing bundle is a failure here, not a skip
    run([sys.executable, "-m", "pytest", "-m", "bundle", "-q", "tests/packaging"], env=env)


def main(argv: list[str] | None = None) -> int:
    """Build, package and smoke-test; 0 on success, 1 with one line on failure."""
    parser = argparse.ArgumentParser(description="Build the torch-gpu-setup app (dist/torch-gpu-setup).")
    parser.add_argument("--skip-freeze", action="store_true",
                        help="reuse dist/torch-gpu-setup as it is (package and test only)")
    parser.add_argument("--no-deb", action="store_true", help="Linux: do not build the .deb")
    parser.add_argument("--no-test", action="store_true", help="do not run the smoke test")
    args = parser.parse_args(argv)
    try:
        ver = version()
        if args.skip_freeze:
            if not EXE.is_file():
                raise BuildError(f"--skip-freeze: {EXE} does not exist")
        else:
            build_translations()
            ensure_icons()
            freeze()
        if LINUX:
            linux_tarball(ver)
            if not args.no_deb:
                linux_deb(ver)
        elif WINDOWS:
            windows_archives(ver)
        if not args.no_test:
            smoke_test()
    except BuildError as exc:
        print(f"[build] FAILED: {exc}", file=sys.stderr)
        return 1
    say("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
