"""Fulfillment API, one `router` of five modules: shipments (list, get, pick, scan, pack, ship, cancel), waves
(their pick lists, bins, count tasks and the warehouse's productivity), carriers (dock, rates, labels, manifests,
tracking webhooks), documents (PDF and ZPL) and drop-ship (the vendor's confirmations).

A channel-bound key with `fulfillment:read` sees its own channel's shipments (tracking for its customers) and
nothing else: another channel's shipment answers 404 like an unknown one. Waves, bins, counts and productivity
are the warehouse's (`warehouse:read`), which a channel key cannot hold.
"""

from __future__ import annotations

from fastapi import APIRouter

from ordersmith.fulfillment.routes import carriers, documents, drop_ship, shipments, waves

router = APIRouter(tags=["fulfillment"])
for part in (shipments, waves, carriers, documents, drop_ship):
    router.include_router(part.router)

__all__ = ["router"]
