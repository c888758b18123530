"""Each finding code from a real scenario: a venv with a stand-in torch on a machine profile."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.doctor.conftest import StandIn, find_python, install_stand_in, profile, python_of, write_dist
from wizard.core.doctor.model import CODES, Diagnosis
from wizard.core.doctor.runner import run_doctor

# What CUDA builds report (torch.cuda.get_arch_list()); the lists match wizard/data/releases.json.
ARCH_CU124 = ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"]
ARCH_CU130 = ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120", "compute_120"]
ARCH_CU126 = ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"]


def check(env: Path, machine: str, spec: StandIn | None = None, **kw: object) -> Diagnosis:
    if spec is not None:
        install_stand_in(env, spec)
    return run_doctor(str(python_of(env)), machine=profile(machine), described=True, **kw)  # type: ignore[arg-type]


def only(d: Diagnosis, code: str) -> None:
    assert d.codes() == [code], [f.to_json() for f in d.findings]
    f = d.findings[0]
    assert f.message and f.evidence, f


def test_healthy_environment_has_no_finding(env: Path) -> None:
    d = check(env, "ubuntu2404-cpu-only", StandIn(
        "2.14.1+cpu", companions={"torchvision": ("0.29.1+cpu", ("torch==2.14.1", "numpy"))}))
    assert d.findings == [] and d.healthy and d.fix is None
    assert d.torch_version == "2.14.1+cpu"
    assert d.notes and "not tried" in d.notes[0]   # --machine: the GPU probes are skipped, and said so


def test_a_missing_attribute_is_noted_not_a_crash(env: Path) -> None:
    install_stand_in(env, StandIn("2.14.1+cpu"))
    init = env / "lib"
    stand_in = next(init.glob("python3*/site-packages/torch/__init__.py"))
    stand_in.write_text(stand_in.read_text().replace("backends = _NS()", "_gone = _NS()")
                        .replace("backends.cudnn", "_gone.cudnn"))
    d = check(env, "ubuntu2404-cpu-only")
    assert d.findings == [] and d.healthy
    assert any(n.startswith("Not available in this torch: torch.backends.cudnn.version() (AttributeError")
               for n in d.notes)


def test_no_torch(env: Path) -> None:
    d = check(env, "ubuntu2404-cpu-only")
    only(d, "no_torch")
    assert d.fix is not None and d.fix.requirements[0] == "torch==2.14.1+cpu"
    assert "torch 2.14.1+cpu" in d.findings[0].fix


@pytest.mark.parametrize(("raises", "words", "fix_words"), [
    ("OSError('libcudnn.so.9: cannot open shared object file: No such file or directory')",
     "cuDNN library of this CUDA build is missing (libcudnn.so.9)", "Reinstall the build planned"),
    ("ImportError('libcublas.so.12: cannot open shared object file: No such file or directory')",
     "a CUDA library of this build is missing (libcublas.so.12)", "Reinstall the build planned"),
    ("ImportError('DLL load failed while importing _C: The specified module could not be found.')",
     "a DLL failed to load", "Visual C++ Redistributable"),
    ("ImportError('numpy.core.multiarray failed to import')", "NumPy is of another ABI", 'numpy<2'),
    ("ImportError('/x/libtorch_cuda.so: undefined symbol: ncclCommRegister')", "do not match each other",
     "Reinstall the build planned"),
])
def test_broken_import_names_its_cause(env: Path, raises: str, words: str, fix_words: str) -> None:
    d = check(env, "win11-rtx4070-drv566", StandIn("2.14.1+cu126", raises=raises))
    only(d, "broken_import")
    f = d.findings[0]
    assert f.severity == "error" and words in f.message and fix_words in f.fix
    assert raises.split("(")[1].strip("')")[:20] in f.evidence[0]   # the exception itself is the evidence
    assert d.fix is not None and d.fix.variant.startswith("cu")


def test_broken_import_unrecognised_keeps_the_message(env: Path) -> None:
    d = check(env, "ubuntu2404-cpu-only", StandIn(raises="RuntimeError('something odd happened')"))
    only(d, "broken_import")
    assert "RuntimeError: something odd happened" in d.findings[0].message


def test_interpreter_dying_in_import_torch(env: Path) -> None:
    d = check(env, "win11-rtx4070-drv566", StandIn("2.14.1+cu126", crash=139))
    only(d, "broken_import")
    assert "the interpreter stopped with exit code 139" in d.findings[0].message
    assert d.torch_version == "2.14.1+cu126"          # from the metadata, read by the interpreter probe
    assert d.fix is not None and d.fix.variant.startswith("cu")


def test_numpy_abi_warning_while_torch_imports(env: Path) -> None:
    d = check(env, "ubuntu2404-cpu-only", StandIn(
        stderr="A module that was compiled using NumPy 1.x cannot be run in NumPy 2.1.0 as it may crash."))
    assert d.codes() == ["broken_import"] and d.findings[0].severity == "warning"
    assert "compiled using NumPy 1.x" in d.findings[0].evidence[0] and not d.healthy


def test_cpu_build_on_rtx_4070_gets_a_cuda_build(env: Path) -> None:
    d = check(env, "win11-rtx4070-drv566", StandIn("2.14.1+cpu"))
    only(d, "cpu_build_on_gpu_machine")
    assert "RTX 4070" in d.findings[0].message
    assert d.fix is not None and d.fix.device == "cuda" and d.fix.variant.startswith("cu")
    assert d.fix.requirements[0].startswith("torch==") and "+cu" in d.fix.requirements[0]
    assert not d.fix.actions


def test_cu124_on_rtx_5090_gets_cu128_or_newer(env: Path) -> None:
    d = check(env, "ubuntu2404-rtx5090-drv590", StandIn("2.6.0+cu124", cuda="12.4", arch=ARCH_CU124))
    only(d, "arch_not_compiled")
    assert "sm_120" in d.findings[0].message and "sm_90" in " ".join(d.findings[0].evidence)
    assert d.fix is not None and int(d.fix.variant.removeprefix("cu")) >= 128


def test_cu130_on_gtx_1080_gets_cu126(env: Path) -> None:
    d = check(env, "ubuntu2204-gtx1080-drv570", StandIn("2.14.1+cu130", cuda="13.0", arch=ARCH_CU130))
    # both are true of this pair: CUDA 13 needs the R580 driver, and no sm_6x code is in it
    assert d.codes() == ["driver_too_old", "arch_not_compiled"]
    arch = d.findings[1]
    assert "sm_61" in arch.message
    assert d.fix is not None and d.fix.variant == "cu126" and not d.fix.actions and "sm_61" in arch.fix
    assert d.findings[0].fix == "Install torch 2.14.1+cu126, which runs with this driver."


def test_arch_from_the_knowledge_base_when_torch_reports_none(env: Path) -> None:
    # real torch returns [] from get_arch_list() when no GPU answers (a described machine)
    d = check(env, "ubuntu2204-gtx1080-drv570", StandIn("2.14.1+cu130", cuda="13.0", arch=[]))
    assert d.codes() == ["driver_too_old", "arch_not_compiled"]
    assert "wizard/data/releases.json" in " ".join(d.findings[1].evidence)


def test_rocm_build_without_this_gfx(env: Path) -> None:
    d = check(env, "ubuntu2404-rx7900xtx", StandIn("2.0.1+rocm5.4.2", hip="5.4.22803"))
    only(d, "arch_not_compiled")
    assert "gfx1100" in d.findings[0].message and "Unable to find code object" in d.findings[0].message
    assert d.fix is not None and d.fix.variant.startswith("rocm") and "gfx1100" in d.findings[0].fix


def test_rocm_build_on_a_gfx_no_rocm_build_carries_gets_the_cpu_build(env: Path) -> None:
    d = check(env, "ubuntu2204-rx580", StandIn("2.14.1+rocm7.2", hip="7.2.0"))
    only(d, "arch_not_compiled")
    assert "gfx803" in d.findings[0].message
    assert d.fix is not None and d.fix.device == "cpu"
    assert d.findings[0].fix == "No current PyTorch build has code for gfx803: install torch 2.14.1+cpu, which runs " \
                                "on the processor."


def test_driver_too_old_gets_the_driver_action(env: Path) -> None:
    d = check(env, "ubuntu2404-rtx5090-drv570", StandIn("2.14.1+cu130", cuda="13.0", arch=ARCH_CU130))
    only(d, "driver_too_old")
    f = d.findings[0]
    assert "570.133.07" in f.message and "580" in f.message
    assert d.fix is not None
    driver = [a for a in d.fix.actions if a.kind == "driver_update"]
    runs_now = int(d.fix.variant.removeprefix("cu")) <= 128
    assert driver or runs_now   # the driver action, or a build this driver runs
    assert driver and f.fix == driver[0].detail
    # the build itself is right: only the driver has to change
    assert d.fix_text == "Fix: a driver update, a restart; the installed torch 2.14.1+cu130 then runs as it is."


def test_driver_too_old_seen_at_runtime(env: Path) -> None:
    # the profile's driver looks new enough; torch itself says otherwise when the GPU is tried
    spec = StandIn("2.14.1+cu126", cuda="12.6", arch=ARCH_CU126, available=(
        "import warnings\nwarnings.warn('CUDA initialization: The NVIDIA driver on your system is too old "
        "(found version 11040).')\nreturn False"))
    d = check(env, "win11-rtx4070-drv566", spec, gpu_probes=True)
    only(d, "driver_too_old")
    assert "too old (found version 11040)" in " ".join(d.findings[0].evidence)


def test_cuda_unavailable_without_a_known_reason(env: Path) -> None:
    spec = StandIn("2.14.1+cu126", cuda="12.6", arch=ARCH_CU126,
                   available="raise RuntimeError('CUDA unknown error - this may be due to an incorrectly set up "
                             "environment')")
    d = check(env, "win11-rtx4070-drv566", spec, gpu_probes=True)
    only(d, "cuda_unavailable")
    assert "CUDA unknown error" in d.findings[0].message and "nvidia-smi" in d.findings[0].fix
    assert d.fix is None   # a reinstall would not help: no build is proposed


def test_no_kernel_image_at_runtime(env: Path) -> None:
    spec = StandIn("2.14.1+cu126", cuda="12.6", arch=[], available="return True", capability=(12, 0),
                   device_name="NVIDIA GeForce RTX 5090",
                   op_raises="RuntimeError('CUDA error: no kernel image is available for execution on the device')")
    # knowledge says cu126 has no sm_120 either; both routes name the same code once
    d = check(env, "ubuntu2404-rtx5090-drv590", spec, gpu_probes=True)
    only(d, "arch_not_compiled")


def test_gpu_op_failed(env: Path) -> None:
    spec = StandIn("2.14.1+cu126", cuda="12.6", arch=ARCH_CU126, available="return True",
                   op_raises="RuntimeError('CUDA error: an illegal memory access was encountered')")
    d = check(env, "win11-rtx4070-drv566", spec, gpu_probes=True)
    only(d, "gpu_op_failed")
    assert "illegal memory access" in d.findings[0].message


def test_no_driver(env: Path) -> None:
    d = check(env, "ubuntu2404-rtx3060-nodriver", StandIn("2.14.1+cu130", cuda="13.0", arch=ARCH_CU130))
    only(d, "no_driver")
    assert d.fix is not None and any(a.kind == "driver_install" for a in d.fix.actions)
    assert d.findings[0].fix == next(a.detail for a in d.fix.actions if a.kind == "driver_install")


def test_cuda_build_on_amd_gpu_is_the_wrong_vendor(env: Path) -> None:
    d = check(env, "ubuntu2404-rx7900xtx", StandIn("2.14.1+cu126", cuda="12.6", arch=ARCH_CU126))
    only(d, "wrong_vendor_build")
    assert "CUDA (NVIDIA)" in d.findings[0].message and "RX 7900 XTX" in d.findings[0].message
    assert d.fix is not None and d.fix.variant.startswith("rocm")


def test_rocm_build_on_nvidia_is_the_wrong_vendor(env: Path) -> None:
    d = check(env, "win11-rtx4070-drv566", StandIn("2.14.1+rocm7.2", hip="7.2.0"))
    only(d, "wrong_vendor_build")
    assert d.fix is not None and d.fix.variant.startswith("cu")


def test_mismatched_torchvision_keeps_the_torch_build(env: Path) -> None:
    d = check(env, "ubuntu2404-cpu-only", StandIn(
        "2.14.1+cpu", companions={"torchvision": ("0.28.0+cpu", ("torch==2.13.0",))}))
    only(d, "mismatched_companions")
    f = d.findings[0]
    assert f.message == "torchvision 0.28.0+cpu was built for torch 2.13.0+cpu, but torch 2.14.1+cpu is installed."
    assert d.fix is not None and d.fix.requirements == ["torch==2.14.1+cpu", "torchvision==0.29.1+cpu"]


def test_mismatched_build_label(env: Path) -> None:
    d = check(env, "ubuntu2404-cpu-only", StandIn(
        "2.14.1+cpu", companions={"torchvision": ("0.29.1+cu126", ("torch==2.14.1",))}))
    only(d, "mismatched_companions")
    assert "built for torch 2.14.1+cu126" in d.findings[0].message


def test_torch_py_in_the_working_folder_shadows_torch(env: Path, tmp_path: Path) -> None:
    work = tmp_path / "project"
    work.mkdir()
    (work / "torch.py").write_text("print('my experiments')\n")
    d = check(env, "ubuntu2404-cpu-only", StandIn("2.14.1+cpu"), workdir=str(work))
    only(d, "torch_shadowed")
    f = d.findings[0]
    assert str(work / "torch.py") in f.message and "Rename or remove" in f.fix
    assert d.fix is None and d.fix_text == f.fix
    # the same environment from another folder is healthy: the file was the whole problem
    assert check(env, "ubuntu2404-cpu-only", workdir=str(tmp_path)).findings == []


def test_torch_on_pythonpath_hides_the_environments_own(env: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    install_stand_in(env, StandIn("2.14.1+cu126", cuda="12.6", arch=ARCH_CU126))
    other = tmp_path / "pip-target"   # pip install --target somewhere, put on PYTHONPATH
    other.mkdir()
    (other / "torch").mkdir()
    (other / "torch" / "__init__.py").write_text("__version__ = '2.1.0+cpu'\n")
    write_dist(other, "torch", "2.1.0+cpu")
    monkeypatch.setenv("PYTHONPATH", str(other))
    d = check(env, "win11-rtx4070-drv566", workdir=str(tmp_path))
    only(d, "torch_shadowed")
    assert str(other / "torch" / "__init__.py") in d.findings[0].message
    assert any("site-packages" in e for e in d.findings[0].evidence)


def test_pinned_by_wizard_is_information(env: Path) -> None:
    install_stand_in(env, StandIn("2.14.1+cpu"))
    (env / "torch-gpu-setup-constraints.txt").write_text("# Written by torch-gpu-setup\n-c /etc/x.txt\n"
                                                          "torch==2.14.1+cpu\n")
    d = check(env, "ubuntu2404-cpu-only")
    only(d, "pinned_by_wizard")
    assert d.findings[0].severity == "info" and d.healthy and "torch==2.14.1+cpu" in d.findings[0].message


def _old_venv(tmp_path: Path, minor: str) -> Path:
    python = find_python(minor)
    if python is None:
        pytest.skip(f"no Python {minor} on this machine")
    prefix = tmp_path / f"py{minor}"
    subprocess.run([python, "-m", "venv", "--without-pip", str(prefix)], check=True)
    return prefix


def test_python_too_old_for_current_torch(tmp_path: Path) -> None:
    prefix = _old_venv(tmp_path, "3.8")
    d = check(prefix, "ubuntu2404-cpu-only", StandIn("2.4.1+cpu"))
    only(d, "python_unsupported")
    assert d.findings[0].severity == "warning" and "torch 2.4.1" in d.findings[0].message


def test_python_without_any_torch_wheels(tmp_path: Path) -> None:
    prefix = _old_venv(tmp_path, "3.7")   # no importlib.metadata: the script reads dist-info itself
    install_stand_in(prefix, StandIn("1.13.1+cpu"))
    d = run_doctor(str(python_of(prefix)), machine=profile("ubuntu2404-cpu-only"), described=True)
    assert d.codes() == ["python_unsupported"] and d.findings[0].severity == "error"
    assert d.fix is not None and any(a.kind == "python_install" for a in d.fix.actions)
    assert d.findings[0].fix.startswith("Install Python 3.12")


def test_every_code_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Doctor", 1)[1]
    for code in CODES:
        assert f"`{code}`" in section, code


def test_companion_dist_written_by_helper_is_read(env: Path) -> None:
    # torchaudio is asked for in the fix when the environment had it
    install_stand_in(env, StandIn("2.14.1+cpu", companions={"torchvision": ("0.28.0+cpu", ("torch==2.13.0",))}))
    from tests.doctor.conftest import site_packages
    write_dist(site_packages(env), "torchaudio", "2.11.1+cpu", ("torch==2.14.1",))
    d = check(env, "ubuntu2404-cpu-only")
    assert d.fix is not None and any(r.startswith("torchaudio==") for r in d.fix.requirements)
