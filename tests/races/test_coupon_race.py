"""Fifty shoppers redeem a ten-use coupon at once through a real server: exactly ten succeed."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from ordersmith.platform.db import UnitOfWork
from ordersmith.pricing import service as pricing
from ordersmith.pricing.service import PromotionInput
from tests.builders import make_api_key
from tests.support.server import running_server


def test_fifty_concurrent_redemptions_of_a_ten_use_coupon_count_exactly_ten(
    db_url: str, uow: UnitOfWork, tmp_path: Path
):
    from decimal import Decimal

    from ordersmith.kernel.money import Money

    ten_off = PromotionInput(code="TEN", name="Ten off", kind="order_amount_off", amount=Money(Decimal(10), "USD"),
                             coupon_required=True)  # fmt: skip
    pricing.create_promotion(uow, promotion=ten_off)
    pricing.create_coupon(uow, code="FIRST10", promotion="TEN", max_uses=10)
    key = make_api_key(uow, scopes=["pricing:redeem"]).secret
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(50)

    def redeem(n: int) -> None:
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            response = client.post(f"{server.url}/api/v1/coupons/FIRST10/redemptions", json={"key": f"order-{n}"},
                                   headers={"Authorization": f"Bearer {key}"})  # fmt: skip
        with lock:
            statuses.append(response.status_code)

    with running_server(db_url, tmp_path / "server.log") as server:
        threads = [threading.Thread(target=redeem, args=(n,)) for n in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert (statuses.count(201), statuses.count(409)) == (10, 40), statuses
    # and the count stored is exactly the limit: one more redemption is refused
    try:
        pricing.redeem_coupon(uow, code="FIRST10", key="late")
        raise AssertionError("an eleventh redemption was counted")
    except pricing.CouponExhausted:
        pass
