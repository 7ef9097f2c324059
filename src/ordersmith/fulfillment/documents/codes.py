"""Barcode and QR symbols as module patterns, ready to be drawn as filled rectangles.

python-barcode does the Code 128 encoding (code set choice, shifts, check symbol) and segno the QR encoding; the
PDF draws the modules itself, so symbols are vector, sharp at any printer resolution and byte-identical between
renders. Invariant: a pattern starts and ends with a bar ("1"), so its drawn width is its length in modules.
"""

from __future__ import annotations

from functools import lru_cache

import segno
from barcode.codex import Code128
from barcode.errors import BarcodeError

# segno's error correction level for returns QR codes: M survives a crease or smudge on a packing slip.
QR_ERROR_LEVEL = "m"


@lru_cache(maxsize=1024)
def code128_modules(value: str) -> str | None:
    """Return the Code 128 bars and spaces of `value` as "1"/"0" modules, or None when it cannot be encoded
    (empty, or characters outside ASCII)."""
    if not value or not value.isascii():
        return None
    try:
        built: list[str] = Code128(value, writer=None).build()
    except BarcodeError:
        return None
    return built[0]


@lru_cache(maxsize=64)
def qr_matrix(data: str) -> tuple[tuple[bool, ...], ...]:
    """Return the QR code of `data` as rows of modules (True is dark), without the quiet zone."""
    qr = segno.make(data, error=QR_ERROR_LEVEL, micro=False)
    return tuple(tuple(bool(module) for module in row) for row in qr.matrix)


def runs(modules: str | tuple[bool, ...]) -> list[tuple[int, int]]:
    """The dark runs of a row of modules as (start, length) pairs, so each bar is drawn as one rectangle."""
    result: list[tuple[int, int]] = []
    start: int | None = None
    for index, module in enumerate(modules):
        dark = module == "1" if isinstance(module, str) else module
        if dark and start is None:
            start = index
        elif not dark and start is not None:
            result.append((start, index - start))
            start = None
    if start is not None:
        result.append((start, len(modules) - start))
    return result
