"""Reading PNGs without Pillow: the signature, chunk CRCs, size and distinct pixel values."""

from __future__ import annotations

import struct
import zlib


def png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    chunks, pos = [], 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + data) == crc, f"bad CRC in {kind!r}"
        chunks.append((kind, data))
        pos += 12 + length
    return chunks


def png_size(png: bytes) -> tuple[int, int]:
    kind, ihdr = png_chunks(png)[0]
    assert kind == b"IHDR"
    width, height = struct.unpack(">II", ihdr[:8])
    return width, height


def png_pixels(png: bytes) -> set[tuple[int, ...]]:
    """The distinct pixel values of an 8-bit RGB(A) PNG (undoing the per-row filters)."""
    chunks = png_chunks(png)
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, interlace) == (8, 0) and colour in (2, 6), "only 8-bit RGB(A), non-interlaced"
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(data for kind, data in chunks if kind == b"IDAT"))
    stride = width * bpp
    prev = bytearray(stride)
    pixels: set[tuple[int, ...]] = set()
    for y in range(height):
        start = y * (stride + 1)
        kind, row = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = row[i - bpp] if i >= bpp else 0
            up, up_left = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if kind == 1:
                row[i] = (row[i] + left) & 0xFF
            elif kind == 2:
                row[i] = (row[i] + up) & 0xFF
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
                row[i] = (row[i] + pred) & 0xFF
        pixels.update(tuple(row[i : i + 3]) for i in range(0, stride, bpp))
        prev = row
    return pixels
