"""Data in and out: bulk imports (dry run, row errors, all-or-nothing or valid rows only, resumable) and
streaming bulk exports (CSV, XLSX, Parquet)."""
