"""CRM API input. Answers are the service's own dataclasses (no mirrored output schemas)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from ordersmith.platform.schemas import Input

Code = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,39}$", examples=["hubspot"])]
Secret = Annotated[str, Field(min_length=1, max_length=500)]
_CONFIG = (
    "base_url (default https://api.hubapi.com), pipeline (default `default`), deal_stages ({open, won, lost} → "
    "HubSpot stage ids), consent_property (default ordersmith_marketing_consent), order_id_property (default "
    "ordersmith_order_id), batch_size (1-100), sync_window_s (0-3600)"
)


class CrmConnectionIn(Input):
    code: Code
    kind: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,19}$", examples=["hubspot"])] = "hubspot"
    name: Annotated[str, Field(min_length=1, max_length=200)]
    config: dict[str, Any] = Field(default_factory=dict, description=_CONFIG)
    credentials: dict[Annotated[str, Field(max_length=40)], Secret] = Field(
        description="access_token: the HubSpot private app's token (sealed; never shown again)"
    )


class CrmConnectionChange(Input):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    config: dict[str, Any] | None = Field(default=None, description="replaces the settings whole: " + _CONFIG)
    credentials: dict[Annotated[str, Field(max_length=40)], Secret] | None = None
    active: bool | None = None
