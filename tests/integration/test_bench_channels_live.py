"""`python -m bench.channels_live` at a tiny size on SQLite: a real `ordersmith serve`, the four channel stubs, and
every figure the issue asks for printed, with one order per channel order, every duplicate dropped, every stock
change reaching every channel and the POS queue synced once."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from bench import channels_live

pytestmark = pytest.mark.slow


def _figures(out: str) -> dict[str, str]:
    return dict(re.findall(r"^(\w+): (.*)$", out, flags=re.MULTILINE))


def test_the_live_channels_benchmark_prints_every_figure_at_a_tiny_size() -> None:
    # when it runs as a user runs it (a process of its own: its event loops never meet one a test left running)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.channels_live",
            "--db",
            "sqlite",
            "--orders",
            "8",
            "--changes",
            "24",
            "--pos-sales",
            "4",
            "--skus",
            "4",
            "--senders",
            "4",
        ],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=600,
    )
    # then
    assert done.returncode == 0, done.stderr[-3000:]
    figures = _figures(done.stdout)
    assert figures["inbound_orders"] == "8 orders"
    for channel in channels_live.CHANNELS:
        assert figures[f"{channel}_orders"].startswith("2 orders of 2 ("), figures[f"{channel}_orders"]
        assert figures[f"{channel}_orders"].endswith(", 0 made twice)")
        assert figures[f"{channel}_lag_p99"].endswith(" s")
        assert figures[f"{channel}_calls"].endswith(", 0 changes never arrived)")
    assert figures["webhook_answers"] == "4 new, 4 duplicate, 0 refused"
    assert figures["deliveries"] == "12 deliveries"  # pushed twice (2 x 4), polled once (4)
    assert figures["duplicates_dropped"] == "4 deliveries"
    assert figures["stock_changes"] == "24 changes over 4 items, window 1 s"
    assert figures["pos_orders"] == "4 orders (0 flagged)"
    assert figures["pos_second_sync_added"] == "0 orders (4 replayed)"
    assert "one per channel order: True" in figures["summary"]
