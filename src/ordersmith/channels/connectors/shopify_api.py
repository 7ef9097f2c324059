"""Calls to one shop's GraphQL Admin API, shared by the Shopify connector (`shopify`) and its order changes out
(`shopify_order_changes`): `POST {shop}/admin/api/{version}/graphql.json` with `X-Shopify-Access-Token`. Rate limits
are cost-based — every answer carries `extensions.cost.throttleStatus` (kept for the health read) and a throttled
request answers 200 with an error coded `THROTTLED`; an HTTP 429 carries `Retry-After`. Both become `RateLimited`.
Invariant: nothing here touches the database."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from ordersmith.channels.connectors.base import Access, CallFailed, CallReport, RateLimited
from ordersmith.platform import tls

TOKEN_HEADER = "X-Shopify-Access-Token"  # noqa: S105 - a header name, not a secret
DEFAULT_API_VERSION = "2024-10"


def client(access: Access) -> httpx.Client:
    """An HTTP client for the shop's Admin API with the connector's access token."""
    base = str(access.config.get("shop_url", "")).rstrip("/")
    if not base:
        raise CallFailed("the connector has no shop_url", permanent=True)
    token = access.credentials.get("access_token", "")
    if not token:
        raise CallFailed("the connector has no access_token", permanent=True)
    return httpx.Client(
        verify=tls.client_context(),
        base_url=base,
        headers={TOKEN_HEADER: token, "Content-Type": "application/json", "Accept": "application/json"},
        timeout=access.timeout_s,
        transport=access.transport,
    )


def graphql(
    client: httpx.Client, access: Access, query: str, variables: dict[str, Any], report: CallReport
) -> Mapping[str, Any]:
    version = str(access.config.get("api_version") or DEFAULT_API_VERSION)
    report.calls += 1
    try:
        response = client.post(
            f"/admin/api/{version}/graphql.json", json={"query": query, "variables": variables}
        )
    except httpx.HTTPError as exc:
        raise CallFailed(f"Shopify did not answer: {type(exc).__name__}") from exc
    if response.status_code == 429:
        raise RateLimited(
            "Shopify answered 429", retry_after_s=_retry_after(response.headers.get("Retry-After"))
        )
    if response.status_code >= 500:
        raise CallFailed(f"Shopify answered {response.status_code}", status=response.status_code)
    if response.status_code >= 400:
        raise CallFailed(
            f"Shopify refused the call ({response.status_code}): {response.text[:300]}",
            permanent=True,
            status=response.status_code,
        )
    try:
        body = response.json()
    except ValueError:
        raise CallFailed("Shopify answered something that is not JSON") from None
    throttle = ((body.get("extensions") or {}).get("cost") or {}).get("throttleStatus")
    if isinstance(throttle, dict):
        report.rate_limit = dict(throttle)
    errors = body.get("errors")
    if errors:
        codes = {((e or {}).get("extensions") or {}).get("code") for e in errors if isinstance(e, dict)}
        if "THROTTLED" in codes:
            raise RateLimited("Shopify throttled the query", retry_after_s=_refill_s(body))
        raise CallFailed(f"Shopify refused the query: {str(errors)[:300]}", permanent=True)
    data = body.get("data")
    if not isinstance(data, Mapping):
        raise CallFailed("Shopify's answer has no data")
    return data


def indexed_errors(payload: Any, listed: str) -> list[tuple[int | None, str]]:
    """A mutation's `userErrors` with the index of the `listed` input each names (`["variants", "2", "price"]`
    -> 2; None when it names no single one)."""
    problems = (payload or {}).get("userErrors") if isinstance(payload, Mapping) else None
    found: list[tuple[int | None, str]] = []
    for problem in problems or []:
        if not isinstance(problem, Mapping):
            continue
        path = [str(p) for p in problem.get("field") or []]
        index = int(path[1]) if len(path) > 1 and path[0] == listed and path[1].isdigit() else None
        code = f" ({problem['code']})" if problem.get("code") else ""
        found.append((index, f"{problem.get('message')}{code}"))
    return found


def user_errors(payload: Any, mutation: str) -> None:
    """Raise CallFailed (permanent) naming the mutation's `userErrors`, if it has any."""
    problems = (payload or {}).get("userErrors") if isinstance(payload, Mapping) else None
    if problems:
        text = "; ".join(f"{p.get('field')}: {p.get('message')}" for p in problems if isinstance(p, Mapping))
        raise CallFailed(f"{mutation} refused: {text[:300]}", permanent=True)


def _retry_after(value: str | None) -> float:
    try:
        return max(0.0, min(float(value or 2), 3600.0))
    except ValueError:
        return 2.0


def _refill_s(body: Mapping[str, Any]) -> float:
    """How long the bucket needs to hold the throttled query's cost again."""
    cost = (body.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    try:
        needed = float(cost.get("requestedQueryCost", 0)) - float(status.get("currentlyAvailable", 0))
        rate = float(status.get("restoreRate", 50)) or 50.0
    except (TypeError, ValueError):
        return 2.0
    return max(1.0, min(needed / rate, 60.0))
