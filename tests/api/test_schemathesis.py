"""Schemathesis against the ASGI app, on SQLite and PostgreSQL: a bounded, seeded run over every operation of the
published OpenAPI document with a full-scope API key, asserting no server error and that every answer conforms to
the document (status code declared, content type, body schema — error bodies included).

The run is bounded (EXAMPLES per operation, a fixed seed, no shrinking) and split into PARTS items per database, each
a run of consecutive operations on a freshly reset database, so that two workers share the walk. The key's own id is
never generated (ids are random UUIDs), so no call can revoke the key the run uses; the live event stream (an endless
response) is left out.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ordersmith.platform.access import SCOPES
from tests.api.conftest import bearer
from tests.builders import make_api_key, make_order_shop

EXAMPLES = 10  # per operation, a seeded walk (the same cases every run); 16 cost the suite about 40 s more
SEED = 14
# The walk runs as PARTS test items per database, each on a database of its own, so that two workers share it
# instead of one walking every operation while the other idles at the end of the run.
PARTS = 6
SKIPPED = {"GET /api/v1/events"}  # an endless event stream
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def _part(value: Any) -> Any:
    """A multipart part httpx can encode: schemathesis may put a schema's extra properties (ints, booleans, None)
    among the files, which httpx cannot render — a failure of the client, not of the operation."""
    if isinstance(value, tuple):
        return (*value[:1], _part(value[1]), *value[2:]) if len(value) > 1 else value
    return value if isinstance(value, bytes | str) or hasattr(value, "read") else str(value).encode()


def _encodable(files: Any) -> Any:
    if isinstance(files, dict):
        return {name: _part(value) for name, value in files.items()}
    return [(name, _part(value)) for name, value in files]


def _send(client: TestClient, case: Any, headers: dict[str, str]) -> Any:
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    body: dict[str, Any] = {}
    if "json" in kwargs:
        body["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        body["content" if isinstance(data, bytes | str) else "data"] = data
    if kwargs.get("files"):
        body["files"] = _encodable(kwargs["files"])
    sent = dict(kwargs.get("headers") or {})
    if kwargs.get("cookies"):  # as a header: the test client's per-request cookies are deprecated
        sent["cookie"] = "; ".join(f"{name}={value}" for name, value in kwargs["cookies"].items())
    return client.request(kwargs["method"], kwargs["url"], params=kwargs.get("params"), headers=sent, **body)


_parsed: dict[str, list[Any]] = {}


def _operations(document: str) -> list[Any]:
    """The document's operations but the skipped ones, in its order; parsed once per document (a second or so),
    not once per part."""
    if document not in _parsed:
        schema = schemathesis.openapi.from_dict(json.loads(document))
        operations = [result.ok() for result in schema.get_all_operations()]
        _parsed[document] = [op for op in operations if f"{op.method.upper()} {op.path}" not in SKIPPED]
    return _parsed[document]


def _part_of(operations: list[Any], part: int) -> list[Any]:
    """The `part`-th of PARTS runs of consecutive operations (in the document's order, so the operations of one
    path stay together and meet each other's records as in one walk)."""
    size = -(-len(operations) // PARTS)
    return operations[part * size : (part + 1) * size]


@pytest.mark.schemathesis
@pytest.mark.parametrize("part", range(PARTS), ids=[f"part{n + 1}of{PARTS}" for n in range(PARTS)])
def test_no_operation_answers_a_server_error_or_anything_its_document_does_not_describe(
    client: TestClient, admin_db: Any, part: int
) -> None:
    # given
    make_order_shop(admin_db)
    headers = bearer(make_api_key(admin_db, scopes=sorted(SCOPES), name="schemathesis").secret)
    operations = _operations(client.get("/api/v1/openapi.json").text)
    failures: list[str] = []

    # when
    for operation in _part_of(operations, part):

        @seed(SEED)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: the report names the case as generated
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def call(case: Any) -> None:
            try:
                response = _send(client, case, headers)
            except Exception as exc:  # the app raised: a 500 (the test client re-raises it)
                failures.append(f"{case.operation.label} → 500 {exc!r:.300}\n{case.as_curl_command()}")
                return
            try:
                case.validate_response(response, checks=CHECKS)
            # Every failure of the run is collected and reported together, not only the first.
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{case.operation.label} → {response.status_code}: {str(exc)[:600]}")

        call()

    # then
    assert failures == [], "\n\n".join(failures)
    # The key the run used survived it.
    assert client.get("/api/v1/me", headers=headers).json()["label"] == "api-key:schemathesis"
