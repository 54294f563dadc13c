"""What a QR code PNG encodes, read back without a decoder: its modules, compared with segno's symbol of a text.

No QR decoder is installed (segno only encodes), so a test reads the image's modules with Pillow and compares
them with the symbol segno makes for the text it expects: equal modules are the same content."""
from __future__ import annotations

import io

import segno
from PIL import Image

BORDER = 4      # qrtoken's quiet zone, in modules


def modules_of_png(png: bytes, scale: int = 8) -> list[list[bool]]:
    """The dark (True) and light modules of a QR code PNG drawn ``scale`` pixels a module with a 4-module border."""
    image = Image.open(io.BytesIO(png)).convert("L")
    size = image.width // scale - 2 * BORDER
    assert image.width == image.height == (size + 2 * BORDER) * scale, "not a square QR image of this scale"
    centre = scale // 2
    return [[image.getpixel(((col + BORDER) * scale + centre, (row + BORDER) * scale + centre)) < 128
             for col in range(size)] for row in range(size)]


def modules_of_text(text: str) -> list[list[bool]]:
    """The modules of the QR code qrtoken draws for ``text`` (error correction M, never Micro QR)."""
    return [[bool(cell) for cell in row] for row in segno.make_qr(text, error="m", boost_error=False).matrix]


def png_encodes(png: bytes, text: str, scale: int = 8) -> bool:
    return modules_of_png(png, scale) == modules_of_text(text)
