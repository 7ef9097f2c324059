"""Marketing use cases: campaigns and their drops, the master list of source (key) codes with their offers, each
channel's policy for unknown codes, and the check every order's code passes at capture. The context's only public
face."""

from ordersmith.marketing.rules import Figures, Offer, Sums, figures
from ordersmith.marketing.service._common import Campaign, Drop, SourceCode
from ordersmith.marketing.service.campaigns import (
    NewDrop,
    add_drops,
    create_campaign,
    get_campaign,
    list_campaigns,
    update_campaign,
)
from ordersmith.marketing.service.codes import (
    ChannelPolicy,
    code_for_customer,
    create_source_code,
    find_offer,
    get_source_code,
    list_channel_policies,
    list_source_codes,
    resolve_source_code,
    set_channel_policy,
    update_source_code,
)

__all__ = [
    "Campaign",
    "ChannelPolicy",
    "Drop",
    "Figures",
    "NewDrop",
    "Offer",
    "SourceCode",
    "Sums",
    "add_drops",
    "code_for_customer",
    "create_campaign",
    "create_source_code",
    "figures",
    "find_offer",
    "get_campaign",
    "get_source_code",
    "list_campaigns",
    "list_channel_policies",
    "list_source_codes",
    "resolve_source_code",
    "set_channel_policy",
    "update_campaign",
    "update_source_code",
]
