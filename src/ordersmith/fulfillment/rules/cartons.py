"""Cartonization: which box each shipment's units go into (first fit, largest first), and its weight."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Carton:
    code: str
    length_mm: int
    width_mm: int
    height_mm: int
    max_weight_g: int
    tare_g: int = 0

    @property
    def volume(self) -> int:
        return self.length_mm * self.width_mm * self.height_mm


@dataclass(frozen=True)
class Unit:
    sku: str
    weight_g: int
    length_mm: int
    width_mm: int
    height_mm: int

    @property
    def volume(self) -> int:
        return self.length_mm * self.width_mm * self.height_mm

    def fits_in(self, carton: Carton) -> bool:
        mine = sorted((self.length_mm, self.width_mm, self.height_mm))
        box = sorted((carton.length_mm, carton.width_mm, carton.height_mm))
        return all(m <= b for m, b in zip(mine, box, strict=True))


@dataclass
class Box:
    carton: Carton
    units: list[Unit] = field(default_factory=list)

    @property
    def weight_g(self) -> int:
        return self.carton.tare_g + sum(u.weight_g for u in self.units)

    @property
    def filled(self) -> int:
        return sum(u.volume for u in self.units)

    def takes(self, unit: Unit) -> bool:
        return (
            unit.fits_in(self.carton)
            and self.filled + unit.volume <= self.carton.volume
            and self.weight_g + unit.weight_g <= self.carton.max_weight_g
        )


# Boxes a US catalog warehouse stocks; a location's own list can replace them.
STANDARD_CARTONS = (
    Carton("MAILER", 300, 250, 50, 2000, 60),
    Carton("SMALL", 300, 230, 100, 9000, 180),
    Carton("MEDIUM", 400, 300, 200, 18000, 320),
    Carton("LARGE", 600, 400, 400, 27000, 600),
)


class DoesNotFit(Exception):
    """A unit fits no carton (by dimension or weight): it ships in its own packaging."""

    def __init__(self, unit: Unit) -> None:
        super().__init__(f"{unit.sku} fits no carton")
        self.unit = unit


def cartonize(units: list[Unit], cartons: tuple[Carton, ...] = STANDARD_CARTONS) -> list[Box]:
    """Pack units largest first into the open box that takes them, else into an open box moved up to a larger
    carton that holds it all, else a new box of the smallest carton that holds the unit; then shrink every box to
    the smallest carton that holds its whole content. Raises DoesNotFit for a unit no carton takes (packed as-is by
    the packer)."""
    by_size = sorted(cartons, key=lambda c: (c.volume, c.max_weight_g))
    boxes: list[Box] = []
    for unit in sorted(units, key=lambda u: (-u.volume, -u.weight_g, u.sku)):
        box = next((b for b in boxes if b.takes(unit)), None)
        if box is None:  # a larger carton for an open box, before a box of its own
            for open_box in boxes:
                larger = next((c for c in by_size if _holds_all(c, [*open_box.units, unit])), None)
                if larger is not None:
                    open_box.carton, box = larger, open_box
                    break
        if box is None:
            carton = next((c for c in by_size if Box(c).takes(unit)), None)
            if carton is None:
                raise DoesNotFit(unit)
            box = Box(carton)
            boxes.append(box)
        box.units.append(unit)
    for box in boxes:
        box.carton = next(c for c in by_size if _holds_all(c, box.units))
    return boxes


def _holds_all(carton: Carton, units: list[Unit]) -> bool:
    trial = Box(carton)
    for unit in units:
        if not trial.takes(unit):
            return False
        trial.units.append(unit)
    return True
