"""Render the icon set from ``resources/torch-gpu-setup.svg``: PNG sizes and a multi-size ``.ico``.

``python packaging/icons.py [--out DIR]`` (default ``resources/``). The rendered files are
committed, so a build does not need this step; run it after editing the SVG. Rendering uses
PySide6's QSvgRenderer (QtSvg ships in PySide6-Essentials, already a dependency), so no other
image library is needed.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SVG = ROOT / "resources" / "torch-gpu-setup.svg"
NAME = "torch-gpu-setup"
# freedesktop hicolor sizes in common use (Icon Theme Specification) plus 512 for HiDPI launchers.
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
# The sizes Windows picks from for the taskbar, Explorer views and the title bar (Microsoft
# "Icons" design guidance: 16, 24, 32, 48 and 256); 64 and 128 help scaled displays.
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def png_path(out: Path, size: int) -> Path:
    """Where the PNG of ``size`` pixels goes."""
    return out / "png" / f"{NAME}-{size}.png"


def _render(svg: Path, size: int) -> object:
    """The SVG rendered into a square ARGB32 QImage of ``size`` pixels (transparent background)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    if QGuiApplication.instance() is None:
        _render.app = QGuiApplication([])  # type: ignore[attr-defined]  # kept alive for later calls
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def _bmp_entry(image: object, size: int) -> bytes:
    """An ICO image entry in the classic DIB form: BITMAPINFOHEADER, BGRA rows bottom-up, AND mask.

    DIB entries load everywhere (Explorer, Inno Setup, resource compilers); only 256 px is
    stored as PNG, which Windows Vista and later read (Microsoft "ICO" format notes).
    """
    # Format_ARGB32 is 0xAARRGGBB per pixel: little-endian memory order is B, G, R, A, as a DIB wants.
    raw = bytes(image.constBits())  # type: ignore[attr-defined]
    stride = image.bytesPerLine()  # type: ignore[attr-defined]
    rows = [raw[y * stride: y * stride + size * 4] for y in range(size)]
    pixels = b"".join(reversed(rows))
    mask_stride = ((size + 31) // 32) * 4  # 1 bit a pixel, rows padded to 32 bits
    mask = bytes(mask_stride * size)  # all zero: the alpha channel decides transparency
    # BITMAPINFOHEADER: the height counts the XOR and AND bitmaps together, hence 2 * size.
    header = struct.pack("<IiiHHIIiiII", 40, size, 2 * size, 1, 32, 0, len(pixels) + len(mask), 0, 0, 0, 0)
    return header + pixels + mask


def _png_bytes(image: object) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[attr-defined]
    buffer.close()
    return bytes(data.data())


def write_ico(path: Path, entries: dict[int, bytes]) -> None:
    """Write an ICO file (ICONDIR + ICONDIRENTRY per image) from ``{size: image bytes}``."""
    count = len(entries)
    offset = 6 + 16 * count
    directory = struct.pack("<HHH", 0, 1, count)  # reserved, type 1 = icon, image count
    blobs = b""
    for size, blob in sorted(entries.items()):
        dim = 0 if size >= 256 else size  # a 0 byte means 256 in ICONDIRENTRY
        directory += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(blob), offset + len(blobs))
        blobs += blob
    path.write_bytes(directory + blobs)


def render_all(out: Path, svg: Path = SVG) -> list[Path]:
    """Render every PNG size and the ``.ico`` into ``out``; returns the files written."""
    written: list[Path] = []
    (out / "png").mkdir(parents=True, exist_ok=True)
    images = {size: _render(svg, size) for size in sorted(set(PNG_SIZES) | set(ICO_SIZES))}
    for size in PNG_SIZES:
        target = png_path(out, size)
        target.write_bytes(_png_bytes(images[size]))
        written.append(target)
    ico = out / f"{NAME}.ico"
    write_ico(ico, {size: (_png_bytes(images[size]) if size >= 256 else _bmp_entry(images[size], size))
                    for size in ICO_SIZES})
    written.append(ico)
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: render the icon set."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--svg", type=Path, default=SVG, help="the SVG source")
    parser.add_argument("--out", type=Path, default=ROOT / "resources", help="where the icons go")
    args = parser.parse_args(argv)
    for path in render_all(args.out, args.svg):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
