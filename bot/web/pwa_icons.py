"""Draw the app icons of the installable chat (PNG), without any image library or download.

    python -m bot.web.pwa_icons        # (re)writes bot/web/static/icons/*.png

The design is the favicon's: a white arrow on the Koers blue. "any" icons have rounded
corners; the "maskable" icon fills the square and keeps the arrow inside the safe zone (the
middle 80 %), so a phone may cut it to a circle or a squircle. Drawn with 4x4 supersampling
and written with zlib; the output is the same on every machine.
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

ICON_DIR = Path(__file__).resolve().parent / "static" / "icons"
BLUE = (0x0B, 0x4F, 0x8A)
WHITE = (0xFF, 0xFF, 0xFF)
# The favicon's arrow in a 32x32 box: M16 5 L22 24 L16 20 L10 24 Z.
ARROW = ((16.0, 5.0), (22.0, 24.0), (16.0, 20.0), (10.0, 24.0))
ICONS = {
    "koers-192.png": (192, False),
    "koers-512.png": (512, False),
    "koers-maskable-512.png": (512, True),
}
SAMPLES = 4


def _inside(x: float, y: float, polygon: tuple[tuple[float, float], ...]) -> bool:
    inside = False
    j = len(polygon) - 1
    for i, (xi, yi) in enumerate(polygon):
        xj, yj = polygon[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def _in_rounded_square(x: float, y: float, size: float, radius: float) -> bool:
    cx = min(max(x, radius), size - radius)
    cy = min(max(y, radius), size - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius**2


def render(size: int, maskable: bool) -> bytes:
    """RGBA pixels of one icon."""
    # The arrow in pixel coordinates: the favicon's 32-unit box, scaled; maskable icons keep
    # it well inside the safe zone.
    scale = size / 32 * (0.72 if maskable else 1.0)
    offset = (size - 32 * scale) / 2
    arrow = tuple((offset + x * scale, offset + (y + 0.5) * scale) for x, y in ARROW)
    radius = size * 6 / 32
    rows = bytearray()
    step = 1 / SAMPLES
    for py in range(size):
        rows.append(0)  # PNG filter type 0 for this row
        for px in range(size):
            background = white = 0
            for sy in range(SAMPLES):
                for sx in range(SAMPLES):
                    x, y = px + (sx + 0.5) * step, py + (sy + 0.5) * step
                    if not maskable and not _in_rounded_square(x, y, size, radius):
                        continue
                    background += 1
                    if _inside(x, y, arrow):
                        white += 1
            total = SAMPLES * SAMPLES
            if background == 0:
                rows += b"\x00\x00\x00\x00"
                continue
            share = white / background
            rgb = [round(b + (w - b) * share) for b, w in zip(BLUE, WHITE, strict=True)]
            rows += bytes(rgb) + bytes([round(255 * background / total)])
    return bytes(rows)


def png(size: int, pixels: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels, 9))
        + chunk(b"IEND", b"")
    )


def build(directory: Path = ICON_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (size, maskable) in ICONS.items():
        path = directory / name
        path.write_bytes(png(size, render(size, maskable)))
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in build():
        print(f"{written_path} ({written_path.stat().st_size} bytes)")
    sys.exit(0)
