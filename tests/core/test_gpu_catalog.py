"""The GPU catalog: every PCI id in the generated table resolves to the architecture its chip code
implies, the chip code wins over marketing names, and the wrong answers found against public sources
(../shared/research/external-check.md) stay fixed."""

from __future__ import annotations

import importlib.util
import json
import re
import sqlite3
import sys
from pathlib import Path
from types import ModuleType

import pytest

from wizard.core.knowledge import gpu_catalog as cat

ROOT = Path(__file__).resolve().parents[2]
TABLE = cat.pci_table()

# What NVIDIA's chip code prefix says about the architecture (NVIDIA's naming: GK Kepler, GM Maxwell,
# GP Pascal, GV Volta, TU Turing, GA Ampere, AD Ada Lovelace, GH Hopper, GB Blackwell): independent
# of the catalog's chip -> compute capability rules, which must agree with it.
NVIDIA_PREFIX_FAMILY = {"GK": "Kepler", "GM": "Maxwell", "GP": "Pascal", "GV": "Volta", "TU": "Turing",
                        "GA": "Ampere", "AD": "Ada Lovelace", "GH": "Hopper", "GB": "Blackwell"}
CC_MAJOR_FAMILY = {3: "Kepler", 5: "Maxwell", 6: "Pascal", 7: "Volta|Turing", 8: "Ampere|Ada Lovelace",
                   9: "Hopper", 10: "Blackwell", 11: "Blackwell", 12: "Blackwell"}
# Chips pci.ids lists that no public source here places yet: they stay unknown (a warning names the id).
NVIDIA_UNPLACED_CHIPS = {"GB112", "GB120", "GB6"}
# pci.ids entries whose bracket name disagrees with the chip code that leads them: the chip wins.
NVIDIA_NAME_ODDITIES = {"0fc5", "11c7", "13ad", "13ae", "13be", "13bf", "1407"}
# AMD code names and the family their gfx target must be in (LLVM AMDGPU processor table).
AMD_CODENAME_GFX = [(r"Navi 1\d", "gfx101"), (r"Navi 2\d", "gfx103"), (r"Navi 3\d", "gfx110"),
                    (r"Navi 4\d", "gfx120"), (r"Aqua Vanjaram", "gfx94|gfx95"), (r"Aldebaran", "gfx90a"),
                    (r"Arcturus", "gfx908"), (r"Vega \d+", "gfx90"), (r"Phoenix\d?|HawkPoint\d?", "gfx1103"),
                    (r"Strix( Halo)?|Krackan\d?", "gfx115"), (r"Rembrandt", "gfx1035")]


def _nvidia_ids() -> list[str]:
    return sorted(TABLE["nvidia"])


def test_every_nvidia_id_resolves_to_the_architecture_its_chip_code_implies() -> None:
    for device in _nvidia_ids():
        _check_nvidia_id(device)


def _check_nvidia_id(device: str) -> None:
    entry = TABLE["nvidia"][device]
    chip = entry["chip"]
    found = cat.identify("nvidia", "Microsoft Basic Display Adapter", f"10de:{device}")
    if chip in NVIDIA_UNPLACED_CHIPS:
        assert found is not None and found.id_known and found.compute_capability is None
        return
    assert chip is not None, entry
    assert found is not None and found.compute_capability is not None, entry
    assert found.known_by == "pci_id" and found.chip == chip
    assert found.family == NVIDIA_PREFIX_FAMILY[chip[:2]], entry
    assert re.fullmatch(CC_MAJOR_FAMILY[int(found.compute_capability.split(".")[0])], found.family)


def test_a_pci_ids_marketing_name_agrees_with_its_chip_or_the_chip_wins() -> None:
    for device in _nvidia_ids():
        _check_nvidia_name(device)


def _check_nvidia_name(device: str) -> None:
    entry = TABLE["nvidia"][device]
    by_id = cat.identify("nvidia", "", f"10de:{device}")
    bracket = re.search(r"\[(.*)\]", entry["name"] or "")
    if by_id is None or by_id.compute_capability is None or bracket is None:
        return
    by_name = cat.identify("nvidia", bracket.group(1))
    with_both = cat.identify("nvidia", bracket.group(1), f"10de:{device}")
    assert with_both is not None and with_both.compute_capability == by_id.compute_capability
    if device in NVIDIA_NAME_ODDITIES:
        assert by_name is not None and by_name.compute_capability != by_id.compute_capability
    elif by_name is not None and by_name.compute_capability:
        assert by_name.compute_capability == by_id.compute_capability, entry


def test_maxwell_and_newer_nvidia_ids_are_all_known() -> None:
    newer = [d for d, e in TABLE["nvidia"].items() if (e["chip"] or "GK")[:2] != "GK"]
    unknown = [d for d in newer if (cat.infer_nvidia("", f"10de:{d}") is None)]
    assert {TABLE["nvidia"][d]["chip"] for d in unknown} <= NVIDIA_UNPLACED_CHIPS
    assert len(newer) > 600 and len(unknown) <= 6


def test_every_rocm_relevant_amd_id_resolves_to_its_code_names_gfx() -> None:
    checked = [device for device in sorted(TABLE["amd"]) if _check_amd_id(device)]
    assert len(checked) >= 95  # 98 ROCm-relevant code-name entries in torchruntime 2.24.0's table


def _check_amd_id(device: str) -> bool:
    entry = TABLE["amd"][device]
    found = cat.identify("amd", "AMD Radeon Graphics", f"1002:{device}")
    for codename, gfx in AMD_CODENAME_GFX:
        if re.fullmatch(codename, entry["chip"] or ""):
            assert found is not None and found.gfx_arch and found.known_by == "pci_id", entry
            assert re.match(gfx, found.gfx_arch), (entry, found.gfx_arch)
            assert found.family == cat.amd_family(found.gfx_arch)
            return True
    return False


def test_a_chips_family_and_its_gfx_targets_family_agree() -> None:
    for rule in cat._catalog()["amd_chips"]:
        assert cat.amd_family(rule["gfx"]) == rule["family"], rule


def test_intel_arc_ids_get_xpu_and_older_graphics_do_not() -> None:
    for device in sorted(TABLE["intel"]):
        name = TABLE["intel"][device]["name"] or ""
        found = cat.identify("intel", "", f"8086:{device}")
        arc = bool(re.search(r"\bArc\b", name))
        assert cat.intel_xpu("", f"8086:{device}") is arc, name
        if arc:
            assert found is not None and found.family and found.known_by == "pci_id"


@pytest.mark.parametrize(("pci_id", "cc"), [
    ("10de:237e", "9.0"), ("10de:237f", "9.0"), ("10de:23b0", "9.0"), ("10de:23f0", "9.0"),  # GH100 beyond 0x234f
    ("10de:1df5", "7.0"), ("10de:1df6", "7.0"),  # V100 SXM2 16GB, V100S
    ("10de:3182", "10.3"), ("10de:31c2", "10.3"),  # B300, GB300 (GB110)
    ("10de:2b00", "11.0"),  # Jetson AGX Thor (GB10B)
    ("10de:174d", "5.0"), ("10de:174e", "5.0"),  # MX130, MX110 (GM108M)
    ("10de:139a", "5.0"), ("10de:139b", "5.0"),  # GTX 950M, 960M (GM107M)
    ("10de:2822", "8.9"), ("10de:28a3", "8.9"),  # RTX 3050 A Laptop (AD106M, AD107M)
    ("10de:2e12", "12.1"),  # GB10
])
def test_named_wrong_answers_by_pci_id(pci_id: str, cc: str) -> None:
    found = cat.infer_nvidia("NVIDIA graphics device", pci_id)
    assert found is not None and found.compute_capability == cc and found.basis == "PCI device id"


@pytest.mark.parametrize(("name", "cc"), [
    ("NVIDIA GeForce RTX 3050 A Laptop GPU", "8.9"),
    ("NVIDIA GeForce RTX 3050 Laptop GPU", "8.6"),
    ("NVIDIA GeForce GTX 950M", "5.0"), ("NVIDIA GeForce GTX 960M", "5.0"), ("NVIDIA GeForce GTX 960", "5.2"),
    ("Quadro M1200", "5.0"), ("Quadro M2000M", "5.0"), ("Quadro M4000", "5.2"),
    ("NVIDIA Quadro P1000", "6.1"), ("Tesla P100-PCIE-16GB", "6.0"),
    ("Tesla V100S-PCIE-32GB", "7.0"), ("NVIDIA B300", "10.3"), ("NVIDIA Jetson AGX Orin", "8.7"),
    ("NVIDIA Jetson AGX Thor", "11.0"), ("GM107M [GeForce GTX 960M]", "5.0"),
])
def test_named_wrong_answers_by_name(name: str, cc: str) -> None:
    found = cat.infer_nvidia(name)
    assert found is not None and found.compute_capability == cc, name


def test_chip_code_wins_over_the_marketing_name() -> None:
    # pci.ids lists 0x1407 as "GM206 [GeForce GTX 750 v2]": the name alone says Maxwell 5.0, the chip 5.2.
    assert cat.infer_nvidia("NVIDIA GeForce GTX 750", None).compute_capability == "5.0"  # type: ignore[union-attr]
    assert cat.infer_nvidia("NVIDIA GeForce GTX 750", "10de:1407").compute_capability == "5.2"  # type: ignore[union-attr]


@pytest.mark.parametrize(("pci_id", "gfx"), [
    ("1002:7551", "gfx1201"),  # Radeon AI PRO R9700
    ("1002:74a2", "gfx942"),  # Instinct MI308X
    ("1002:75a3", "gfx950"),  # Instinct MI355X (pci.ids: also "Aqua Vanjaram")
    ("1002:73a1", "gfx1030"), ("1002:73a2", "gfx1030"),  # Pro V620, Pro W6900X
    ("1002:7461", "gfx1101"),  # PRO V710
    ("1002:7489", "gfx1102"), ("1002:749f", "gfx1102"), ("1002:7499", "gfx1102"),  # W7500, RX 7500, RX 7400
    ("1002:6861", "gfx900"), ("1002:66a1", "gfx906"),  # Vega 10 / Vega 20 Pro cards
    ("1002:15bf", "gfx1103"), ("1002:1900", "gfx1103"),  # Phoenix, Hawk Point
    ("1002:1681", "gfx1035"), ("1002:1114", "gfx1152"),  # Rembrandt, Krackan
])
def test_named_amd_gaps_are_filled(pci_id: str, gfx: str) -> None:
    assert cat.infer_amd_gfx("AMD Radeon Graphics", pci_id) == gfx


@pytest.mark.parametrize(("pci_id", "name"), [
    ("8086:7d55", "Intel(R) Arc(TM) Graphics"),  # Meteor Lake-H
    ("8086:7d51", "Intel(R) Arc(TM) 140T GPU"),  # Arrow Lake-H
    ("8086:64a0", "Intel(R) Arc(TM) 140V GPU"),  # Lunar Lake
    ("8086:b080", "Intel(R) Arc(TM) B390 GPU"),  # Panther Lake: integrated, though "B390" reads like a card
])
def test_core_ultra_arc_graphics_are_integrated_and_get_xpu(pci_id: str, name: str) -> None:
    found = cat.identify("intel", name, pci_id)
    assert found is not None and found.xpu and found.integrated is True and found.known_by == "pci_id"
    assert not cat.intel_is_discrete(name, pci_id)
    assert cat.intel_xpu(name, None)  # the name alone says so too


def test_older_intel_graphics_stay_without_xpu() -> None:
    for pci_id, name in [("8086:4680", "Intel(R) UHD Graphics 770"), ("8086:9a49", "Intel(R) Iris(R) Xe Graphics"),
                         ("8086:3e92", "Intel(R) UHD Graphics 630")]:
        found = cat.identify("intel", name, pci_id)
        assert found is not None and not found.xpu and found.family in ("Xe-LP", "Gen9"), name


def _top_level_alternatives(pattern: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(pattern):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
    return [*parts, pattern[start:]]


def test_name_patterns_are_anchored_on_word_boundaries() -> None:
    for rule in cat._catalog()["nvidia_name_patterns"] + cat._catalog()["amd_name_patterns"]:
        for alternative in _top_level_alternatives(rule["pattern"]):
            assert alternative.startswith("\\b"), rule["pattern"]
    assert cat.infer_nvidia("Quadro P1000") .compute_capability == "6.1"  # type: ignore[union-attr]
    assert cat.infer_nvidia("GeForce RTX 30500") is None  # no digit run cut in half


# --------------------------------------------------------------------------- the generator


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_gpu_pci_ids", ROOT / "tools" / "gen_gpu_pci_ids.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _fake_db(path: Path, rows: list[tuple[str, str, str, str, int]]) -> None:
    """A database shaped like torchruntime's gpu_pci_ids.db (table pci_ids)."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE pci_ids (vendor_id TEXT, vendor_name TEXT, device_id TEXT, device_name TEXT, "
                     "is_discrete INTEGER)")
        conn.executemany("INSERT INTO pci_ids VALUES (?, ?, ?, ?, ?)", rows)
    conn.close()


def test_generator_reads_the_database_and_extracts_chip_codes(tmp_path: Path) -> None:
    db = tmp_path / "gpu_pci_ids.db"
    _fake_db(db, [
        ("10de", "NVIDIA Corporation", "2504", "GA106 [GeForce RTX 3060 Lite Hash Rate]", 1),
        ("10de", "NVIDIA Corporation", "1df5", "GV100GL [Tesla V100 SXM2 16GB]", 1),
        ("10de", "NVIDIA Corporation", "22a3", "GH100 [H100 NVSwitch]", 1),
        ("1002", "AMD", "7480", "Navi 33 [Radeon RX 7600/7600 XT]", 1),
        ("8086", "Intel", "56a0", "DG2 [Arc A770]", 1),
        ("1af4", "Red Hat", "1050", "Virtio GPU", 1),
    ])
    out = tmp_path / "gpu_pci_ids.json"
    assert _generator().main(["--db", str(db), "--version", "9.9", "--out", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["devices"]["nvidia"] == {"1df5": {"name": "GV100GL [Tesla V100 SXM2 16GB]", "chip": "GV100"},
                                        "2504": {"name": "GA106 [GeForce RTX 3060 Lite Hash Rate]", "chip": "GA106"}}
    assert doc["devices"]["amd"]["7480"]["chip"] == "Navi 33"
    assert doc["devices"]["intel"]["56a0"]["chip"] == "DG2"
    assert "9.9" in doc["source"]["package"] and "MIT" in doc["source"]["licence"]


def test_the_shipped_table_is_the_generators_output() -> None:
    """Re-rendering the shipped document reproduces it byte for byte: nobody edited it by hand."""
    path = ROOT / "wizard" / "data" / "gpu_pci_ids.json"
    text = path.read_text(encoding="utf-8")
    gen = _generator()
    assert gen.render(json.loads(text)) == text
    for vendor, table in json.loads(text)["devices"].items():
        for entry in table.values():
            assert entry["chip"] == gen.chip_code(vendor, entry["name"])
    assert "torchruntime" in (ROOT / "NOTICE").read_text(encoding="utf-8")


def test_every_catalog_rule_names_a_source_the_file_lists() -> None:
    data = cat._catalog()
    listed = set(data["sources"])
    tables = ["nvidia_architectures", "nvidia_chips", "nvidia_name_patterns", "amd_chips", "amd_name_patterns",
              "hsa_override", "intel_chips", "intel_name_patterns"]
    for table in tables:
        for rule in data[table]:
            assert rule["source"] in listed, (table, rule)
    # what only general knowledge says is marked inferred ([I]) in its source line
    assert data["sources"]["intel-gen"].endswith("[I]")
