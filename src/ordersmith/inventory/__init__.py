"""Inventory: locations, stock levels, the movement ledger, reservations and availability per division."""
