"""Every machine profile plans right: torch minor, variant, status, actions and per-GPU verdicts.

The shared profiles (tests/profiles/*.json, copied from ../shared/machine-profiles) and the
project's own (tests/profiles/extra/*.json) are planned with the bundled knowledge base only.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wizard.core.knowledge.base import bundled_knowledge, parse_cc
from wizard.core.model.machine import load_profile
from wizard.core.model.plan import Choices
from wizard.core.plan.planner import make_plan

PROFILES = Path(__file__).resolve().parents[1] / "profiles"

# id -> (status, torch minor, variant, action kinds, per-GPU supported flags)
EXPECTED: dict[str, tuple[str, str | None, str | None, list[str], list[bool]]] = {
    # shared profiles
    "fedora41-1080ti-5090-drv580": ("ready", "2.14", "cu130", [], [False, True]),
    "macos15-m3": ("ready", "2.14", "mps", [], [True]),
    "ubuntu2004-4xv100-drv535": ("ready", "2.14", "cu126", [], [True] * 4),
    "ubuntu2204-gtx1080-drv570": ("ready", "2.14", "cu126", [], [True]),
    "ubuntu2404-cpu-only": ("ready", "2.14", "cpu", [], []),
    "ubuntu2404-rtx3060-nodriver": ("action_required", "2.14", "cu130", ["driver_install", "reboot"], [True]),
    "ubuntu2404-rtx5090-drv590": ("ready", "2.14", "cu130", [], [True]),
    "ubuntu2404-rx7900xtx": ("ready", "2.14", "rocm7.2", [], [True]),
    "win10-py38-rtx3080": ("action_required", "2.14", "cu126", ["python_install"], [True]),
    "win11-rtx4070-drv566": ("ready", "2.14", "cu126", [], [True]),
    "win11-rx6800": ("ready", "2.14", "cpu", [], [False]),
    "wsl2-rtx3060-drv560": ("ready", "2.14", "cu126", [], [True]),
    # the project's own
    "ubuntu2404-rtx5090-drv570": ("action_required", "2.14", "cu130", ["driver_update", "reboot"], [True]),
    "macos14-intel-i9": ("ready", "2.2", "cpu", [], [False]),
    "win11-py32bit-rtx4060": ("action_required", "2.14", "cu130", ["python_install"], [True]),
    "win11-py315-rtx4090": ("action_required", "2.14", "cu130", ["python_install"], [True]),
    "centos7-t4-drv535": ("ready", "2.6", "cu118", [], [True]),
    "ubuntu2404-cpu-lowdisk": ("action_required", "2.14", "cpu", ["free_disk"], []),
    "ubuntu2404-rtx3060-restart-pending": ("action_required", "2.14", "cu130", ["reboot"], [True]),
    "ubuntu2404-arc-a770-igpu": ("ready", "2.14", "xpu", [], [True, False]),
    "ubuntu2404-rtx4090-cputorch": ("ready", "2.14", "cu130", [], [True]),
    "ubuntu2004-k80-drv470": ("ready", "2.7", "cu118", [], [True]),
    "wsl2-rtx3060-drv516": ("action_required", "2.14", "cu130", ["driver_update"], [True]),
    "ubuntu2204-rx580": ("ready", "2.14", "cpu", [], [False]),
    "ubuntu2404-gh200-aarch64": ("ready", "2.14", "cu130", [], [True]),
    "debian12-system-python-rtx3090": ("ready", "2.14", "cu126", [], [True]),
    "win11-no-python-rtx3070": ("action_required", "2.14", "cu126", ["python_install"], [True]),
    # Windows environment folders (tests/install/test_windows_environment.py): the build is unchanged
    "win11-longname-longpaths-off-rtx4070": ("ready", "2.14", "cu126", [], [True]),
    "win11-store-python-rtx4070": ("ready", "2.14", "cu126", [], [True]),
    "win11-chinese-user-rtx4070": ("ready", "2.14", "cu126", [], [True]),
    # the GPU catalog's cases (tests/core/test_gpu_plans.py)
    "win11-core-ultra-meteor-lake": ("ready", "2.14", "xpu", [], [True]),
    "ubuntu2404-core-ultra-lunar-lake": ("ready", "2.14", "xpu", [], [True]),
    "ubuntu2204-jetson-agx-orin": ("ready", "2.14", "cpu", [], [False]),
    "ubuntu2404-jetson-agx-thor": ("ready", "2.14", "cu130", [], [True]),
    "win11-rx7900xtx": ("ready", "2.14", "cpu", [], [False]),
    "ubuntu2404-rx6700xt": ("ready", "2.14", "cpu", [], [False]),
    "ubuntu2404-h100-nodriver": ("action_required", "2.14", "cu130", ["driver_install", "reboot"], [True]),
    "ubuntu2404-unknown-nvidia-id": ("action_required", "2.14", "cu130", ["driver_install", "reboot"], [False, True]),
}


def all_profiles() -> list[Path]:
    return sorted(PROFILES.glob("*.json")) + sorted((PROFILES / "extra").glob("*.json"))


def test_every_profile_has_an_expectation() -> None:
    ids = {p.stem for p in all_profiles()}
    assert ids == set(EXPECTED), f"profiles without expectations: {ids ^ set(EXPECTED)}"


@pytest.mark.parametrize("path", all_profiles(), ids=lambda p: p.stem)
def test_profile_plans_right(path: Path) -> None:
    status, minor, variant, actions, supported = EXPECTED[path.stem]
    plan = make_plan(load_profile(path)).to_json()
    assert plan["status"] == status
    rec = plan["recommended"]
    assert rec is not None
    assert ".".join(rec["torch"].split(".")[:2]) == minor
    assert rec["variant"] == variant
    assert [a["kind"] for a in rec["actions"]] == actions
    assert [g["supported"] for g in plan["gpus"]] == supported
    assert all(g["reason"] for g in plan["gpus"]), "every verdict says why"
    assert plan["explanation"], "every plan explains itself"


@pytest.mark.parametrize("path", all_profiles(), ids=lambda p: p.stem)
def test_plan_contract_shape(path: Path) -> None:
    machine = load_profile(path)
    plan = make_plan(machine).to_json()
    assert set(plan) >= {"status", "recommended", "alternatives", "gpus", "warnings", "explanation"}
    assert len(plan["gpus"]) == len(machine.gpus)
    for build in [plan["recommended"], *plan["alternatives"]]:
        assert set(build) >= {"torch", "variant", "device", "index_url", "requirements", "actions"}
        torch_pin = build["requirements"][0]
        assert torch_pin.startswith(f"torch=={build['torch']}")
        if build["device"] not in ("mps",) and machine.os.family != "macos":
            # Local labels pin the exact build, so pip cannot swap CUDA for CPU.
            assert all(r.endswith(f"+{build['variant']}") for r in build["requirements"])
    for alt in plan["alternatives"]:
        assert alt["why_not"]
    json.dumps(plan)  # JSON-ready


def _blackwell_builds(plan: dict) -> list[dict]:
    return [b for b in [plan["recommended"], *plan["alternatives"]] if b and b["device"] == "cuda"]


@pytest.mark.parametrize("path", all_profiles(), ids=lambda p: p.stem)
def test_supported_gpus_have_their_architecture_in_the_build(path: Path) -> None:
    """No GPU marked supported gets a build without its architecture (Blackwell included)."""
    machine = load_profile(path)
    plan = make_plan(machine)
    rec = plan.recommended
    assert rec is not None
    kb = bundled_knowledge()
    release = kb.release(rec.torch)
    assert release is not None
    for gpu, verdict in zip(machine.gpus, plan.gpus, strict=True):
        if verdict.supported and gpu.vendor == "nvidia" and gpu.compute_capability:
            platform = "linux-aarch64" if machine.os.arch == "aarch64" else f"{machine.os.family}-x86_64"
            arch = release.variants[platform][rec.variant]
            assert arch is not None and arch.runs_on(parse_cc(gpu.compute_capability))


def test_blackwell_never_gets_a_build_without_sm120() -> None:
    """Even when the user pins an old release, a Blackwell card is never marked as served by it."""
    machine = load_profile(PROFILES / "ubuntu2404-rtx5090-drv590.json")
    for torch in ("2.6", "2.7", "2.11", "2.14"):
        plan = make_plan(machine, Choices(torch=torch))
        assert plan.recommended is not None
        if plan.recommended.device == "cuda":
            assert plan.recommended.variant not in ("cu118", "cu124", "cu126"), torch
            assert plan.gpus[0].supported
        else:  # 2.6 has no Blackwell build at all: CPU, and the card is marked unsupported
            assert not plan.gpus[0].supported
    forced = make_plan(machine, Choices(variant="cu126"))
    assert forced.recommended is not None and forced.recommended.variant == "cu126"
    assert not forced.gpus[0].supported
    assert "sm_120" in forced.gpus[0].reason or "12.0" in forced.gpus[0].reason


def test_windows_nvidia_always_uses_the_pytorch_cuda_index() -> None:
    for name in ("win11-rtx4070-drv566", "win10-py38-rtx3080"):
        plan = make_plan(load_profile(PROFILES / f"{name}.json"))
        assert plan.recommended is not None
        assert plan.recommended.index_url.startswith("https://download.pytorch.org/whl/cu")
        assert any("CPU-only" in line for line in plan.explanation)


def test_linux_without_gpu_uses_the_cpu_index() -> None:
    plan = make_plan(load_profile(PROFILES / "ubuntu2404-cpu-only.json"))
    assert plan.recommended is not None
    assert plan.recommended.index_url == "https://download.pytorch.org/whl/cpu"
    assert plan.recommended.requirements[0] == "torch==2.14.1+cpu"


def test_wsl_never_gets_a_linux_driver_install() -> None:
    for name in ("wsl2-rtx3060-drv560", "extra/wsl2-rtx3060-drv516"):
        plan = make_plan(load_profile(PROFILES / f"{name}.json"))
        for build in [plan.recommended, *plan.alternatives]:
            assert build is not None
            kinds = [a.kind for a in build.actions]
            assert "driver_install" not in kinds and "reboot" not in kinds
            for action in build.actions:
                if action.kind == "driver_update":
                    assert "Windows" in action.detail and "never install a Linux driver" in action.detail


def test_driver_too_old_offers_both_update_and_build_as_is() -> None:
    plan = make_plan(load_profile(PROFILES / "extra" / "ubuntu2404-rtx5090-drv570.json"))
    assert plan.recommended is not None
    update = plan.recommended.actions[0]
    assert update.kind == "driver_update" and update.min_version == "580.65.06"
    as_is = [a for a in plan.alternatives if not a.actions and a.device == "cuda"]
    assert as_is and as_is[0].torch == "2.11.0" and as_is[0].variant == "cu128"
    assert "works as the machine is now" in (as_is[0].why_not or "")


def test_old_architectures_get_end_of_support_warning() -> None:
    for name in ("ubuntu2204-gtx1080-drv570", "ubuntu2004-4xv100-drv535"):
        plan = make_plan(load_profile(PROFILES / f"{name}.json"))
        assert any("last PyTorch build for this GPU generation" in w for w in plan.warnings), name


def test_mixed_generations_get_a_verdict_each_and_an_alternative_for_the_old_card() -> None:
    plan = make_plan(load_profile(PROFILES / "fedora41-1080ti-5090-drv580.json"))
    old, new = plan.gpus
    assert not old.supported and "no GPU code" in old.reason
    assert new.supported and "sm_120" in new.reason
    for_old = [a for a in plan.alternatives if "GTX 1080 Ti" in (a.why_not or "")]
    assert for_old and for_old[0].variant == "cu126"


def test_companion_missing_picks_older_release_and_says_why() -> None:
    machine = load_profile(PROFILES / "ubuntu2404-cpu-only.json")
    with_vision = make_plan(machine)
    assert with_vision.recommended is not None and with_vision.recommended.torch == "2.14.1"
    assert any("2.15.0" in line and "torchvision" in line for line in with_vision.explanation)
    newer = [a for a in with_vision.alternatives if a.torch == "2.15.0"]
    assert newer and "no torchvision" in (newer[0].why_not or "")
    without = make_plan(machine, Choices(torchvision=False))
    assert without.recommended is not None and without.recommended.torch == "2.15.0"
    assert without.recommended.requirements == ["torch==2.15.0+cpu"]


def test_existing_cpu_torch_is_named_as_replaced() -> None:
    plan = make_plan(load_profile(PROFILES / "extra" / "ubuntu2404-rtx4090-cputorch.json"))
    assert any("CPU-only torch 2.5.1+cpu" in w and "replaced" in w for w in plan.warnings)


def test_python_too_old_offers_new_python_and_build_for_the_old_one() -> None:
    plan = make_plan(load_profile(PROFILES / "win10-py38-rtx3080.json"))
    assert plan.recommended is not None
    assert plan.recommended.actions[0].min_version == "3.12"
    old = [a for a in plan.alternatives if a.torch == "2.4.1"]
    assert old and old[0].variant == "cu124" and not old[0].actions


def test_amd_on_windows_gets_cpu_and_the_reason() -> None:
    plan = make_plan(load_profile(PROFILES / "win11-rx6800.json"))
    assert "Linux only" in plan.gpus[0].reason


def test_too_little_disk_is_an_action_with_numbers() -> None:
    plan = make_plan(load_profile(PROFILES / "extra" / "ubuntu2404-cpu-lowdisk.json"))
    assert plan.recommended is not None
    disk = plan.recommended.actions[0]
    assert disk.kind == "free_disk" and "1 GiB" in disk.detail


def test_glibc_floor_limits_the_release() -> None:
    plan = make_plan(load_profile(PROFILES / "extra" / "centos7-t4-drv535.json"))
    assert any("glibc 2.28" in line for line in plan.explanation)


def test_pinned_choices_are_honoured_and_bad_ones_explained() -> None:
    from wizard.core.errors import ChoiceError

    machine = load_profile(PROFILES / "ubuntu2204-gtx1080-drv570.json")
    plan = make_plan(machine, Choices(torch="2.9"))
    assert plan.recommended is not None and plan.recommended.torch == "2.9.1"
    assert plan.recommended.variant == "cu126"
    with pytest.raises(ChoiceError, match=r"2\.99"):
        make_plan(machine, Choices(torch="2.99"))
    with pytest.raises(ChoiceError, match="cu999"):
        make_plan(machine, Choices(variant="cu999"))


def test_unsupported_platform() -> None:
    machine = load_profile(PROFILES / "win11-rtx4070-drv566.json")
    machine.os = type(machine.os)(family="windows", version="11", arch="arm64")
    plan = make_plan(machine).to_json()
    assert plan["status"] == "unsupported" and plan["recommended"] is None
    assert plan["gpus"] and not plan["gpus"][0]["supported"]


def test_driver_library_mismatch_plans_a_reboot_first() -> None:
    from wizard.core.model.machine import DriverState, DriverStatus

    machine = load_profile(PROFILES / "ubuntu2204-gtx1080-drv570.json")
    machine.driver_status = DriverStatus(DriverState.MISMATCH, "The driver was updated but the old one is still "
                                         "loaded (driver/library version mismatch).", "Restart the computer.")
    plan = make_plan(machine)
    assert plan.status == "action_required"
    assert plan.recommended is not None and plan.recommended.actions[0].kind == "reboot"
    assert "mismatch" in plan.recommended.actions[0].detail


def test_detect_json_round_trips_the_driver_state(tmp_path: Path) -> None:
    from wizard.core.model.machine import DriverState, DriverStatus, machine_from_profile

    machine = load_profile(PROFILES / "ubuntu2404-rtx3060-nodriver.json")
    machine.driver_status = DriverStatus(DriverState.NOT_LOADED, "The driver is installed but not loaded.",
                                         "Secure Boot may have rejected it.", "nvml")
    back = machine_from_profile(json.loads(json.dumps(machine.to_profile())), "x.json")
    assert back.driver_status == machine.driver_status


def test_driver_installed_but_not_loaded_is_not_reinstalled() -> None:
    from wizard.core.model.machine import DriverState, DriverStatus

    machine = load_profile(PROFILES / "ubuntu2404-rtx3060-nodriver.json")
    machine.driver_status = DriverStatus(DriverState.NOT_LOADED, "The NVIDIA driver is installed but not loaded.",
                                         "Secure Boot rejected the unsigned module: enroll the MOK key.")
    plan = make_plan(machine)
    assert plan.recommended is not None
    assert [a.kind for a in plan.recommended.actions] == ["reboot"]
    assert "MOK" in plan.recommended.actions[0].detail


def test_a_pending_restart_holds_back_every_cuda_build() -> None:
    plan = make_plan(load_profile(PROFILES / "extra" / "ubuntu2404-rtx3060-restart-pending.json"))
    cuda = [b for b in ([plan.recommended] if plan.recommended else []) + plan.alternatives if b.device == "cuda"]
    assert cuda and all(b.actions and b.actions[0].kind == "reboot" for b in cuda)
    assert all(not b.actions for b in plan.alternatives if b.device == "cpu")   # the CPU build runs now
