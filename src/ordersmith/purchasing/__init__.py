"""Purchasing: vendors and what they sell us, purchase orders and their receipts, replenishment suggestions."""
