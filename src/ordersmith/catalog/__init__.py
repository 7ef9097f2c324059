"""Catalog: items (SKUs), divisions, and — as they come — styles, kits and personalization templates."""
