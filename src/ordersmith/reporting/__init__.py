"""Reporting: the report catalogue (typed parameters, one aggregating query each, typed columns, a chart) and its
renderings as JSON, CSV, XLSX and SVG. Reads every context's tables, read-only (DESIGN.md's one exception)."""
