"""Customer use cases: records with validated contacts, optimistic edits, the timeline, and search.

Invariants: e-mails, phones (E.164) and postal codes are stored normalised; every change is audited and emits an
event; an edit applies only at the version the editor read; the search keys always mirror what is stored.
"""

from ordersmith.customers.rules import display_phone
from ordersmith.customers.service._common import Address, Customer, Details, Phone
from ordersmith.customers.service.imports import (
    KnownCustomers,
    NewCustomer,
    create_customers,
    import_customer,
    known_customers,
)
from ordersmith.customers.service.merging import Duplicate, find_duplicates, merge_customers
from ordersmith.customers.service.privacy import anonymize_customer, export_customer
from ordersmith.customers.service.records import (
    BuyerFacts,
    SourceCodeCheck,
    buyer_facts,
    create_customer,
    display_names,
    get_customer,
    has_buyer,
    join_channel,
    on_order_placed,
    record_first_order,
    record_source_code,
    remember_ship_tos,
    set_custom_fields,
    update_customer,
)
from ordersmith.customers.service.search import SearchHit, search_customers
from ordersmith.customers.service.timeline import TimelineEntry, add_note, timeline

__all__ = [
    "Address",
    "BuyerFacts",
    "Customer",
    "Details",
    "Duplicate",
    "KnownCustomers",
    "NewCustomer",
    "Phone",
    "SearchHit",
    "SourceCodeCheck",
    "TimelineEntry",
    "add_note",
    "anonymize_customer",
    "buyer_facts",
    "create_customer",
    "create_customers",
    "display_names",
    "display_phone",
    "export_customer",
    "find_duplicates",
    "get_customer",
    "has_buyer",
    "import_customer",
    "join_channel",
    "known_customers",
    "merge_customers",
    "on_order_placed",
    "record_first_order",
    "record_source_code",
    "remember_ship_tos",
    "search_customers",
    "set_custom_fields",
    "timeline",
    "update_customer",
]
