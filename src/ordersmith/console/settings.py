"""The policies screen: the fraud-hold thresholds per currency and channel, and the return window and restocking
fee, as the admin sets them (`platform.policies`). Managers read it (`settings:read`); admins change it
(`settings:write`). A change is checked by the policy's own rule — a refusal shows the form again with the reason
beside each input it names, what was typed kept, nothing changed — audited with before and after, and applied by
every process from its next request on.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.console._forms import Refusal, posted, refused
from ordersmith.console._pages import principal_for, render
from ordersmith.kernel.errors import OrdersmithError
from ordersmith.orders.service.policies import HOLDS, RETURNS
from ordersmith.platform import policies
from ordersmith.platform.http import unit_of_work

router = APIRouter(include_in_schema=False)
READ, WRITE = "settings:read", "settings:write"
SPARE_ROWS = 2  # empty threshold rows offered for a new currency or channel


def _page(request: Request, *, refusal: Refusal | None = None, done: str = "") -> Response:
    principal = principal_for(request, READ)
    found = {p.key: p for p in policies.list_policies(unit_of_work(request))}
    return render(request, "settings.html", principal, status=refusal.status if refusal else 200,
                  holds=found[HOLDS], returns=found[RETURNS], spare=SPARE_ROWS,
                  refusal=refusal, done=done, can_write=principal.can(WRITE))  # fmt: skip


@router.get("/admin/settings")
def settings_page(request: Request, done: str = "") -> Response:
    return _page(request, done=done[:200])


def _whole(text: str) -> int | str:
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else text


def _thresholds(typed: dict[str, str]) -> dict[str, Any]:
    """The rows typed (`t<n>_currency`, …), blank rows left out."""
    rows = []
    numbers = sorted({int(k[1:].partition("_")[0]) for k in typed if k.startswith("t") and k[1:2].isdigit()})
    for n in numbers:
        row = {name: typed.get(f"t{n}_{name}", "") for name in ("currency", "channel", "high_value",
                                                                  "first_order_limit")}  # fmt: skip
        if any(row.values()):
            rows.append(row)
    return {"thresholds": rows}


@router.post("/admin/settings/{key}")
async def change(request: Request, key: str) -> Response:
    _, _, typed = await posted(request, WRITE)
    if key == HOLDS:
        value, names = _thresholds(typed), {}
        # value.thresholds.<i> is the i-th non-blank row typed: point each at its inputs
        kept = [
            n
            for n in sorted({int(k[1:].partition("_")[0]) for k in typed if k[1:2].isdigit()})
            if any(typed.get(f"t{n}_{f}") for f in ("currency", "channel", "high_value", "first_order_limit"))
        ]
        for i, n in enumerate(kept):
            for name in ("currency", "channel", "high_value", "first_order_limit"):
                names[f"value.thresholds.{i}.{name}"] = f"t{n}_{name}"
    else:
        value = {
            "window_days": _whole(typed.get("window_days", "")),
            "restocking_fee_percent": _whole(typed.get("restocking_fee_percent", "")),
        }
        names = {"value.window_days": "window_days", "value.restocking_fee_percent": "restocking_fee_percent"}
    try:
        policies.set_policy(unit_of_work(request), key=key, value=value,
                            expected_version=int(typed.get("version") or 0))  # fmt: skip
    except OrdersmithError as exc:
        return _page(request, refusal=refused(exc, form=key, typed=typed, names=names))
    return RedirectResponse(f"/admin/settings?done={quote('Saved: applied to every order from now on')}",
                            status_code=303)  # fmt: skip
