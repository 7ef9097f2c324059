"""A loopback stub of HubSpot's CRM API as documented (developers.hubspot.com, CRM API v3 objects and v4
associations): Bearer private-app tokens (a wrong one is a 401 `INVALID_AUTHENTICATION`), the
`X-HubSpot-RateLimit-*` headers on every answer, a 429 `RATE_LIMIT` with `Retry-After` when throttled, batch upserts
by a unique property (contacts by `email`, deals by a unique-value property) answering `results` with `new`, batch
updates by id, default associations, and the GDPR delete (204; 404 for an unknown contact). A property value
HubSpot would refuse (an unknown deal stage) is a 400 `VALIDATION_ERROR`."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

from tests.support.http_stub import Answer, Seen, StubApi

TOKEN = "pat-na1-8f0c2d4e-a6b1-4c3d-9e7f-0a1b2c3d4e5f"
STAMP = "2026-12-01T12:00:00.000Z"
UNIQUE_DEAL_PROPERTY = "ordersmith_order_id"


@dataclass
class HubSpotStub:
    api: StubApi = field(default_factory=StubApi)
    contacts: dict[str, dict[str, str]] = field(default_factory=dict)
    deals: dict[str, dict[str, str]] = field(default_factory=dict)
    associations: set[tuple[str, str]] = field(default_factory=set)  # (deal id, contact id)
    erased: list[str] = field(default_factory=list)
    stages: set[str] = field(default_factory=lambda: {"contractsent", "closedwon", "closedlost"})
    too_many: int = 0  # answer the next N calls 429
    upsert_delay_s: float = 0.0
    _ids: Any = field(default_factory=lambda: itertools.count(501))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        api = self.api
        api.route("POST", r"/crm/v3/objects/(contacts|deals)/batch/upsert", self._guarded(self.upsert))
        api.route("POST", r"/crm/v3/objects/(contacts|deals)/batch/update", self._guarded(self.update))
        api.route(
            "POST",
            r"/crm/v4/associations/deals/contacts/batch/associate/default",
            self._guarded(self.associate),
        )
        api.route("POST", r"/crm/v3/objects/contacts/gdpr-delete", self._guarded(self.gdpr_delete))

    def reset(self) -> None:
        self.api.seen.clear()
        self.contacts.clear()
        self.deals.clear()
        self.associations.clear()
        self.erased.clear()
        self.stages = {"contractsent", "closedwon", "closedlost"}
        self.too_many, self.upsert_delay_s = 0, 0.0

    def calls(self, path: str) -> list[Seen]:
        return self.api.requests("POST", path)

    @staticmethod
    def _headers() -> dict[str, str]:
        return {
            "X-HubSpot-RateLimit-Max": "190",
            "X-HubSpot-RateLimit-Remaining": "189",
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            "X-HubSpot-RateLimit-Daily": "250000",
            "X-HubSpot-RateLimit-Daily-Remaining": "249999",
        }

    def _guarded(self, handler: Any) -> Any:
        def guarded(seen: Seen) -> Answer:
            if seen.headers.get("authorization") != f"Bearer {TOKEN}":
                return Answer(
                    401,
                    {
                        "status": "error",
                        "message": "Authentication credentials not found.",
                        "correlationId": "4ac1c6f8-0c1e-4b8e-9d8f-1d2a7f0e3b11",
                        "category": "INVALID_AUTHENTICATION",
                    },
                )
            with self._lock:
                if self.too_many > 0:
                    self.too_many -= 1
                    return Answer(
                        429,
                        {
                            "status": "error",
                            "message": "You have reached your ten_secondly_rolling limit.",
                            "errorType": "RATE_LIMIT",
                            "correlationId": "c033cdaa-2c40-4a64-ae48-b4cec88dad24",
                            "policyName": "TEN_SECONDLY_ROLLING",
                        },
                        headers={**self._headers(), "X-HubSpot-RateLimit-Remaining": "0", "Retry-After": "3"},
                    )
            answer: Answer = handler(seen)
            answer.headers = {**self._headers(), **answer.headers}
            return answer

        return guarded

    def _store(self, object_type: str) -> dict[str, dict[str, str]]:
        return self.contacts if object_type == "contacts" else self.deals

    def _invalid(self, object_type: str, properties: dict[str, str]) -> Answer | None:
        stage = properties.get("dealstage")
        if object_type == "deals" and stage is not None and stage not in self.stages:
            return Answer(
                400,
                {
                    "status": "error",
                    "message": f"Property values were not valid: dealstage {stage!r} is not a valid pipeline stage",
                    "correlationId": "9b5c0c5e-8a3e-4c53-9f0e-2f1a0d1b7c21",
                    "category": "VALIDATION_ERROR",
                },
            )
        return None

    @staticmethod
    def _result(object_id: str, properties: dict[str, str], *, new: bool | None = None) -> dict[str, Any]:
        result: dict[str, Any] = {
            "id": object_id,
            "properties": {**properties, "hs_object_id": object_id},
            "createdAt": STAMP,
            "updatedAt": STAMP,
            "archived": False,
        }
        if new is not None:
            result["new"] = new
        return result

    def upsert(self, seen: Seen) -> Answer:
        object_type = seen.path.split("/")[4]
        store = self._store(object_type)
        results = []
        if self.upsert_delay_s:
            threading.Event().wait(self.upsert_delay_s)
        with self._lock:
            for item in seen.json["inputs"]:
                if refused := self._invalid(object_type, item["properties"]):
                    return refused
                id_property = item["idProperty"]
                if id_property not in ("email", UNIQUE_DEAL_PROPERTY):
                    return Answer(
                        400,
                        {
                            "status": "error",
                            "message": f"{id_property} is not a unique property",
                            "category": "VALIDATION_ERROR",
                        },
                    )
                found = next(
                    (
                        i
                        for i, p in store.items()
                        if str(p.get(id_property, "")).lower() == item["id"].lower()
                    ),
                    None,
                )
                created = found is None
                if found is None:
                    found = str(next(self._ids))
                    store[found] = {id_property: item["id"]}
                store[found].update(item["properties"])
                results.append(self._result(found, store[found], new=created))
        return Answer(
            200, {"status": "COMPLETE", "results": results, "startedAt": STAMP, "completedAt": STAMP}
        )

    def update(self, seen: Seen) -> Answer:
        object_type = seen.path.split("/")[4]
        store = self._store(object_type)
        results, errors = [], []
        with self._lock:
            for item in seen.json["inputs"]:
                if refused := self._invalid(object_type, item["properties"]):
                    return refused
                if item["id"] not in store:
                    missing = item["id"]
                    errors.append(
                        {
                            "status": "error",
                            "category": "OBJECT_NOT_FOUND",
                            "message": f"Object {missing} not found",
                            "context": {"ids": [missing]},
                        }
                    )
                    continue
                store[item["id"]].update(item["properties"])
                results.append(self._result(item["id"], store[item["id"]]))
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": STAMP,
            "completedAt": STAMP,
        }
        if errors:
            body |= {"errors": errors, "numErrors": len(errors)}
        return Answer(207 if errors else 200, body)

    def associate(self, seen: Seen) -> Answer:
        results = []
        with self._lock:
            for item in seen.json["inputs"]:
                deal, contact = item["from"]["id"], item["to"]["id"]
                if deal not in self.deals or contact not in self.contacts:
                    return Answer(
                        400, {"status": "error", "message": "unknown object", "category": "VALIDATION_ERROR"}
                    )
                self.associations.add((deal, contact))
                results.append(
                    {
                        "fromObjectTypeId": "0-3",
                        "fromObjectId": int(deal),
                        "toObjectTypeId": "0-1",
                        "toObjectId": int(contact),
                        "labels": [],
                    }
                )
        return Answer(
            200, {"status": "COMPLETE", "results": results, "startedAt": STAMP, "completedAt": STAMP}
        )

    def gdpr_delete(self, seen: Seen) -> Answer:
        object_id = str(seen.json["objectId"])
        with self._lock:
            if object_id not in self.contacts:
                return Answer(
                    404, {"status": "error", "message": "resource not found", "category": "OBJECT_NOT_FOUND"}
                )
            del self.contacts[object_id]
            self.associations = {(d, c) for d, c in self.associations if c != object_id}
            self.erased.append(object_id)
        return Answer(204, b"")
