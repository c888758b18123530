"""Regenerate ``wizard/data/gpu_pci_ids.json``: every NVIDIA, AMD and Intel GPU PCI id with its name and chip code.

The ids and names come from the GPU database that torchruntime (https://github.com/easydiffusion/torchruntime,
MIT licence, Copyright (c) 2025 easydiffusion) ships in its PyPI package as ``torchruntime/gpu_pci_ids.db``;
torchruntime derives it from pci.ids (https://pci-ids.ucw.cz/, BSD-3-Clause or GPL-2.0-or-later). Only the
facts are taken (vendor id, device id, the pci.ids device name); the chip code is read from the name here,
where pci.ids puts it first ("GA106 [GeForce RTX 3060]", "Navi 31 [Radeon RX 7900 XT]"). What a chip code
means (compute capability, gfx target, Xe generation) is ours, in ``wizard/data/gpus.json``, with sources.

Usage::

    python tools/gen_gpu_pci_ids.py                      # pip-downloads the newest torchruntime
    python tools/gen_gpu_pci_ids.py --wheel torchruntime-2.24.0-py3-none-any.whl
    python tools/gen_gpu_pci_ids.py --db gpu_pci_ids.db --version 2.24.0

The output is sorted and stable: regenerating from the same database gives the same file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "wizard" / "data" / "gpu_pci_ids.json"
DB_IN_WHEEL = "torchruntime/gpu_pci_ids.db"
VENDORS = {"10de": "nvidia", "1002": "amd", "8086": "intel"}
# Entries that are not GPUs a program can compute on (pci.ids lists NVSwitch and PCIe host parts too).
NOT_A_GPU = re.compile(r"NVSwitch|PCIe host", re.IGNORECASE)
# NVIDIA: the chip code leads the name (GK107, GM108M, GA107BM, GV100GL, GB10B, AD104GLM); the
# suffixes M (mobile), GL (professional), GLM, BM name variants of the same chip and are dropped.
_NVIDIA_CHIP = re.compile(r"^(?:G[KMPVHAB]|TU|AD)\d+[A-Za-z]*")
_NVIDIA_SUFFIX = re.compile(r"(?:GLM|GL|BM|M)$")
# AMD: the code name leads the name ("Navi 31", "Vega 10 XT", "Aqua Vanjaram", "Phoenix1", "Strix Halo").
_AMD_CHIP = re.compile(r"^[A-Za-z]+(?: (?:\d+|[A-Z][a-z]+))?\d*")


def chip_code(vendor: str, name: str) -> str | None:
    """The chip code pci.ids puts at the start of a device name, or None when the name starts otherwise."""
    if vendor == "nvidia":
        m = _NVIDIA_CHIP.match(name)
        return _NVIDIA_SUFFIX.sub("", m.group(0)) if m else None
    if vendor == "amd":
        m = _AMD_CHIP.match(name)
        return m.group(0) if m else None
    head = name.split("[", 1)[0].strip()  # Intel: "DG2", "Battlemage G21", "Meteor Lake-P"
    return head if head and head != name.strip() else None


def read_db(path: Path) -> dict[str, dict[str, dict[str, str | None]]]:
    """vendor -> device id -> {"name", "chip"} from torchruntime's SQLite table ``pci_ids``."""
    out: dict[str, dict[str, dict[str, str | None]]] = {v: {} for v in VENDORS.values()}
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT vendor_id, device_id, device_name FROM pci_ids").fetchall()
    for vendor_id, device_id, name in rows:
        vendor = VENDORS.get(str(vendor_id).lower())
        name = str(name).strip()
        if vendor is None or NOT_A_GPU.search(name):
            continue
        out[vendor][str(device_id).lower()] = {"name": name, "chip": chip_code(vendor, name)}
    return out


def _from_wheel(wheel: Path, workdir: Path) -> tuple[Path, str]:
    version = wheel.name.split("-")[1]
    with zipfile.ZipFile(wheel) as zf:
        target = workdir / "gpu_pci_ids.db"
        target.write_bytes(zf.read(DB_IN_WHEEL))
    return target, version


def _download(workdir: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "torchruntime", "--no-deps", "--only-binary=:all:",
                    "-d", str(workdir)], check=True)
    return next(workdir.glob("torchruntime-*.whl"))


def build(db: Path, version: str) -> dict[str, object]:
    """The JSON document written to ``wizard/data/gpu_pci_ids.json``."""
    devices = read_db(db)
    return {
        "schema": "gpu-pci-ids/1",
        "generated_by": "tools/gen_gpu_pci_ids.py",
        "source": {
            "package": f"torchruntime {version} (PyPI), file {DB_IN_WHEEL}",
            "sha256": hashlib.sha256(db.read_bytes()).hexdigest(),
            "licence": "MIT, Copyright (c) 2025 easydiffusion; see NOTICE",
            "derived_from": "pci.ids, https://pci-ids.ucw.cz/ (BSD-3-Clause or GPL-2.0-or-later)",
        },
        "devices": {vendor: dict(sorted(table.items())) for vendor, table in devices.items()},
    }


def render(doc: dict[str, object]) -> str:
    """The document as JSON with one line per device, so a regenerated file diffs by device."""
    head = {k: v for k, v in doc.items() if k != "devices"}
    lines = json.dumps(head, indent=1, ensure_ascii=False)[:-2].splitlines()
    lines[-1] += ","
    lines.append(' "devices": {')
    devices: dict[str, dict[str, object]] = doc["devices"]  # type: ignore[assignment]
    for vi, (vendor, table) in enumerate(devices.items()):
        lines.append(f"  {json.dumps(vendor)}: {{")
        items = [f"   {json.dumps(dev)}: {json.dumps(entry, ensure_ascii=False)}" for dev, entry in table.items()]
        lines.append(",\n".join(items))
        lines.append("  }" + ("," if vi < len(devices) - 1 else ""))
    lines.append(" }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the catalog; returns the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--wheel", type=Path, help="a downloaded torchruntime wheel")
    parser.add_argument("--db", type=Path, help="gpu_pci_ids.db itself (give --version too)")
    parser.add_argument("--version", help="torchruntime version of --db")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.db:
            db, version = args.db, args.version or "unknown"
        else:
            db, version = _from_wheel(args.wheel or _download(work), work)
        doc = build(db, version)
    args.out.write_text(render(doc), encoding="utf-8")
    counts = {v: len(t) for v, t in doc["devices"].items()}  # type: ignore[attr-defined]
    print(f"wrote {args.out}: {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
