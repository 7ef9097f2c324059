"""Policies API: the policies that were code constants (hold thresholds, return window and fee), read by managers
and set by admins, every change audited with its before and after and applied by every process at once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from ordersmith.platform import policies
from ordersmith.platform.access import Principal
from ordersmith.platform.http import authorize, etag, if_match_version, requires, unit_of_work
from ordersmith.platform.schemas import PolicyIn, PolicyOut

router = APIRouter(tags=["settings"])
Auth = Annotated[Principal, Depends(authorize)]


@router.get(
    "/settings", response_model=list[PolicyOut], openapi_extra=requires("settings:read", no_channel=True)
)
def list_settings(principal: Auth, request: Request) -> list[PolicyOut]:
    """Every policy with its value now and its default."""
    return [PolicyOut.model_validate(p) for p in policies.list_policies(unit_of_work(request))]


@router.get(
    "/settings/{key}", response_model=PolicyOut, openapi_extra=requires("settings:read", no_channel=True)
)
def get_setting(key: str, principal: Auth, request: Request, response: Response) -> PolicyOut:
    found = policies.get_policy(unit_of_work(request), key=key)
    response.headers["ETag"] = etag(found.version)
    return PolicyOut.model_validate(found)


@router.put(
    "/settings/{key}", response_model=PolicyOut, openapi_extra=requires("settings:write", no_channel=True)
)
def set_setting(key: str, body: PolicyIn, principal: Auth, request: Request, response: Response) -> PolicyOut:
    """Set a policy (checked by its own rule: a problem names `value.<field>`, nothing changes); `If-Match` with
    the version read refuses a change someone else made first (412). Applied from the next request on."""
    changed = policies.set_policy(unit_of_work(request), key=key, value=body.value,
                                  expected_version=if_match_version(request))  # fmt: skip
    response.headers["ETag"] = etag(changed.version)
    return PolicyOut.model_validate(changed)
