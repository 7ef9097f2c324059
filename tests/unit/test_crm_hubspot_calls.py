"""How the HubSpot adapter reads HubSpot's answers (an HTTP transport stub answering as HubSpot documents): a 429 is
a wait — its Retry-After, else the rate-limit interval header, an hour for the daily limit —, a 5xx is worth a
retry, a 401 or a batch answered with errors is a refusal, a GDPR delete of a contact already gone is done."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from ordersmith.channels.connectors.base import Access, CallFailed, CallReport, RateLimited
from ordersmith.channels.crm import hubspot

CONTACT = hubspot.Upsert("jane@example.com", {"email": "jane@example.com", "firstname": "Jane"})


def _access(answer: Callable[[httpx.Request], httpx.Response]) -> Access:
    return Access(
        config={"base_url": "https://api.hubapi.test"},
        credentials={"access_token": "pat-na1-test"},
        transport=httpx.MockTransport(answer),
    )


def _throttled(headers: dict[str, str], policy: str) -> Callable[[httpx.Request], httpx.Response]:
    body = {
        "status": "error",
        "message": "You have reached your limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": "c0",
        "policyName": policy,
    }
    return lambda request: httpx.Response(429, json=body, headers=headers)


@pytest.mark.parametrize(
    ("headers", "policy", "wait_s"),
    [
        ({"Retry-After": "7"}, "TEN_SECONDLY_ROLLING", 7.0),
        ({"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}, "TEN_SECONDLY_ROLLING", 10.0),
        ({}, "SECONDLY", 10.0),
        ({"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}, "DAILY", 3600.0),
    ],
)
def test_a_429_is_a_wait_as_long_as_hubspot_says(headers: dict[str, str], policy: str, wait_s: float) -> None:
    with pytest.raises(RateLimited) as raised:
        hubspot.upsert_contacts(_access(_throttled(headers, policy)), [CONTACT], CallReport())
    assert raised.value.retry_after_s == wait_s and not raised.value.permanent


def test_the_token_goes_as_a_bearer_and_the_rate_limit_headers_are_kept() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        result = {
            "id": "501",
            "properties": {"email": "jane@example.com"},
            "new": True,
            "archived": False,
            "createdAt": "2026-12-01T12:00:00.000Z",
            "updatedAt": "2026-12-01T12:00:00.000Z",
        }
        return httpx.Response(
            200,
            json={"status": "COMPLETE", "results": [result]},
            headers={"X-HubSpot-RateLimit-Max": "190", "X-HubSpot-RateLimit-Remaining": "12"},
        )

    report = CallReport()
    ids = hubspot.upsert_contacts(_access(answer), [CONTACT, CONTACT], report)
    assert ids == {"jane@example.com": "501"}
    (request,) = seen
    assert request.headers["authorization"] == "Bearer pat-na1-test"
    assert str(request.url) == "https://api.hubapi.test/crm/v3/objects/contacts/batch/upsert"
    assert json.loads(request.content) == {
        "inputs": [{"idProperty": "email", "id": "jane@example.com", "properties": dict(CONTACT.properties)}]
    }
    assert (report.calls, report.rate_limit) == (1, {"max": 190, "remaining": 12})


@pytest.mark.parametrize(
    ("status", "body", "permanent"),
    [
        (
            401,
            {
                "status": "error",
                "message": "Authentication credentials not found.",
                "category": "INVALID_AUTHENTICATION",
            },
            True,
        ),
        (
            403,
            {
                "status": "error",
                "message": "This app hasn't been granted all required scopes.",
                "category": "MISSING_SCOPES",
            },
            True,
        ),
        (
            207,
            {
                "status": "COMPLETE",
                "results": [],
                "numErrors": 1,
                "errors": [
                    {"status": "error", "category": "OBJECT_NOT_FOUND", "message": "Object 9 not found"}
                ],
            },
            True,
        ),
        (502, {"status": "error", "message": "Bad gateway"}, False),
    ],
)
def test_refusals_are_permanent_and_outages_are_not(
    status: int, body: dict[str, object], permanent: bool
) -> None:
    access = _access(lambda request: httpx.Response(status, json=body))
    with pytest.raises(CallFailed) as raised:
        hubspot.update_deals(access, [hubspot.Update("9", {"dealstage": "closedwon"})], CallReport())
    assert raised.value.permanent is permanent


def test_a_gdpr_delete_of_a_contact_already_gone_is_done_and_other_refusals_are_not() -> None:
    gone = _access(
        lambda request: httpx.Response(404, json={"status": "error", "category": "OBJECT_NOT_FOUND"})
    )
    hubspot.gdpr_delete(gone, "501", CallReport())  # no error
    deleted: list[bytes] = []
    ok = _access(lambda request: deleted.append(request.content) or httpx.Response(204))
    hubspot.gdpr_delete(ok, "501", CallReport())
    assert [json.loads(d) for d in deleted] == [{"objectId": "501"}]
    refused = _access(lambda request: httpx.Response(401, json={"category": "INVALID_AUTHENTICATION"}))
    with pytest.raises(CallFailed):
        hubspot.gdpr_delete(refused, "501", CallReport())
