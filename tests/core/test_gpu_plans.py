"""Plans for the machines the GPU catalog work names: structured architecture in ``gpus[]``, Core
Ultra Arc graphics, Jetson, the K80's last build, a GPU the build does not serve, AMD on Windows,
unlisted RDNA cards and unknown PCI ids. Profiles in tests/profiles and tests/profiles/extra."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from wizard.core.model.machine import load_profile
from wizard.core.model.plan import Choices
from wizard.core.plan.planner import make_plan

PROFILES = Path(__file__).resolve().parents[1] / "profiles"
EXTRA = PROFILES / "extra"


def _plan(path: Path, choices: Choices | None = None) -> dict:
    return make_plan(load_profile(path), choices).to_json()


def test_every_gpus_entry_carries_structured_architecture_fields() -> None:
    for path in [*PROFILES.glob("*.json"), *EXTRA.glob("*.json")]:
        for entry in _plan(path)["gpus"]:
            assert {"compute_capability", "gfx_arch", "family", "known_by"} <= set(entry), path.name
            assert entry["known_by"] in (None, "driver", "pci_id", "name")


def test_architecture_is_known_whatever_the_driver_state() -> None:
    with_driver = _plan(PROFILES / "ubuntu2404-rtx5090-drv590.json")["gpus"][0]
    assert (with_driver["compute_capability"], with_driver["family"], with_driver["known_by"]) == \
        ("12.0", "Blackwell", "driver")
    no_driver = _plan(PROFILES / "ubuntu2404-rtx3060-nodriver.json")["gpus"][0]
    assert (no_driver["compute_capability"], no_driver["family"], no_driver["known_by"]) == ("8.6", "Ampere", "pci_id")
    amd = _plan(PROFILES / "ubuntu2404-rx7900xtx.json")["gpus"][0]
    assert (amd["gfx_arch"], amd["family"], amd["compute_capability"]) == ("gfx1100", "RDNA3", None)
    amd_windows = _plan(PROFILES / "win11-rx6800.json")["gpus"][0]  # not usable, still described
    assert (amd_windows["gfx_arch"], amd_windows["family"]) == ("gfx1030", "RDNA2")


def test_h100_known_only_by_an_id_past_the_old_range_is_hopper() -> None:
    plan = _plan(EXTRA / "ubuntu2404-h100-nodriver.json")
    gpu = plan["gpus"][0]
    assert gpu["supported"] and gpu["compute_capability"] == "9.0" and gpu["known_by"] == "pci_id"
    assert "sm_90" in gpu["reason"]
    assert any("inferred from its PCI id" in line for line in plan["explanation"])


def test_an_unknown_pci_id_still_plans_and_a_warning_names_the_id() -> None:
    plan = _plan(EXTRA / "ubuntu2404-unknown-nvidia-id.json")
    assert plan["recommended"]["variant"] == "cu130"
    unknown, ada = plan["gpus"]
    assert not unknown["supported"] and unknown["compute_capability"] is None and unknown["known_by"] is None
    assert ada["supported"] and ada["family"] == "Ada Lovelace"
    assert any("10de:3340" in w and "--variant" in w for w in plan["warnings"])


def test_an_id_no_catalog_lists_falls_back_to_the_name_and_says_so() -> None:
    machine = load_profile(EXTRA / "ubuntu2404-unknown-nvidia-id.json")
    gpu = dataclasses.replace(machine.gpus[0], name="NVIDIA GeForce RTX 4090", pci_id="10de:ffff")
    plan = make_plan(dataclasses.replace(machine, gpus=[gpu])).to_json()
    assert plan["gpus"][0]["compute_capability"] == "8.9" and plan["gpus"][0]["known_by"] == "name"
    assert any("10de:ffff" in w and "taken from the name" in w for w in plan["warnings"])


def test_core_ultra_arc_graphics_get_the_xpu_build_on_windows_and_linux() -> None:
    for name, family in (("win11-core-ultra-meteor-lake", "Xe-LPG (Meteor Lake-H)"),
                         ("ubuntu2404-core-ultra-lunar-lake", "Xe2 (Lunar Lake)")):
        plan = _plan(EXTRA / f"{name}.json")
        assert plan["recommended"]["variant"] == "xpu", name
        assert plan["recommended"]["index_url"].endswith("/xpu")
        gpu = plan["gpus"][0]
        assert gpu["supported"] and gpu["family"] == family and gpu["known_by"] == "pci_id"
        assert any("Intel's GPU driver" in w for w in plan["warnings"]), name


def test_older_intel_integrated_graphics_stay_cpu() -> None:
    machine = load_profile(EXTRA / "ubuntu2404-core-ultra-lunar-lake.json")
    uhd = dataclasses.replace(machine.gpus[0], name="Intel(R) UHD Graphics 770", pci_id="8086:4680")
    plan = make_plan(dataclasses.replace(machine, gpus=[uhd])).to_json()
    assert plan["recommended"]["variant"] == "cpu"
    assert not plan["gpus"][0]["supported"] and plan["gpus"][0]["family"] == "Xe-LP"
    assert not any("XPU" in w for w in plan["warnings"])


def test_jetson_orin_never_gets_server_arm_cuda_wheels() -> None:
    plan = _plan(EXTRA / "ubuntu2204-jetson-agx-orin.json")
    builds = [plan["recommended"], *plan["alternatives"]]
    assert all(b["device"] != "cuda" for b in builds)
    assert plan["recommended"]["variant"] == "cpu"
    gpu = plan["gpus"][0]
    assert not gpu["supported"] and gpu["compute_capability"] == "8.7" and "JetPack" in gpu["reason"]
    assert any("install-pytorch-jetson-platform" in w for w in plan["warnings"])


def test_jetson_thor_gets_a_cuda_13_build_that_carries_sm_110() -> None:
    plan = _plan(EXTRA / "ubuntu2404-jetson-agx-thor.json")
    assert plan["recommended"]["variant"] == "cu130"
    gpu = plan["gpus"][0]
    assert gpu["supported"] and "sm_110" in gpu["reason"] and gpu["compute_capability"] == "11.0"
    # the aarch64 CUDA 12.6 build carries sm_80/sm_90 only: never offered to Thor
    assert all(b["variant"] != "cu126" for b in [plan["recommended"], *plan["alternatives"]])
    assert any("SBSA" in line for line in plan["explanation"])


def test_k80_last_build_comes_from_the_arch_lists() -> None:
    plan = _plan(EXTRA / "ubuntu2004-k80-drv470.json")
    last = [w for w in plan["warnings"] if "last PyTorch build" in w]
    assert len(last) == 1
    assert "torch 2.7 with CUDA 11.8" in last[0] and "torch 2.8 and later" in last[0] and "R470" in last[0]
    assert "12.6" not in last[0] and "R580" not in last[0]


def test_pascal_last_build_and_r580() -> None:
    plan = _plan(PROFILES / "ubuntu2204-gtx1080-drv570.json")
    assert any("torch 2.14 with CUDA 12.6" in w and "R580" in w for w in plan["warnings"])


def test_a_gpu_the_build_does_not_serve_is_a_warning_with_the_way_to_use_it() -> None:
    plan = _plan(PROFILES / "fedora41-1080ti-5090-drv580.json")
    warning = next(w for w in plan["warnings"] if "GTX 1080 Ti" in w)
    assert "not used" in warning and "torch 2.14.1+cu126" in warning
    # nvidia-smi order is PCI bus order: the 1080 Ti is GPU 0, the 5090 GPU 1
    assert "CUDA_DEVICE_ORDER=PCI_BUS_ID" in warning
    assert "CUDA_VISIBLE_DEVICES=0" in warning and "CUDA_VISIBLE_DEVICES=1" in warning


def test_amd_on_windows_gets_the_alternatives_in_honest_words() -> None:
    rdna3 = _plan(EXTRA / "win11-rx7900xtx.json")
    assert rdna3["recommended"]["variant"] == "cpu"
    words = next(w for w in rdna3["warnings"] if "RX 7900 XTX" in w)
    assert "RDNA3" in words and "AMD" in words and "torch-directml" in words and "does not install" in words
    rdna2 = _plan(PROFILES / "win11-rx6800.json")
    words = next(w for w in rdna2["warnings"] if "RX 6800" in w)
    assert "RDNA3 and RDNA4 GPUs only" in words and "torch-directml" in words


def test_an_rdna2_card_rocm_does_not_list_gets_the_unsupported_override_as_words_only() -> None:
    plan = _plan(EXTRA / "ubuntu2404-rx6700xt.json")
    assert plan["recommended"]["variant"] == "cpu"
    assert all(b["device"] != "rocm" for b in [plan["recommended"], *plan["alternatives"]])
    words = next(w for w in plan["warnings"] if "HSA_OVERRIDE_GFX_VERSION" in w)
    assert "HSA_OVERRIDE_GFX_VERSION=10.3.0" in words and "gfx1030" in words
    assert "Unsupported by AMD" in words and "torch 2.14.1+rocm7.2" in words


def test_a_card_no_override_helps_is_named_as_unused() -> None:
    plan = _plan(EXTRA / "ubuntu2204-rx580.json")
    assert any("RX 580" in w and "gfx803" in w and "HSA_OVERRIDE" not in w for w in plan["warnings"])


def test_choosing_the_cpu_build_warns_about_no_gpu() -> None:
    plan = _plan(PROFILES / "fedora41-1080ti-5090-drv580.json", Choices(prefer_cpu=True))
    assert not any("not used" in w for w in plan["warnings"])


# --------------------------------------------------------------------------- data fixes (external-check.md)


def test_aarch64_cuda_builds_before_2_9_are_known() -> None:
    gh200 = load_profile(EXTRA / "ubuntu2404-gh200-aarch64.json")
    for torch, variant, inferred in (("2.5", "cu124", False), ("2.6", "cu126", False), ("2.7", "cu128", True),
                                     ("2.8", "cu129", True)):
        plan = make_plan(gh200, Choices(torch=torch, torchvision=False))
        assert plan.recommended is not None and plan.recommended.variant == variant, torch
        assert plan.gpus[0].supported, torch
        assert plan.recommended.inferred is inferred, torch


def test_the_2_6_aarch64_build_has_hopper_code_only() -> None:
    from wizard.core.knowledge.base import bundled_knowledge

    arch = bundled_knowledge().release("2.6").variants["linux-aarch64"]["cu126"]  # type: ignore[union-attr]
    assert arch is not None and arch.runs_on((9, 0)) == "sass" and arch.runs_on((8, 0)) is None


def test_2_7_cu126_carries_no_ptx_as_measured_on_the_wheel() -> None:
    from wizard.core.knowledge.base import bundled_knowledge

    # torch-2.7.1+cu126's libtorch_cuda.so lists code=sm_50..sm_90 and no code=compute_90 (releases.json
    # source measured-2.7.1): a Blackwell GPU has no way to run it, through PTX or otherwise.
    arch = bundled_knowledge().release("2.7").variants["linux-x86_64"]["cu126"]  # type: ignore[union-attr]
    assert arch is not None and arch.ptx is None and arch.runs_on((12, 0)) is None


def test_python_3_13_on_torch_2_5_is_experimental() -> None:
    machine = load_profile(PROFILES / "ubuntu2404-rtx5090-drv590.json")
    py313 = dataclasses.replace(machine.python, version="3.13.1")  # type: ignore[arg-type]
    plan = make_plan(dataclasses.replace(machine, python=py313), Choices(torch="2.5"))
    assert any("only experimentally" in w and "3.13" in w for w in plan.warnings)
    assert not any("only experimentally" in w for w in make_plan(machine, Choices(torch="2.5")).warnings)


def test_every_maxwell_or_newer_nvidia_id_and_every_rocm_amd_id_gets_its_architecture_in_the_plan() -> None:
    """The issue's 'done when': known only by its PCI id, with no driver, the plan says the architecture."""
    from wizard.core.knowledge import gpu_catalog

    base = load_profile(EXTRA / "ubuntu2404-h100-nodriver.json")
    template = base.gpus[0]
    wrong: list[tuple[str, object, object]] = []
    planned: set[tuple[str, str, str]] = set()
    for vendor, vendor_id in (("nvidia", "10de"), ("amd", "1002")):
        for device, entry in gpu_catalog.pci_table()[vendor].items():
            chip = entry["chip"] or ""
            # One plan per chip code (and per name where one code covers two targets): every id's own
            # chip lookup is checked in test_gpu_catalog.py; this proves the way into the plan.
            key = (vendor, chip, "MI35" if "MI35" in (entry["name"] or "") else "")
            if key in planned:
                continue
            planned.add(key)
            if vendor == "nvidia":
                want = gpu_catalog.nvidia_chip_cc(chip)
                if chip[:2] in ("GK", "") or want is None:  # Kepler, or an unplaced chip (warned about)
                    continue
            else:
                found = gpu_catalog.amd_chip_gfx(chip, entry["name"] or "")
                if found is None:
                    continue  # pre-GCN5 parts: no ROCm
                want = found[0]
            gpu = dataclasses.replace(template, vendor=vendor, name=f"graphics device [{vendor_id}:{device}]",
                                      pci_id=f"{vendor_id}:{device}")
            entry_json = make_plan(dataclasses.replace(base, gpus=[gpu])).to_json()["gpus"][0]
            got = entry_json["compute_capability" if vendor == "nvidia" else "gfx_arch"]
            if got != want or entry_json["known_by"] != "pci_id":
                wrong.append((device, want, got))
    assert wrong == []


def test_panther_lake_gets_xpu_and_on_linux_the_distribution_it_is_validated_on() -> None:
    machine = load_profile(EXTRA / "ubuntu2404-core-ultra-lunar-lake.json")
    ptl = dataclasses.replace(machine.gpus[0], name="Intel(R) Arc(TM) B390 GPU", pci_id="8086:b080")
    linux = make_plan(dataclasses.replace(machine, gpus=[ptl])).to_json()
    assert linux["recommended"]["variant"] == "xpu" and linux["gpus"][0]["family"] == "Xe3 (Panther Lake)"
    assert any("Ubuntu 25.10" in w for w in linux["warnings"])
    lunar = _plan(EXTRA / "ubuntu2404-core-ultra-lunar-lake.json")
    assert not any("validates it on Linux" in w for w in lunar["warnings"])
    windows = load_profile(EXTRA / "win11-core-ultra-meteor-lake.json")
    on_windows = make_plan(dataclasses.replace(windows, gpus=[ptl])).to_json()
    assert on_windows["recommended"]["variant"] == "xpu"
    assert not any("validates it on Linux" in w for w in on_windows["warnings"])


def test_dgx_spark_is_not_taken_for_a_jetson() -> None:
    machine = load_profile(EXTRA / "ubuntu2404-jetson-agx-thor.json")
    spark = dataclasses.replace(machine.gpus[0], name="NVIDIA GB10", pci_id="10de:2e12", integrated=True)
    plan = make_plan(dataclasses.replace(machine, gpus=[spark])).to_json()
    assert plan["recommended"]["device"] == "cuda" and plan["gpus"][0]["compute_capability"] == "12.1"
    assert not any("Jetson" in line for line in plan["explanation"] + plan["warnings"])
