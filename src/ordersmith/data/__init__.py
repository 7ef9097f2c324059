"""Data in and out: bulk imports and streaming bulk exports (CSV, XLSX, Parquet)."""
