"""HubSpot's CRM API v3/v4 as the sync uses it: contacts upserted by e-mail and updated by id, deals upserted by
our order id (a unique-value deal property) and updated by id, deals associated with their contact (the default
association type), and the GDPR delete of a contact.

Answers are sorted as for the channel connectors: a network error or a 5xx is worth retrying; a 429 is a wait (its
`Retry-After`, else the interval HubSpot's `X-HubSpot-RateLimit-Interval-Milliseconds` names, else ten seconds; an
hour when the daily limit is spent); any other 4xx — a wrong token (401), a missing scope (403), a property HubSpot
does not know (400) — and a batch answered with per-input `errors` (207) is a refusal a retry cannot cure.
Invariant: nothing here touches the database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from ordersmith.channels.connectors.base import Access, CallFailed, CallReport, RateLimited
from ordersmith.channels.connectors.http import retry_after_s
from ordersmith.channels.crm import rules
from ordersmith.platform import tls

NAME = "HubSpot"
_RATE_HEADERS = {
    "x-hubspot-ratelimit-max": "max",
    "x-hubspot-ratelimit-remaining": "remaining",
    "x-hubspot-ratelimit-interval-milliseconds": "interval_ms",
    "x-hubspot-ratelimit-daily": "daily",
    "x-hubspot-ratelimit-daily-remaining": "daily_remaining",
}
DAILY_WAIT_S = 3600.0
DEFAULT_WAIT_S = 10.0


@dataclass(frozen=True)
class Upsert:
    key: str  # the unique property's value (an e-mail, our order id)
    properties: Mapping[str, str]


@dataclass(frozen=True)
class Update:
    remote_id: str
    properties: Mapping[str, str]


def _client(access: Access) -> httpx.Client:
    token = access.credentials.get("access_token", "")
    return httpx.Client(
        verify=tls.client_context(),
        base_url=str(access.config.get("base_url") or rules.DEFAULT_BASE_URL).rstrip("/"),
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=access.timeout_s,
        transport=access.transport,
    )


def _wait_s(response: httpx.Response) -> float:
    if response.headers.get("Retry-After"):
        return retry_after_s(response.headers.get("Retry-After"), DEFAULT_WAIT_S)
    try:
        policy = str(response.json().get("policyName", ""))
    except (ValueError, AttributeError):
        policy = ""
    if policy.upper() == "DAILY":
        return DAILY_WAIT_S
    interval = response.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds")
    return retry_after_s(
        str(int(interval) / 1000) if interval and interval.isdigit() else None, DEFAULT_WAIT_S
    )


def _note_rate(response: httpx.Response, report: CallReport) -> None:
    seen = {
        ours: response.headers[theirs] for theirs, ours in _RATE_HEADERS.items() if theirs in response.headers
    }
    if seen:
        report.rate_limit = {k: int(v) if v.isdigit() else v for k, v in seen.items()}


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        parts = [str(body.get("category") or ""), str(body.get("message") or "")]
        return ": ".join(p for p in parts if p)[:300] or response.text[:300]
    return response.text[:300]


def _send(client: httpx.Client, method: str, path: str, report: CallReport, **kwargs: Any) -> httpx.Response:
    report.calls += 1
    try:
        response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise CallFailed(f"{NAME} did not answer: {type(exc).__name__}") from exc
    _note_rate(response, report)
    if response.status_code == 429:
        raise RateLimited(f"{NAME} answered 429: {_message(response)}", retry_after_s=_wait_s(response))
    if response.status_code >= 500:
        raise CallFailed(f"{NAME} answered {response.status_code}", status=response.status_code)
    if response.status_code >= 400:
        raise CallFailed(
            f"{NAME} refused {method} {path} ({response.status_code}): {_message(response)}",
            permanent=True,
            status=response.status_code,
        )
    return response


def _batch(response: httpx.Response, path: str) -> list[dict[str, Any]]:
    """The `results` of a batch answer; per-input `errors` (a 207) refuse the batch."""
    try:
        body = response.json()
    except ValueError:
        raise CallFailed(f"{NAME} answered {path} with something that is not JSON") from None
    if not isinstance(body, dict):
        raise CallFailed(f"{NAME} answered {path} with something that is not a batch result")
    errors = body.get("errors") or []
    if errors:
        messages = "; ".join(str(e.get("message", e)) for e in errors if isinstance(e, dict))[:500]
        raise CallFailed(f"{NAME} refused part of {path}: {messages}", permanent=True, status=207)
    results = body.get("results")
    if not isinstance(results, list):
        raise CallFailed(f"{NAME} answered {path} without results")
    return [r for r in results if isinstance(r, dict)]


def _upsert(
    access: Access, object_type: str, id_property: str, inputs: Sequence[Upsert], report: CallReport
) -> dict[str, str]:
    """Create or update objects by a unique property; answers each key's object id."""
    if not inputs:
        return {}
    path = f"/crm/v3/objects/{object_type}/batch/upsert"
    once = {u.key.lower(): u for u in inputs}  # HubSpot refuses a batch naming one object twice
    body = {
        "inputs": [
            {"idProperty": id_property, "id": u.key, "properties": dict(u.properties)} for u in once.values()
        ]
    }
    with _client(access) as client:
        results = _batch(_send(client, "POST", path, report, json=body), path)
    found: dict[str, str] = {}
    for result in results:
        value = str((result.get("properties") or {}).get(id_property) or "").lower()
        if value in once and result.get("id") is not None:
            found[value] = str(result["id"])
    ids = {u.key: found[u.key.lower()] for u in inputs if u.key.lower() in found}
    missing = [u.key for u in inputs if u.key not in ids]
    if missing:
        raise CallFailed(f"{NAME} upserted {object_type} without answering for {len(missing)} of them")
    return ids


def _update(access: Access, object_type: str, updates: Sequence[Update], report: CallReport) -> None:
    if not updates:
        return
    path = f"/crm/v3/objects/{object_type}/batch/update"
    body = {"inputs": [{"id": u.remote_id, "properties": dict(u.properties)} for u in updates]}
    with _client(access) as client:
        _batch(_send(client, "POST", path, report, json=body), path)


def upsert_contacts(access: Access, inputs: Sequence[Upsert], report: CallReport) -> dict[str, str]:
    """Contacts by e-mail (HubSpot's unique contact key): created once, updated after. Answers e-mail → id."""
    return _upsert(access, "contacts", "email", inputs, report)


def update_contacts(access: Access, updates: Sequence[Update], report: CallReport) -> None:
    _update(access, "contacts", updates, report)


def upsert_deals(
    access: Access, inputs: Sequence[Upsert], report: CallReport, *, id_property: str
) -> dict[str, str]:
    """Deals by our order id (a deal property with unique values): one deal per order however often it is sent.
    Answers order id → deal id."""
    return _upsert(access, "deals", id_property, inputs, report)


def update_deals(access: Access, updates: Sequence[Update], report: CallReport) -> None:
    _update(access, "deals", updates, report)


def associate_deals(access: Access, pairs: Sequence[tuple[str, str]], report: CallReport) -> None:
    """Associate each (deal id, contact id) with HubSpot's default deal-to-contact association (v4)."""
    if not pairs:
        return
    path = "/crm/v4/associations/deals/contacts/batch/associate/default"
    body = {"inputs": [{"from": {"id": deal}, "to": {"id": contact}} for deal, contact in pairs]}
    with _client(access) as client:
        _batch(_send(client, "POST", path, report, json=body), path)


def gdpr_delete(access: Access, contact_id: str, report: CallReport) -> None:
    """Permanently delete the contact (HubSpot's GDPR delete). A contact already gone (404) counts as deleted."""
    with _client(access) as client:
        try:
            _send(
                client, "POST", "/crm/v3/objects/contacts/gdpr-delete", report, json={"objectId": contact_id}
            )
        except CallFailed as exc:
            if exc.status != 404:
                raise
