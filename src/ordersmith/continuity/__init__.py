"""Continuity programs: subscriptions and auto-ship — a program item every N weeks or a series in order, each
shipment an order placed through checkout on its date (ADR 0032)."""
