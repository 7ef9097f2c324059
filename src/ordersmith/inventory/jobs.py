"""Inventory's scheduled work: releasing expired reservations (web carts)."""

from __future__ import annotations

from typing import Any

from ordersmith.inventory import service
from ordersmith.platform import jobs
from ordersmith.platform.db import UnitOfWork


def _release_expired(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    service.release_expired(uow)


def register() -> None:
    jobs.register("inventory.release_expired_reservations", _release_expired)
    jobs.schedule("release-expired-reservations", kind="inventory.release_expired_reservations", every_s=60)
