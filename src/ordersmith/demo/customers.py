"""Demo customers (a thousand unless ORDERSMITH_DEMO_CUSTOMERS says otherwise) with plausible names, addresses,
phones and e-mails (a deliberate duplicate for the duplicates screen), some businesses on account, some tax-exempt,
some who asked not to be mailed. Made in batches, each counted in the load's progress row as it commits."""

from __future__ import annotations

import random
from decimal import Decimal

from ordersmith.customers import service as customers
from ordersmith.demo._framework import DemoReport, finished, loader, progress, started
from ordersmith.kernel.errors import NotFound
from ordersmith.kernel.money import Money
from ordersmith.platform.db import Actor, Database, UnitOfWork, use_case
from ordersmith.platform.settings import Settings


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = _words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph "
    "Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Margaret Mark Sandra "
    "Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian "
    "Dorothy George Melissa Timothy Deborah Ronald Stephanie Jason Rebecca Edward Sharon Jeffrey Laura Ryan "
    "Cynthia Jacob Kathleen Nicholas Amy Eric Angela Jonathan Shirley Stephen Anna Larry Brenda Justin Pamela "
    "Scott Emma Brandon Nicole Benjamin Helen Samuel Samantha"
)
LAST = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
    "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera "
    "Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart "
    "Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim "
    "Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo "
    "Sanders Patel Myers Long Ross Foster Jimenez O'Brien Müller"
)
STREETS = (
    "Oak St",
    "Maple Ave",
    "Cedar Ln",
    "Pine St",
    "Elm St",
    "Washington Blvd",
    "Lake View Dr",
    "Hillcrest Rd",
    "Sunset Blvd",
    "Park Ave",
    "Main St",
    "Church St",
    "Mill Rd",
    "River Rd",
    "Highland Ave",
    "Spring St",
)
# (city, state, postal code, area code)
CITIES = [
    ("New York", "NY", "10001", "212"),
    ("Brooklyn", "NY", "11201", "718"),
    ("Boston", "MA", "02108", "617"),
    ("Chicago", "IL", "60601", "312"),
    ("San Francisco", "CA", "94105", "415"),
    ("Los Angeles", "CA", "90012", "213"),
    ("Seattle", "WA", "98101", "206"),
    ("Portland", "OR", "97205", "503"),
    ("Denver", "CO", "80202", "303"),
    ("Austin", "TX", "78701", "512"),
    ("Dallas", "TX", "75201", "214"),
    ("Atlanta", "GA", "30303", "404"),
    ("Miami", "FL", "33131", "305"),
    ("Minneapolis", "MN", "55401", "612"),
    ("Philadelphia", "PA", "19103", "215"),
    ("Phoenix", "AZ", "85004", "602"),
    ("Nashville", "TN", "37203", "615"),
    ("Burlington", "VT", "05401", "802"),
]
COMPANIES = (
    "Harbor Dental Group",
    "Northwind Interiors",
    "Blue Ridge Outfitters",
    "Cedar & Pine Events",
    "Lakeside Realty",
    "Summit Law Partners",
    "Golden Gate Gifts",
    "Maple Leaf Cafe",
)


def _details(rng: random.Random, n: int) -> tuple[customers.Details, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    city, state, postal, area = rng.choice(CITIES)
    business = n % 40 == 0
    email_name = f"{first}.{last}".lower().replace("'", "").replace("ü", "u")
    ship_to = []
    if rng.random() < 0.25:  # a gift recipient elsewhere
        other = rng.choice(CITIES)
        ship_to = [
            customers.Address(
                kind="ship_to",
                name=f"{rng.choice(FIRST)} {last}",
                line1=f"{rng.randint(10, 999)} {rng.choice(STREETS)}",
                city=other[0],
                region=other[1],
                postal_code=other[2],
                country="US",
            )
        ]
    details = customers.Details(
        kind="business" if business else "consumer",
        first_name=first,
        last_name=last,
        company=COMPANIES[n % len(COMPANIES)] if business else "",
        status="buyer" if rng.random() < 0.7 else "prospect",
        customer_group="wholesale" if business else rng.choice(["retail", "retail", "retail", "vip"]),
        emails=[f"{email_name}{n}@example.com"],
        phones=[customers.Phone(f"({area}) 555-01{rng.randint(0, 99):02d}", "home")],
        addresses=[
            customers.Address(
                kind="bill_to",
                line1=f"{rng.randint(10, 9999)} {rng.choice(STREETS)}",
                city=city,
                region=state,
                postal_code=postal,
                country="US",
            ),
            *ship_to,
        ],
        tax_exempt=business and n % 80 == 0,
        tax_certificate=f"EX-{n:06d}" if business and n % 80 == 0 else "",
        credit_limit=Money(Decimal(5000), "USD") if business else None,
        payment_terms="NET30" if business else "",
        do_not_mail=rng.random() < 0.05,
        do_not_email=rng.random() < 0.08,
        tags=["catalog-requester"] if n % 7 == 0 else [],
    )
    return details, rng.choice(["web", "call-center", "catalog-mail", "store-pos"])


_BATCH = 50  # customers per transaction; the load's progress row counts finished batches


@use_case
def _create_batch(uow: UnitOfWork, *, batch: list[tuple[customers.Details, str]]) -> None:
    for details, channel in batch:
        customers.create_customer(uow, details=details, created_channel=channel)
    finished(uow, step="customers")


def _people(count: int) -> list[tuple[customers.Details, str]]:
    """The demo's customers, the same every time (a seeded generator), with one deliberate duplicate at the end."""
    rng = random.Random(20261128)
    people = [_details(rng, n) for n in range(1, count + 1)]
    # Two deliberate duplicates: the same person entered twice, by phone and on the web.
    twin, _ = people[0]
    people.append(
        (
            customers.Details(
                first_name=twin.first_name,
                last_name=twin.last_name,
                emails=twin.emails,
                addresses=twin.addresses[:1],
            ),
            "web",
        )
    )
    return people


def _batch_count(settings: Settings) -> int:
    """How many batches a whole load makes: the customers and the deliberate duplicate, _BATCH at a time."""
    return -(-(settings.demo_customers + 1) // _BATCH)


@loader("customers: a thousand customers", stage=25, units=_batch_count)
def _customers(db: Database, settings: Settings, report: DemoReport) -> None:
    uow = db.unit_of_work(Actor.system("demo"))
    done = progress(uow, step="customers")
    if done is None:
        try:
            customers.get_customer(uow, ref="C-100001")
            return  # loaded before loads recorded their progress
        except NotFound:
            started(uow, step="customers")
            done = 0
    people = _people(settings.demo_customers)
    batches = [people[start : start + _BATCH] for start in range(0, len(people), _BATCH)]
    for batch in batches[done:]:
        _create_batch(uow, batch=batch)
    if done < len(batches):
        made = sum(len(batch) for batch in batches[done:])
        report.say(f"{made} customers (C-100001 …), with one deliberate duplicate of C-100001")
