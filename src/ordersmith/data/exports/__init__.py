"""Streaming bulk exports (CSV, XLSX, Parquet) of orders and lines, customers, stock, purchasing and payments."""
