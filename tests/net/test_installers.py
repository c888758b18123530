"""NVIDIA installers: Linux package commands per distribution, the Windows lookup, CUDA redist manifests.

Recorded responses are our own, in the format docs/SOURCES.md nvidia §3.1 / §4.6 describes, served
from a real loopback server. The research samples are read (never copied) when present.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.net.server import LoopbackServer
from wizard.cli import main
from wizard.core.drivers.installers import fetch_installers, installers_for
from wizard.core.drivers.linux import distro_for
from wizard.core.drivers.steps import elevate
from wizard.core.drivers.toolkit import parse_redist_manifest
from wizard.core.drivers.windows import normalise_gpu_name, parse_lookup_response, pfid_for, windows_osid
from wizard.core.errors import WizardError
from wizard.core.fetch.download import ChecksumMismatch, Downloader
from wizard.core.fetch.net import make_session
from wizard.core.model.machine import Machine, NvidiaDriver, OsInfo, load_profile
from wizard.core.plan.planner import make_plan

PROFILES = Path(__file__).resolve().parents[1] / "profiles"
SAMPLES = Path("/work/shared/research/samples")


def _pkexec_present(name: str) -> str | None:
    return f"/usr/bin/{name}" if name == "pkexec" else None


def _no_elevator(name: str) -> str | None:
    return None


def _profile(name: str) -> Machine:
    return load_profile(PROFILES / name)


def _linux(version: str, *, gpu: str = "NVIDIA GeForce RTX 3060", cc: str | None = "8.6",
           secure_boot: bool = False, arch: str = "x86_64") -> Machine:
    m = _profile("ubuntu2404-rtx3060-nodriver.json")
    gpus = [replace(m.gpus[0], name=gpu, compute_capability=cc)]
    return replace(m, os=OsInfo("linux", version, arch, glibc="2.39", secure_boot=secure_boot), gpus=gpus)


def _steps(machine: Machine, **kw: object) -> list[dict[str, object]]:
    plan = make_plan(machine)
    return [s.to_json() for s in installers_for(machine, plan, **kw).steps]  # type: ignore[arg-type]


def _argvs(step: dict[str, object]) -> list[list[str]]:
    commands: list[dict[str, list[str]]] = step["commands"]  # type: ignore[assignment]
    return [c["argv"] for c in commands]


# --------------------------------------------------------------------------- Linux


def test_ubuntu_driver_command_with_pkexec_and_secure_boot_words() -> None:
    steps = _steps(_profile("ubuntu2404-rtx3060-nodriver.json"), which=_pkexec_present)
    driver = steps[0]
    assert driver["kind"] == "driver_linux" and "open kernel modules" in str(driver["title"])
    assert _argvs(driver) == [["pkexec", "ubuntu-drivers", "install"]]
    notes = " ".join(driver["notes"])  # type: ignore[arg-type]
    assert "mokutil --import /var/lib/dkms/mok.pub" in notes and "nouveau" in notes
    assert [s["kind"] for s in steps[1:]] == ["reboot"]
    assert "Enroll MOK" in " ".join(steps[1]["notes"])  # type: ignore[arg-type]


@pytest.mark.parametrize(("version", "gpu", "cc", "expected"), [
    ("Debian GNU/Linux 12", "NVIDIA GeForce RTX 3090", "8.6",
     [["sudo", "apt-get", "update"],
      ["sudo", "apt-get", "install", "-y", "linux-headers-amd64", "nvidia-open-kernel-dkms", "nvidia-driver",
       "firmware-misc-nonfree"]]),
    ("Fedora 41", "NVIDIA GeForce RTX 5090", "12.0",
     [["sudo", "dnf", "install", "-y", "https://mirrors.rpmfusion.org/free/fedora/rpmfusion-free-release-41.noarch.rpm",
       "https://mirrors.rpmfusion.org/nonfree/fedora/rpmfusion-nonfree-release-41.noarch.rpm"],
      ["sudo", "dnf", "install", "-y", "akmod-nvidia", "xorg-x11-drv-nvidia-cuda"]]),
    ("Rocky Linux 9.4", "Tesla T4", "7.5",
     [["sudo", "dnf", "config-manager", "--add-repo",
       "https://developer.download.nvidia.com/compute/cuda/repos/rhel9/x86_64/cuda-rhel9.repo"],
      ["sudo", "dnf", "module", "install", "-y", "nvidia-driver:open-dkms"]]),
    ("openSUSE Tumbleweed", "NVIDIA GeForce RTX 4070", "8.9",
     [["sudo", "zypper", "--non-interactive", "install", "nvidia-open-driver-G06-signed-kmp-default",
       "nvidia-compute-utils-G06"]]),
    ("Arch Linux", "NVIDIA GeForce RTX 4070", "8.9",
     [["sudo", "pacman", "-S", "--needed", "--noconfirm", "nvidia-open", "nvidia-utils"]]),
    ("Ubuntu 22.04", "NVIDIA GeForce GTX 1080", "6.1",
     [["sudo", "ubuntu-drivers", "install", "nvidia:580"]]),
])
def test_linux_driver_commands_per_distribution(version: str, gpu: str, cc: str,
                                                expected: list[list[str]]) -> None:
    steps = _steps(_linux(version, gpu=gpu, cc=cc), which=_no_elevator)
    driver = next(s for s in steps if s["kind"] == "driver_linux")
    assert _argvs(driver) == expected
    flavour = "proprietary" if cc == "6.1" else "open"
    assert flavour in str(driver["title"])


def test_pre_turing_on_arch_gets_words_not_a_command_and_blackwell_wins_a_mixed_machine() -> None:
    steps = _steps(_linux("Arch Linux", gpu="NVIDIA GeForce GTX 1080", cc="6.1"), which=_no_elevator)
    driver = next(s for s in steps if s["kind"] == "driver_linux")
    assert driver["commands"] == [] and "nvidia-580xx-dkms" in " ".join(driver["notes"])  # type: ignore[arg-type]
    mixed = _linux("Fedora 41")
    mixed = replace(mixed, gpus=[replace(mixed.gpus[0], name="NVIDIA GeForce GTX 1080 Ti", compute_capability="6.1"),
                                 replace(mixed.gpus[0], name="NVIDIA GeForce RTX 5090", compute_capability="12.0")])
    from wizard.core.drivers.linux import module_flavour
    flavour, notes = module_flavour(mixed)
    assert flavour == "open" and "GTX 1080 Ti" in notes[0] and "not be usable" in notes[0]


def test_unknown_distribution_and_os_release_id() -> None:
    assert distro_for("Gentoo Linux") is None
    assert distro_for("", os_release_id="rocky")["id"] == "rhel"  # type: ignore[index]
    assert distro_for("Linux Mint 22")["id"] == "ubuntu"  # type: ignore[index]
    steps = _steps(_linux("Gentoo Linux"), which=_no_elevator)
    assert steps[0]["kind"] == "driver_manual" and steps[0]["commands"] == []
    assert "package manager" in " ".join(steps[0]["notes"])  # type: ignore[arg-type]


def test_wsl_never_gets_a_linux_driver_command() -> None:
    m = _profile("wsl2-rtx3060-drv560.json")
    m = replace(m, nvidia_driver=NvidiaDriver(version="516.94", cuda_version="11.7"))
    steps = _steps(m, which=_pkexec_present)
    assert [s["kind"] for s in steps] == ["driver_wsl"]
    assert steps[0]["commands"] == [] and "Do not install a Linux NVIDIA driver" in " ".join(steps[0]["notes"])  # type: ignore[arg-type]


def test_a_fitting_driver_needs_nothing_and_the_toolkit_is_optional() -> None:
    m = _profile("win11-rtx4070-drv566.json")
    plan = make_plan(m)
    plain = installers_for(m, plan)
    assert plain.steps == [] and any("do not need the CUDA toolkit" in n for n in plain.notes)
    tk = installers_for(m, plan, toolkit=True)
    toolkit, cudnn = tk.steps
    cuda = plan.recommended.variant[2:]  # type: ignore[union-attr]
    assert toolkit.kind == "cuda_toolkit" and toolkit.version.replace(".", "").startswith(cuda)  # type: ignore[union-attr]
    assert toolkit.urls[0].endswith("_windows.exe") and toolkit.install_args == ("-s", "-n")
    assert cudnn.cuda_variant == f"cuda{cuda[:2]}" and cudnn.redist_platform == "windows-x86_64"


@pytest.mark.skipif(not (SAMPLES / "cuda_runfile_urls_linux.csv").is_file(), reason="research samples absent")
def test_toolkit_installer_urls_are_known_good_ones() -> None:
    linux_urls = (SAMPLES / "cuda_runfile_urls_linux.csv").read_text()
    windows_urls = (SAMPLES / "cuda_installer_urls_windows.csv").read_text()
    from wizard.core.drivers.toolkit import toolkit_steps
    for variant in ("cu118", "cu124", "cu126", "cu128", "cu129", "cu130", "cu132"):
        assert toolkit_steps(variant, "linux", "x86_64")[0].urls[0] in linux_urls, variant
        assert toolkit_steps(variant, "windows", "x86_64")[0].urls[0] in windows_urls, variant


# --------------------------------------------------------------------------- elevation


def test_windows_elevation_is_powershell_runas_with_quoting() -> None:
    cmd = elevate([r"C:\Users\O'Brien\driver.exe", "-s", "-noreboot"], platform="win32",
                  environ={"SystemRoot": r"C:\Windows"})
    assert cmd.argv[0] == r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
    script = cmd.argv[-1]
    assert r"$si.FileName = 'C:\Users\O''Brien\driver.exe'; $si.Arguments = '-s -noreboot'" in script
    assert "$si.Verb = 'runas'" in script and script.endswith("$p.WaitForExit(); exit $p.ExitCode")


def test_run_executes_the_shown_commands_through_pkexec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    record = tmp_path / "argv.txt"
    fake = bindir / "pkexec"
    fake.write_text(f"#!/bin/sh\necho \"$@\" >> {record}\necho installed $2\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    code = main(["installers", "--machine", str(PROFILES / "ubuntu2404-rtx3060-nodriver.json"), "--run", "--yes"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "$ pkexec ubuntu-drivers install" in out.out + out.err
    assert record.read_text().splitlines() == ["ubuntu-drivers install"]


def test_run_without_a_terminal_needs_yes(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["installers", "--machine", str(PROFILES / "ubuntu2404-rtx3060-nodriver.json"), "--run"])
    assert code == 2 and "--yes" in capsys.readouterr().err


# --------------------------------------------------------------------------- Windows lookup


def _lookup_body(url: str, version: str = "581.57") -> bytes:
    # Our own recorded answer in the shape of docs/SOURCES.md nvidia §4.6 (Success as a string, Name URL-encoded).
    return json.dumps({"Success": "1", "IDS": [{"downloadInfo": {
        "Success": "1", "ID": "240000", "Version": version, "Name": "GeForce%20Game%20Ready%20Driver",
        "ReleaseDateTime": "Tue Oct 14, 2025", "DownloadURL": url, "DownloadURLFileSize": "0.01 MB",
        "DetailsURL": "https://www.nvidia.com/download/driverResults.aspx/240000/en-us/", "IsCRD": "0"}}]}).encode()


def test_gpu_names_and_os_ids() -> None:
    assert normalise_gpu_name("NVIDIA GeForce RTX 4070 Super (TM)") == "GeForce RTX 4070 SUPER"
    assert normalise_gpu_name("NVIDIA GeForce RTX 3060 12GB") == "GeForce RTX 3060"
    assert pfid_for("NVIDIA GeForce RTX 5090") == "1066" and pfid_for("NVIDIA GeForce RTX 9999") is None
    tables = {"desktop": {"GeForce RTX 4060": "1001"}, "notebook": {"GeForce RTX 4060": "1004"}}
    assert pfid_for("NVIDIA GeForce RTX 4060 Laptop GPU", tables) == "1004"
    assert pfid_for("NVIDIA GeForce RTX 4060", tables) == "1001"
    assert windows_osid("10.0.26100") == "135" and windows_osid("10.0.19045") == "57"


@pytest.mark.skipif(not (SAMPLES / "nvidia-data_gpu-data_pfid.json").is_file(), reason="research samples absent")
def test_pfid_lookup_against_the_real_nvidia_data_tables() -> None:
    tables = json.loads((SAMPLES / "nvidia-data_gpu-data_pfid.json").read_text())
    assert pfid_for("NVIDIA GeForce RTX 4090", tables) == "995"
    assert pfid_for("NVIDIA GeForce RTX 3070", tables) == "933"
    osids = {o["name"]: o["id"] for o in json.loads((SAMPLES / "nvidia-data_os-data_osid.json").read_text())}
    assert windows_osid("10.0.22631") == osids["Windows 11"]
    assert windows_osid("10.0.19045") == osids["Windows 10 64-bit"]


def test_lookup_responses_that_find_nothing_or_are_broken() -> None:
    with pytest.raises(WizardError, match="found no driver"):
        parse_lookup_response('{"Success": "0", "IDS": []}')
    with pytest.raises(WizardError, match="did not answer with JSON"):
        parse_lookup_response("<html>maintenance</html>")
    with pytest.raises(WizardError, match="without a version"):
        parse_lookup_response('{"Success": 1, "IDS": [{"downloadInfo": {"Version": "581.57"}}]}')


def _win_no_driver() -> Machine:
    m = _profile("win11-rtx4070-drv566.json")
    return replace(m, nvidia_driver=None, gpus=[replace(m.gpus[0], name="NVIDIA GeForce RTX 4090")])


def test_windows_driver_lookup_download_and_elevated_command(server: LoopbackServer, tmp_path: Path) -> None:
    payload = os.urandom(40_000)
    server.add("/Windows/581.57/581.57-desktop-win10-win11-64bit-international-dch-whql.exe", payload)
    exe_url = server.url("/Windows/581.57/581.57-desktop-win10-win11-64bit-international-dch-whql.exe")
    server.add("/AjaxDriverService.php", _lookup_body(exe_url), "application/json")
    machine = _win_no_driver()
    iplan = installers_for(machine, make_plan(machine), lookup_base=server.url("/AjaxDriverService.php"))
    step = iplan.steps[0]
    assert step.kind == "driver_windows"
    query = parse_qs(urlsplit(step.lookup_url or "").query)
    assert query["pfid"] == ["995"] and query["osID"] == ["135"] and query["func"] == ["DriverManualLookup"]
    assert query["dch"] == ["1"] and query["isWHQL"] == ["1"]
    session = make_session()
    fetched = fetch_installers(iplan, tmp_path / "dl", session, Downloader(session, tmp_path / "cache"))
    assert len(fetched) == 1 and fetched[0].version == "581.57"
    exe = fetched[0].paths[0]
    assert exe.read_bytes() == payload
    cmd = fetched[0].command
    assert cmd is not None and cmd.argv[0].endswith(r"\System32\WindowsPowerShell\v1.0\powershell.exe")
    assert f"$si.FileName = '{exe.resolve()}'; $si.Arguments = '-s -noreboot -noeula'" in cmd.argv[-1]


def test_windows_lookup_pointing_elsewhere_is_refused(server: LoopbackServer, tmp_path: Path) -> None:
    server.add("/AjaxDriverService.php", _lookup_body("https://evil.example/driver.exe"), "application/json")
    machine = _win_no_driver()
    iplan = installers_for(machine, make_plan(machine), lookup_base=server.url("/AjaxDriverService.php"))
    session = make_session()
    with pytest.raises(WizardError, match="not NVIDIA's"):
        fetch_installers(iplan, tmp_path / "dl", session, Downloader(session, tmp_path / "cache"))
    assert not (tmp_path / "dl").exists() or not any((tmp_path / "dl").iterdir())


def test_windows_gpu_without_known_pfid_says_pass_pfid(capsys: pytest.CaptureFixture[str]) -> None:
    machine = _win_no_driver()
    machine = replace(machine, gpus=[replace(machine.gpus[0], name="NVIDIA RTX PRO 9999 Blackwell")])
    step = installers_for(machine, make_plan(machine)).steps[0]
    assert step.lookup_url is None and "--pfid" in " ".join(step.notes)
    with_pfid = installers_for(machine, make_plan(machine), pfid="1234").steps[0]
    assert "pfid=1234" in (with_pfid.lookup_url or "")


# --------------------------------------------------------------------------- CUDA / cuDNN redist


def _component(name: str, version: str, plat: str, data: bytes, nested: str | None = None) -> dict[str, object]:
    rel = f"{name}/{plat}/{name}-{plat}-{version}-archive.tar.xz"
    entry = {"relative_path": rel, "sha256": hashlib.sha256(data).hexdigest(), "md5": "0" * 32,
             "size": str(len(data))}
    return {"name": name, "license": "CUDA Toolkit", "version": version,
            plat: {nested: entry} if nested else entry}


def test_manifest_parsing_cuda_and_cudnn_shapes() -> None:
    cuda = {"release_date": "2025-01-23", "release_label": "12.6.3", "release_product": "cuda",
            "cuda_nvcc": _component("cuda_nvcc", "12.6.85", "linux-x86_64", b"x" * 10)}
    files, notes = parse_redist_manifest(cuda, "https://h/redist/", "linux-x86_64",
                                         components=("cuda_nvcc", "libcublas"))
    assert [(f.component, f.size, f.url) for f in files] == [
        ("cuda_nvcc", 10, "https://h/redist/cuda_nvcc/linux-x86_64/cuda_nvcc-linux-x86_64-12.6.85-archive.tar.xz")]
    assert notes == ["libcublas is not in the 12.6.3 manifest"]
    cudnn = {"release_label": "9.10.0", "cudnn": _component("cudnn", "9.10.0.56", "linux-x86_64", b"y", "cuda12")}
    files, _ = parse_redist_manifest(cudnn, "https://h/", "linux-x86_64", components=("cudnn",), cuda_variant="cuda12")
    assert files[0].sha256 == hashlib.sha256(b"y").hexdigest()
    with pytest.raises(WizardError, match="not in NVIDIA's format"):
        parse_redist_manifest(["nope"], "https://h/", "linux-x86_64")


@pytest.mark.skipif(not (SAMPLES / "redistrib_cudnn_9.10.0.json").is_file(), reason="research samples absent")
def test_manifest_parsing_of_the_real_nvidia_files() -> None:
    cuda = json.loads((SAMPLES / "redistrib_cuda_12.8.0_EXCERPT.json").read_text())
    files, _ = parse_redist_manifest(cuda, "https://h/", "linux-x86_64", components=("cuda_cudart",))
    assert files[0].version == "12.8.57" and files[0].size > 0 and len(files[0].sha256) == 64
    cudnn = json.loads((SAMPLES / "redistrib_cudnn_9.10.0.json").read_text())
    files, _ = parse_redist_manifest(cudnn, "https://h/", "windows-x86_64", components=("cudnn",),
                                     cuda_variant="cuda12")
    assert files[0].relative_path.endswith("_cuda12-archive.zip")


def _serve_toolkit(server: LoopbackServer, version: str, corrupt: str | None = None) -> dict[str, bytes]:
    payloads = {name: os.urandom(20_000 + i) for i, name in enumerate(("cuda_nvcc", "cuda_cudart", "cuda_cccl"))}
    manifest: dict[str, object] = {"release_date": "2026-01-01", "release_label": version, "release_product": "cuda"}
    for name, data in payloads.items():
        comp = _component(name, version, "linux-x86_64", data)
        manifest[name] = comp
        rel = comp["linux-x86_64"]["relative_path"]  # type: ignore[index]
        server.add(f"/redist/{rel}", data if name != corrupt else bytes(len(data)))
    server.add(f"/redist/redistrib_{version}.json", json.dumps(manifest).encode(), "application/json")
    return payloads


def test_toolkit_fetch_through_the_cli(server: LoopbackServer, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    machine = _profile("ubuntu2404-rtx5090-drv590.json")
    version = installers_for(machine, make_plan(machine), toolkit=True).steps[0].version
    assert version
    payloads = _serve_toolkit(server, version)
    dest = tmp_path / "toolkit"
    code = main(["installers", "--machine", str(PROFILES / "ubuntu2404-rtx5090-drv590.json"), "--toolkit",
                 "--fetch", str(dest), "--redist-url", server.url("/redist/"), "--cudnn-url", server.url("/cudnn/"),
                 "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    data = json.loads(out.out)
    fetched = data["fetched"][0]
    assert fetched["kind"] == "cuda_toolkit" and fetched["version"] == version
    assert any("not in the" in n for n in fetched["notes"])   # nvrtc and cublas are not in our small manifest
    for name, payload in payloads.items():
        assert (dest / f"{name}-linux-x86_64-{version}-archive.tar.xz").read_bytes() == payload


def test_toolkit_archive_with_wrong_bytes_never_lands(server: LoopbackServer, tmp_path: Path) -> None:
    machine = _profile("ubuntu2404-rtx5090-drv590.json")
    iplan = installers_for(machine, make_plan(machine), toolkit=True, redist_prefix=server.url("/redist/"))
    iplan.steps = iplan.steps[:1]
    _serve_toolkit(server, iplan.steps[0].version or "", corrupt="cuda_cudart")
    session = make_session()
    with pytest.raises(ChecksumMismatch):
        fetch_installers(iplan, tmp_path / "dl", session, Downloader(session, tmp_path / "cache"))
    assert not list((tmp_path / "dl").glob("cuda_cudart*"))


def test_cli_lists_offline_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["installers", "--machine", str(PROFILES / "ubuntu2404-rtx3060-nodriver.json"), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and [s["kind"] for s in data["steps"]] == ["driver_linux", "reboot"]
    assert data["steps"][0]["commands"][0]["argv"][1:] == ["ubuntu-drivers", "install"]
