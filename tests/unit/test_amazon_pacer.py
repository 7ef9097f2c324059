"""The pacer of Amazon's one-SKU-a-call operations: slots handed out at the plan's rate after its burst, the same
slots whoever asks from however many threads, a slot given back reused, the rate Amazon states followed, and a 429
emptying the bucket."""

from __future__ import annotations

import threading

import pytest

from ordersmith.channels.connectors.amazon_api import Pacer


class Still:
    """A clock that stands still unless moved (the waits are read, not slept)."""

    def __init__(self) -> None:
        self.at = 100.0

    def now(self) -> float:
        return self.at


@pytest.fixture
def clock() -> Still:
    return Still()


@pytest.fixture
def pacer(clock: Still) -> Pacer:
    paced = Pacer()
    paced.now = clock.now
    return paced


def test_the_burst_goes_at_once_then_one_slot_per_interval(pacer: Pacer) -> None:
    waits = [pacer.take("seller", "patchListingsItem", 5.0, 5.0) for _ in range(8)]
    assert waits == pytest.approx([0, 0, 0, 0, 0, 0.2, 0.4, 0.6])


def test_threads_asking_at_once_share_the_same_slots(pacer: Pacer) -> None:
    waits: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def ask() -> None:
        start.wait()
        for _ in range(10):
            wait = pacer.take("seller", "patchListingsItem", 5.0, 5.0)
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 80 calls: five at once, then one every 0.2 s; no slot given twice, none skipped
    expected = [0.0] * 5 + [0.2 * n for n in range(1, 76)]
    assert sorted(waits) == pytest.approx(expected)


def test_the_bucket_refills_with_time_up_to_the_burst(pacer: Pacer, clock: Still) -> None:
    for _ in range(5):
        pacer.take("seller", "patchListingsItem", 5.0, 5.0)
    clock.at += 0.4  # two slots' worth
    assert [pacer.take("seller", "patchListingsItem", 5.0, 5.0) for _ in range(3)] == pytest.approx(
        [0, 0, 0.2]
    )
    clock.at += 60  # never more than the burst
    assert [pacer.take("seller", "patchListingsItem", 5.0, 5.0) for _ in range(6)] == pytest.approx(
        [0, 0, 0, 0, 0, 0.2]
    )


def test_a_slot_not_used_is_given_back(pacer: Pacer) -> None:
    for _ in range(5):
        pacer.take("seller", "patchListingsItem", 1.0, 5.0)
    assert pacer.take("seller", "patchListingsItem", 1.0, 5.0) == pytest.approx(1.0)
    pacer.give_back("seller", "patchListingsItem")
    assert pacer.take("seller", "patchListingsItem", 1.0, 5.0) == pytest.approx(1.0)


def test_the_stated_rate_is_followed_and_a_429_empties_the_bucket(pacer: Pacer) -> None:
    assert pacer.take("seller", "patchListingsItem", 5.0, 5.0) == 0
    pacer.learn("seller", "patchListingsItem", 10.0)  # Amazon states a higher plan
    for _ in range(3):
        pacer.take("seller", "patchListingsItem", 5.0, 5.0)
    assert pacer.take("seller", "patchListingsItem", 5.0, 5.0) == 0  # the fifth of the burst
    assert pacer.take("seller", "patchListingsItem", 5.0, 5.0) == pytest.approx(0.1)
    other = Pacer()
    other.now = pacer.now
    assert other.take("seller", "patchListingsItem", 5.0, 5.0) == 0
    other.learn("seller", "patchListingsItem", None, throttled=True)  # refused: someone else spends the plan
    assert other.take("seller", "patchListingsItem", 5.0, 5.0) == pytest.approx(0.2)


def test_sellers_and_operations_have_buckets_of_their_own(pacer: Pacer) -> None:
    for _ in range(5):
        pacer.take("seller", "patchListingsItem", 5.0, 5.0)
    assert pacer.take("other-seller", "patchListingsItem", 5.0, 5.0) == 0
    assert pacer.take("seller", "getListingsItem", 5.0, 5.0) == 0
    assert pacer.take("seller", "patchListingsItem", 5.0, 5.0) == pytest.approx(0.2)
