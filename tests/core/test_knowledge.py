"""The knowledge base: bundled data is consistent, inferred facts are marked, refreshed data merges."""

from __future__ import annotations

import json
from pathlib import Path

from wizard.core.knowledge import gpu_catalog
from wizard.core.knowledge.base import ArchSet, bundled_knowledge, load_knowledge, variant_cuda
from wizard.core.model.machine import load_profile
from wizard.core.model.plan import Choices
from wizard.core.plan.planner import make_plan

PROFILES = Path(__file__).resolve().parents[1] / "profiles"


def test_every_release_2_0_to_2_15_is_known_with_sources() -> None:
    kb = bundled_knowledge()
    minors = {r.minor for r in kb.releases}
    assert minors == {f"2.{n}" for n in range(16)}
    for rel in kb.releases:
        assert rel.source and rel.python and rel.glibc_min
        assert "cpu" in rel.variants["linux-x86_64"] and "cpu" in rel.variants["windows-x86_64"]
        for variant, arch in rel.variants["linux-x86_64"].items():
            if variant.startswith("cu"):
                assert arch is not None, (rel.torch, variant)
                assert variant_cuda(variant) in kb.cuda_bundled, variant
            if variant.startswith("rocm"):
                assert variant in kb.rocm_gfx, variant


def test_facts_marked_inferred_in_the_research_are_marked_here() -> None:
    kb = bundled_knowledge()
    # docs/SOURCES.md torch-matrix §1.1: 2.14 ROCm/XPU and all of 2.15's variants are [I].
    assert kb.release("2.14").is_inferred("rocm7.2", "xpu")  # type: ignore[union-attr]
    assert kb.release("2.15").is_inferred("variants")  # type: ignore[union-attr]
    assert kb.release("2.14").torchaudio.inferred  # type: ignore[union-attr]
    assert not kb.release("2.11").inferred  # type: ignore[union-attr]
    assert kb.rocm_gfx["rocm5.7"][1] and not kb.rocm_gfx["rocm6.4"][1]


def test_arch_set_binary_compatibility_rules() -> None:
    cu126 = ArchSet(sass=((5, 0), (6, 0), (7, 0), (7, 5), (8, 0), (8, 6), (9, 0)))
    assert cu126.runs_on((6, 1)) == "sass"      # sm_60 SASS runs on 6.1 (same major)
    assert cu126.runs_on((8, 9)) == "sass"      # sm_86 runs on Ada 8.9
    assert cu126.runs_on((12, 0)) is None       # no Blackwell code, no PTX
    assert cu126.runs_on((3, 7)) is None
    cu130 = ArchSet(sass=((7, 5), (8, 0), (8, 6), (9, 0), (10, 0), (12, 0)), ptx=(12, 0))
    assert cu130.runs_on((12, 1)) == "sass"
    assert cu130.runs_on((13, 0)) == "ptx"      # a future GPU JIT-compiles the PTX
    assert cu130.runs_on((7, 0)) is None        # Volta dropped from CUDA 13 builds


def test_gpu_catalog_infers_from_names_chips_and_pci_ids() -> None:
    guess = gpu_catalog.infer_nvidia("GA106 [GeForce RTX 3060 Lite Hash Rate]", "10de:2504")
    assert guess is not None and guess.compute_capability == "8.6" and guess.architecture == "Ampere"
    assert gpu_catalog.infer_nvidia("Microsoft Basic Display Adapter", "10de:2b85").compute_capability == "12.0"  # type: ignore[union-attr]
    assert gpu_catalog.infer_nvidia("NVIDIA GeForce GTX 1080 Ti", None).compute_capability == "6.1"  # type: ignore[union-attr]
    assert gpu_catalog.infer_nvidia("Totally Unknown", "10de:0001") is None
    assert gpu_catalog.infer_amd_gfx("Navi 31 [Radeon RX 7900 XT/7900 XTX]", "1002:744c") == "gfx1100"
    assert gpu_catalog.infer_amd_gfx("AMD Radeon RX 6800", None) == "gfx1030"
    assert gpu_catalog.intel_is_discrete("Intel(R) Arc(TM) A770 Graphics", None)
    assert gpu_catalog.intel_is_discrete("DG2 [Arc A380]", "8086:56a5")
    assert not gpu_catalog.intel_is_discrete("Intel(R) Arc(TM) Graphics", "8086:7d55")  # Meteor Lake iGPU
    assert not gpu_catalog.intel_is_discrete("Intel UHD Graphics 770", "8086:4680")


def _overlay(tmp_path: Path, projects: dict) -> Path:
    path = tmp_path / "observed_index.json"
    path.write_text(json.dumps({"schema": "observed-index/1", "fetched_at": "2026-12-23T10:00:00Z",
                                "index_base": "https://download.pytorch.org/whl", "projects": projects}))
    return path


def test_refreshed_index_adds_a_new_release_the_planner_uses(tmp_path: Path) -> None:
    tags = ["cp312-cp312-manylinux_2_28_x86_64", "cp312-cp312-win_amd64"]
    path = _overlay(tmp_path, {"torch": {"2.16.0": {"cpu": tags, "cu132": tags}}})
    kb = load_knowledge(path)
    new = kb.release("2.16.0")
    assert new is not None and "cu132" in new.variants["linux-x86_64"]
    assert new.is_inferred("variants")
    machine = load_profile(PROFILES / "ubuntu2404-rtx5090-drv590.json")
    plan = make_plan(machine, Choices(torchvision=False), kb=kb)
    assert plan.recommended is not None and plan.recommended.torch == "2.16.0"
    assert plan.recommended.variant == "cu132"
    # torchvision for 2.16 is unknown: with it requested, the planner stays on a release that has one.
    assert make_plan(machine, kb=kb).recommended.torch == "2.14.1"  # type: ignore[union-attr]
    assert any("refreshed" in line for line in plan.explanation)


def test_refreshed_index_publishes_a_companion(tmp_path: Path) -> None:
    path = _overlay(tmp_path, {"torch": {"2.15.0": {"cpu": ["cp312-cp312-manylinux_2_28_x86_64"]}},
                               "torchvision": {"0.30.0": {"cpu": ["cp312-cp312-manylinux_2_28_x86_64"]}}})
    kb = load_knowledge(path)
    plan = make_plan(load_profile(PROFILES / "ubuntu2404-cpu-only.json"), kb=kb)
    assert plan.recommended is not None
    assert plan.recommended.requirements == ["torch==2.15.0+cpu", "torchvision==0.30.0+cpu"]


def test_damaged_overlay_falls_back_to_bundled_data(tmp_path: Path) -> None:
    path = tmp_path / "observed_index.json"
    path.write_text("{not json")
    kb = load_knowledge(path)
    assert kb.releases == bundled_knowledge().releases
    assert any("ignored" in n for n in kb.notes)


def test_the_size_estimate_is_the_data_download_and_disk_need_per_device() -> None:
    from wizard.core.knowledge.base import load_knowledge

    kb = load_knowledge()
    # a CPU build downloads about 210 MB (torch-2.13.0+cpu is 191,794,682 bytes), not a third of its 2 GiB
    assert kb.size_estimate("cpu") == (0.2, 2.0)
    assert kb.size_estimate("cuda") == (3.0, 9.0)
    for device, need in kb.disk_needs_gib.items():
        download, disk = kb.size_estimate(device)
        assert 0 < download < disk == need
