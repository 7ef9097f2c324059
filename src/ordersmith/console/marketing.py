"""Console screen for the marketing team's offers: promotions (running or not, renamed, reprioritised, re-dated,
switched on or off, new ones of the common kinds), coupons with their use counts (limits raised or lifted, switched
off, new codes) and the price lists (new ones; on a list's own page its name, priority, customer groups, channels
and dates, and its prices set, changed and removed), in one place; and, for whoever may read them, the campaigns
with their drops and the source (key) codes with their offers (read-only here, each linking to its own page: made on
the Campaigns screen, `console/campaigns.py`, through the API or with `ordersmith marketing`).

Handlers read the form, check it with the API's own input schema where the API has one, call one pricing use case
and render; a refusal re-renders the page with the reason (naming the field) and its status (nothing changed),
never a 500. Writes need `pricing:write` and the session's CSRF token.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.console._pages import check_form_csrf, principal_for, render
from ordersmith.kernel.errors import NotFound, OrdersmithError, ValidationFailed
from ordersmith.kernel.money import Money, currency_exponent
from ordersmith.marketing import service as marketing
from ordersmith.platform.http import unit_of_work
from ordersmith.platform.schemas import validated
from ordersmith.pricing import service as pricing
from ordersmith.pricing.schemas import PriceIn, PriceListIn, PriceListPatch

router = APIRouter(include_in_schema=False)
SCOPE = "pricing:write"
SHOWN = 200  # campaigns and source codes listed on the page; prices on a price list's page
# The kinds the console makes (the API makes every kind): each needs one figure.
KINDS = {
    "percent_off_items": "percent off the items",
    "order_amount_off": "amount off the order",
    "free_shipping": "free shipping",
}


def _page(request: Request, *, status: int = 200, error: str = "", done: str = "") -> Response:
    principal = principal_for(request, SCOPE)
    uow = unit_of_work(request)
    reads_campaigns = principal.can("marketing:read")
    return render(
        request,
        "marketing.html",
        principal,
        status=status,
        error=error,
        done=done,
        promotions=pricing.list_promotions(uow),
        coupons=pricing.list_coupons(uow),
        price_lists=pricing.list_price_lists(uow),
        kinds=KINDS,
        # The first page of each (campaigns are few; codes a few hundred a season): the API and CLI page on.
        campaigns=marketing.list_campaigns(uow, limit=SHOWN).items if reads_campaigns else None,
        codes=marketing.list_source_codes(uow, limit=SHOWN) if reads_campaigns else None,
    )


@router.get("/marketing")
def offers(request: Request, done: str = "") -> Response:
    return _page(request, done=done)


def _when(text: str, field: str) -> datetime | None:
    """A `datetime-local` field (UTC) or blank; a bad one is a refusal naming the field."""
    if not text.strip():
        return None
    try:
        return datetime.fromisoformat(text.strip()).replace(tzinfo=UTC)
    except ValueError:
        raise ValidationFailed.on(field, "a date and time, e.g. 2026-12-24T18:00") from None


def _whole(text: str, field: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not (text.lstrip("-").isascii() and text.lstrip("-").isdigit()):
        raise ValidationFailed.on(field, "a whole number")
    return int(text)


def _amount(text: str, field: str, currency: str) -> Money:
    """An amount typed in ASCII digits, no finer than the currency's minor unit (as the API takes it)."""
    text = text.strip()
    if not (text.isascii() and text.replace(".", "", 1).isdigit()):
        raise ValidationFailed.on(field, "an amount such as 10.00")
    try:
        places = currency_exponent(currency)
    except ValueError as exc:
        raise ValidationFailed.on("currency", str(exc)) from None
    value = Decimal(text)
    if -int(value.as_tuple().exponent) > places:
        raise ValidationFailed.on(field, f"{currency} has {places} decimal places")
    return Money(value, currency)


async def _form(request: Request) -> dict[str, str]:
    principal = principal_for(request, SCOPE)
    form = await request.form()
    check_form_csrf(principal, str(form.get("csrf_token", "")))
    return {key: str(value) for key, value in form.items()}


@router.post("/marketing/promotions")
async def new_promotion(request: Request) -> Response:
    form = await _form(request)
    try:
        kind = form.get("kind", "")
        if kind not in KINDS:
            raise ValidationFailed.on("kind", f"one of {', '.join(KINDS)}")
        currency = form.get("currency", "USD").strip().upper() or "USD"
        figure = form.get("figure", "")
        promotion = pricing.PromotionInput(
            code=form.get("code", "").strip(),
            name=form.get("name", "").strip(),
            kind=kind,
            currency=currency,
            priority=_whole(form.get("priority", ""), "priority") or 0,
            percent=Decimal(_whole(figure, "figure") or 0) if kind == "percent_off_items" else Decimal(0),
            amount=_amount(figure, "figure", currency) if kind == "order_amount_off" else None,
            threshold=_amount(form["threshold"], "threshold", currency) if form.get("threshold") else None,
            coupon_required=form.get("coupon_required") == "on",
            starts_at=_when(form.get("starts_at", ""), "starts_at"),
            ends_at=_when(form.get("ends_at", ""), "ends_at"),
        )
        if not promotion.code or not promotion.name:
            raise ValidationFailed.on("code" if not promotion.code else "name", "is required")
        code = pricing.create_promotion(unit_of_work(request), promotion=promotion)
    except OrdersmithError as exc:
        return _page(request, status=exc.status, error=exc.detail)
    return RedirectResponse(f"/marketing?done=promotion+{code}+made", status_code=303)


@router.post("/marketing/promotions/{code}")
async def change_promotion(request: Request, code: str) -> Response:
    form = await _form(request)
    try:
        dates = pricing.Dates(
            _when(form.get("starts_at", ""), "starts_at"), _when(form.get("ends_at", ""), "ends_at")
        )
        pricing.change_promotion(
            unit_of_work(request),
            code=code,
            name=form.get("name") or None,
            priority=_whole(form.get("priority", ""), "priority"),
            dates=dates,
            active=form.get("active") == "on",
        )
    except OrdersmithError as exc:
        return _page(request, status=exc.status, error=f"{code}: {exc.detail}")
    return RedirectResponse(f"/marketing?done=promotion+{code}+saved", status_code=303)


@router.post("/marketing/coupons")
async def new_coupon(request: Request) -> Response:
    form = await _form(request)
    try:
        code = pricing.create_coupon(
            unit_of_work(request),
            code=form.get("code", "").strip(),
            promotion=form.get("promotion", ""),
            max_uses=_whole(form.get("max_uses", ""), "max_uses"),
            per_customer_limit=_whole(form.get("per_customer_limit", ""), "per_customer_limit"),
        )
    except OrdersmithError as exc:
        return _page(request, status=exc.status, error=exc.detail)
    return RedirectResponse(f"/marketing?done=coupon+{code}+made", status_code=303)


@router.post("/marketing/coupons/{code}")
async def change_coupon(request: Request, code: str) -> Response:
    form = await _form(request)
    try:
        limit = _whole(form.get("max_uses", ""), "max_uses")
        pricing.change_coupon(
            unit_of_work(request),
            code=code,
            max_uses=limit,
            no_limit=limit is None,
            active=form.get("active") == "on",
        )
    except OrdersmithError as exc:
        return _page(request, status=exc.status, error=f"{code}: {exc.detail}")
    return RedirectResponse(f"/marketing?done=coupon+{code}+saved", status_code=303)


def _iso(text: str) -> str | None:
    """A `datetime-local` field (UTC) as the API takes it, or None when blank; the schema checks the rest."""
    return text.strip() + "+00:00" if text.strip() else None


def _names(text: str) -> list[str]:
    """Comma-separated names (customer groups, channels); blank: none (everyone)."""
    return [part.strip() for part in text.split(",") if part.strip()]


def _price(form: dict[str, str], currency: str) -> dict[str, object]:
    return {
        "sku": form.get("sku", ""),
        "unit_price": {"amount": form.get("unit_price", "").strip(), "currency": currency},
        "min_quantity": form.get("min_quantity", "").strip() or 1,
    }


def _entry(price: PriceIn) -> pricing.PriceEntry:
    return pricing.PriceEntry(price.sku, price.unit_price.to_money(), price.min_quantity)


@router.post("/marketing/price-lists")
async def new_price_list(request: Request) -> Response:
    """A price list with its first price, checked by the API's own `PriceListIn` and made by the same use case."""
    form = await _form(request)
    try:
        currency = form.get("currency", "USD").strip().upper() or "USD"
        body = validated(
            PriceListIn,
            {
                "code": form.get("code", ""),
                "name": form.get("name", ""),
                "currency": currency,
                "priority": form.get("priority", "").strip() or 0,
                "customer_groups": _names(form.get("customer_groups", "")),
                "channels": _names(form.get("channels", "")),
                "starts_at": _iso(form.get("starts_at", "")),
                "ends_at": _iso(form.get("ends_at", "")),
                "offer_only": form.get("offer_only") == "on",
                "prices": [_price(form, currency)],
            },
        )
        code = pricing.create_price_list(
            unit_of_work(request),
            prices=[_entry(p) for p in body.prices],
            **body.model_dump(exclude={"prices"}),
        )
    except OrdersmithError as exc:
        return _page(request, status=exc.status, error=exc.detail)
    return RedirectResponse(f"/marketing/price-lists/{code}?done=price+list+{code}+made", status_code=303)


def _list_page(
    request: Request, code: str, *, sku: str = "", status: int = 200, error: str = "", done: str = ""
) -> Response:
    principal = principal_for(request, SCOPE)
    uow = unit_of_work(request)
    price_list = pricing.get_price_list(uow, code=code)
    try:
        prices = pricing.list_prices(uow, code=code, sku=sku.strip() or None, limit=SHOWN)
    except NotFound as exc:  # an unknown SKU in the filter
        prices, error, status = [], error or exc.detail, status if error else 404
    return render(
        request,
        "price_list.html",
        principal,
        status=status,
        error=error,
        done=done,
        price_list=price_list,
        prices=prices,
        sku=sku,
        shown=SHOWN,
    )


@router.get("/marketing/price-lists/{code}")
def price_list(request: Request, code: str, sku: str = "", done: str = "") -> Response:
    return _list_page(request, code, sku=sku, done=done)


@router.post("/marketing/price-lists/{code}")
async def change_price_list(request: Request, code: str) -> Response:
    """Name, priority, customer groups, channels and dates, checked by the API's `PriceListPatch`."""
    form = await _form(request)
    try:
        patch = validated(
            PriceListPatch,
            {
                "name": form.get("name", ""),
                "priority": form.get("priority", "").strip() or 0,
                "customer_groups": _names(form.get("customer_groups", "")),
                "channels": _names(form.get("channels", "")),
                "starts_at": _iso(form.get("starts_at", "")),
                "ends_at": _iso(form.get("ends_at", "")),
            },
        )
        changed = pricing.change_price_list(
            unit_of_work(request),
            code=code,
            name=patch.name,
            priority=patch.priority,
            customer_groups=patch.customer_groups,
            channels=patch.channels,
            dates=pricing.Dates(patch.starts_at, patch.ends_at),
        )
    except OrdersmithError as exc:
        return _list_page(request, code, status=exc.status, error=exc.detail)
    return RedirectResponse(f"/marketing/price-lists/{changed.code}?done=saved", status_code=303)


@router.post("/marketing/price-lists/{code}/prices")
async def set_price(request: Request, code: str) -> Response:
    """Add or change one SKU's price from a quantity, checked by the API's `PriceIn` (in the list's currency)."""
    form = await _form(request)
    try:
        currency = pricing.get_price_list(unit_of_work(request), code=code).currency
        price = validated(PriceIn, _price(form, currency))
        outcome = pricing.set_list_price(unit_of_work(request), code=code, entry=_entry(price))
    except OrdersmithError as exc:
        return _list_page(request, code, status=exc.status, error=exc.detail)
    query = urlencode({"sku": price.sku, "done": f"{price.sku} from {price.min_quantity}: {outcome}"})
    return RedirectResponse(f"/marketing/price-lists/{code.upper()}?{query}", status_code=303)


@router.post("/marketing/price-lists/{code}/prices/remove")
async def remove_price(request: Request, code: str) -> Response:
    form = await _form(request)
    sku = form.get("sku", "").strip()
    try:
        quantity = _whole(form.get("min_quantity", ""), "min_quantity") or 1
        pricing.remove_list_price(unit_of_work(request), code=code, sku=sku, min_quantity=quantity)
    except OrdersmithError as exc:
        return _list_page(request, code, status=exc.status, error=exc.detail)
    query = urlencode({"done": f"{sku} from {quantity}: removed"})
    return RedirectResponse(f"/marketing/price-lists/{code.upper()}?{query}", status_code=303)
