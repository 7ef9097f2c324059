"""Pricing: one pipeline for every channel — price lists, personalization surcharges, promotions and coupons,
shipping, tax and totals — pure in `rules.py`, fed by loaders in `service.py`."""
