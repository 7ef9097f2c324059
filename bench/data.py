"""The data issue's benchmark in one command: bulk import, bulk export and the report catalogue at the issue's
scale, each beside its raw baseline in the same run (the figures come from the two benchmarks it runs).

    python -m bench.data --db sqlite|postgres [--rows 100000] [--orders 1000000] [--keep]

1. `bench.data_import --rows N`: 100,000 items and 100,000 customers from CSV and XLSX through the import's dry run
   and apply, beside a raw executemany (SQLite) / COPY (PostgreSQL) of the same rows (goal: >= 0.3x raw).
2. `bench.reports --orders M`: 1,000,000 order lines exported as CSV, XLSX and Parquet (goal: >= 200,000 rows/s to
   CSV, memory flat) and every catalogue report over 1,000,000 orders beside its hand-written SQL (goal: <= 1.5x
   raw and <= 2 s on PostgreSQL). `--keep` keeps the generated orders' database for the next run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rows", type=int, default=100_000, help="rows per import file")
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders for the exports and reports")
    parser.add_argument("--keep", action="store_true", help="keep the reports' database for the next run")
    args = parser.parse_args()
    runs = [
        [sys.executable, "-m", "bench.data_import", "--db", args.db, "--rows", str(args.rows)],
        [sys.executable, "-m", "bench.reports", "--db", args.db, "--orders", str(args.orders)]
        + (["--keep"] if args.keep else []),
    ]
    failed = 0
    for command in runs:
        print(f"# {' '.join(command[2:])}", flush=True)
        failed += subprocess.run(command, check=False).returncode != 0
    print(f"summary: bench.data ran {len(runs)} benchmarks, {failed} failed (their figures above)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
