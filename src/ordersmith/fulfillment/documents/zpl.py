"""ZPL II for Zebra-compatible thermal printers at 203 dpi: the 4 x 6 in shipping label and the bin label.

Invariant: a label is ASCII from `^XA` to `^XZ`, and no field can inject a command. Every field is sent with
`^FH\\` and its `^`, `~`, `\\`, control and non-ASCII characters as `\\HH` hex escapes (the label selects UTF-8
with `^CI28`, so a non-ASCII letter is its UTF-8 bytes). Text passes through `printable` first, since the
printer's scalable font has Latin-1 glyphs but no emoji. Barcodes use `^BC` Code 128 in automatic mode (the
printer picks code sets; every ASCII character is data, with no `>` invocation codes to escape).
"""

from __future__ import annotations

from .codes import code128_modules
from .model import Party
from .text import address_lines, printable

DOTS_PER_INCH = 203
LABEL_WIDTH_DOTS = 4 * DOTS_PER_INCH  # 812
LABEL_LENGTH_DOTS = 6 * DOTS_PER_INCH  # 1218
BIN_LABEL_LENGTH_DOTS = 2 * DOTS_PER_INCH  # 406
MARGIN_DOTS = 30
_ESCAPED = frozenset("^~\\")


def field_data(text: str) -> str:
    """`text` as the hex-escaped data of a `^FH\\` field: `^` -> `\\5E`, `~` -> `\\7E`, `\\` -> `\\5C`."""
    parts: list[str] = []
    for char in text:
        if char in _ESCAPED or not (" " <= char <= "~"):
            parts.extend(f"\\{byte:02X}" for byte in char.encode("utf-8"))
        else:
            parts.append(char)
    return "".join(parts)


def _text(x: int, y: int, size: int, text: str, *, width: int, lines: int = 1) -> str:
    # ^FB keeps the text inside `width` dots (wrapping to at most `lines` lines) so it never runs off the label.
    escaped = field_data(printable(text).replace("\n", " "))
    return f"^FO{x},{y}^A0N,{size},{size}^FB{width},{lines},0,L^FH\\^FD{escaped}^FS"


def _module_dots(value: str, available: int) -> int:
    """The widest bar module (^BY, 2-4 dots) at which `value` plus its quiet zones fits `available` dots."""
    modules = code128_modules(value)
    count = (len(modules) if modules else 11 * (len(value) + 3) + 2) + 20
    for dots in (4, 3, 2):
        if count * dots <= available:
            return dots
    return 1


def _barcode(x: int, y: int, height: int, value: str, *, available: int) -> str:
    by = _module_dots(value, available)
    return f"^FO{x},{y}^BY{by}^BCN,{height},Y,N,N,A^FH\\^FD{field_data(value)}^FS"


def _line(y: int, width: int = LABEL_WIDTH_DOTS) -> str:
    return f"^FO0,{y}^GB{width},3,3^FS"


def shipping_label_zpl(
    *,
    ship_from: Party,
    ship_to: Party,
    service: str,
    tracking_number: str,
    package_number: int = 1,
    package_count: int = 1,
    reference: str | None = None,
    weight_g: int | None = None,
) -> str:
    """A 4 x 6 in shipping label: ship-from, ship-to, service, the tracking number as a Code 128 barcode, the
    reference and "package n of m".

    Raises:
        ValueError: when the package number is not between 1 and the package count.
    """
    if not 1 <= package_number <= package_count:
        raise ValueError(f"package {package_number} of {package_count} is not a package of this shipment")
    width = LABEL_WIDTH_DOTS - 2 * MARGIN_DOTS
    commands = ["^XA", "^CI28", f"^PW{LABEL_WIDTH_DOTS}", f"^LL{LABEL_LENGTH_DOTS}", "^LH0,0"]
    commands.append(_text(MARGIN_DOTS, 24, 22, "FROM", width=200))
    for index, line in enumerate(address_lines(ship_from)[:6]):
        commands.append(_text(MARGIN_DOTS, 50 + 24 * index, 22, line, width=500))
    commands.append(_text(560, 24, 40, f"{package_number} of {package_count}", width=222))
    if weight_g is not None:
        commands.append(_text(560, 74, 28, f"{weight_g} g", width=222))
    commands.append(_line(200))
    commands.append(_text(MARGIN_DOTS, 216, 26, "SHIP TO", width=200))
    # Seven lines of 44 dots fill the band down to the service line; an eighth would print over it.
    for index, line in enumerate(address_lines(ship_to)[:7]):
        commands.append(_text(MARGIN_DOTS + 20, 250 + 44 * index, 38, line, width=width - 20))
    commands.append(_line(570))
    commands.append(_text(MARGIN_DOTS, 590, 56, service, width=width))
    commands.append(_line(660))
    commands.append(_text(MARGIN_DOTS, 680, 24, "TRACKING", width=200))
    commands.append(_barcode(MARGIN_DOTS + 10, 715, 220, tracking_number, available=width))
    commands.append(_line(1000))
    if reference:
        commands.append(_text(MARGIN_DOTS, 1020, 30, f"Ref: {reference}", width=width, lines=2))
    commands.append("^XZ")
    return "\n".join(commands) + "\n"


def bin_label_zpl(
    bin_code: str,
    *,
    zone: str | None = None,
    aisle: str | None = None,
    bay: str | None = None,
    level: str | None = None,
) -> str:
    """A 4 x 2 in bin label: the bin code large, its Code 128 barcode, and its zone/aisle/bay/level."""
    width = LABEL_WIDTH_DOTS - 2 * MARGIN_DOTS
    commands = ["^XA", "^CI28", f"^PW{LABEL_WIDTH_DOTS}", f"^LL{BIN_LABEL_LENGTH_DOTS}", "^LH0,0"]
    commands.append(_text(MARGIN_DOTS, 20, 80, bin_code, width=width))
    labelled = (("Zone", zone), ("Aisle", aisle), ("Bay", bay), ("Level", level))
    location = "  ".join(f"{name} {value}" for name, value in labelled if value)
    if location:
        commands.append(_text(MARGIN_DOTS, 110, 30, location, width=width))
    commands.append(_barcode(MARGIN_DOTS + 10, 160, 170, bin_code, available=width))
    commands.append("^XZ")
    return "\n".join(commands) + "\n"
