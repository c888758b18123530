"""The icon set: rendered from the SVG into PNG sizes and a multi-size .ico that Windows can read.

Fast (no bundle needed): runs ``packaging/icons.py`` into tmp_path and reads the files back with
the formats' own rules (ICONDIR/ICONDIRENTRY, BITMAPINFOHEADER, PNG IHDR).
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "packaging" / "icons.py"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (PNG spec §11.2.2)."""
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def read_ico(data: bytes) -> dict[int, bytes]:
    """``{size: image bytes}`` of an ICO file, checking the directory as Windows reads it."""
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1) and count > 0
    images: dict[int, bytes] = {}
    for i in range(count):
        w, h, colors, _, planes, bits, length, offset = struct.unpack("<BBBBHHII", data[6 + 16 * i: 22 + 16 * i])
        assert w == h and colors == 0 and planes == 1 and bits == 32
        assert offset + length <= len(data)
        images[w or 256] = data[offset: offset + length]
    return images


def test_rendered_set_has_every_size(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], capture_output=True, text=True,
                            env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        data = (tmp_path / "png" / f"torch-gpu-setup-{size}.png").read_bytes()
        assert png_size(data) == (size, size)

    images = read_ico((tmp_path / "torch-gpu-setup.ico").read_bytes())
    assert {16, 24, 32, 48, 256} <= set(images)  # the sizes Windows shell views use
    for size, blob in images.items():
        if blob[:8] == PNG_SIGNATURE:
            assert png_size(blob) == (size, size)
            continue
        header_size, width, height, planes, bits = struct.unpack("<IiiHH", blob[:16])
        assert (header_size, width, height, planes, bits) == (40, size, 2 * size, 1, 32)
        pixels = blob[40: 40 + size * size * 4]
        alphas = pixels[3::4]
        # the mark is drawn on a transparent square: some pixels opaque, the corners clear
        assert max(alphas) == 255 and alphas[0] == 0


def test_committed_icons_match_their_names() -> None:
    for png in sorted((ROOT / "resources" / "png").glob("torch-gpu-setup-*.png")):
        size = int(png.stem.rsplit("-", 1)[1])
        assert png_size(png.read_bytes()) == (size, size), png
    assert 256 in read_ico((ROOT / "resources" / "torch-gpu-setup.ico").read_bytes())


def test_child_environment_hook_restores_the_library_path(tmp_path: Path) -> None:
    """packaging/rthook_child_env.py: the bundle's LD_LIBRARY_PATH is not passed on to children."""
    hook = ROOT / "packaging" / "rthook_child_env.py"
    code = (f"import os, sys; sys._MEIPASS = {str(tmp_path)!r}; exec(open({str(hook)!r}).read()); "
            "print(os.environ.get('LD_LIBRARY_PATH', '<unset>')); print('LD_LIBRARY_PATH_ORIG' in os.environ)")
    cases = [
        ({"LD_LIBRARY_PATH": f"{tmp_path}:/usr/local/lib", "LD_LIBRARY_PATH_ORIG": "/usr/local/lib"}, "/usr/local/lib"),
        ({"LD_LIBRARY_PATH": f"{tmp_path}"}, "<unset>"),  # no original: the bundle's entry is removed
        ({"LD_LIBRARY_PATH": f"{tmp_path}:/opt/x"}, "/opt/x"),
    ]
    for extra, expected in cases:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LD_LIBRARY_PATH")} | extra
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
        if sys.platform.startswith("linux"):
            assert out.split() == [expected, "False"], extra
        else:
            assert out.split()[0] == extra["LD_LIBRARY_PATH"]
