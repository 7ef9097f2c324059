"""The sandbox carrier: a parcel carrier of our own that behaves like a real one, for development, demos and
tests — it ships nothing. It keeps its books (labels, the tracking-number counter) in its own small SQLite file,
so `serve` and `worker` processes see the same labels; prices by zone and billable weight; prints real 4x6 PDF
and ZPL labels; advances tracking with the clock it is given; and signs its webhooks.

Prices (USD): zone 1-8 from the first three digits of the origin and destination ZIP codes; billable weight is
the larger of the actual weight and the dimensional weight (LxWxH cm³ / 5000 = kg), charged per started 500 g.
Domestic services `ground` (5 days), `two_day`, `overnight`; international only `intl_economy`, `intl_express`.

Tracking (from the label's creation time t): pre_transit at t; in_transit at t + 1 day (t + 12 h overnight);
out_for_delivery 4 h before delivery; delivered at the same time of day, delivery days later counted in business
days (Monday to Friday, no holidays) — the date its rates promised.

Faults on purpose:

| trigger | outcome |
|---|---|
| postal code `00000` (origin or destination) | `CarrierRejected("address_invalid")` from rates, labels, validation |
| reference containing `FAULT-TIMEOUT` | `CarrierUnavailable` (a timeout) from `buy_label`; nothing is bought |
| address line containing `FAULT-TIMEOUT` | `CarrierUnavailable` from `rates` and `validate_address` |
| destination postal code `99999` | tracking goes in_transit, then `exception` at t + 2 days |
| parcel weight 0 | `CarrierRejected("weight_required")` |
| a service it does not offer (or a domestic one abroad) | `CarrierRejected("unknown_service")` |

Invariant: tracking numbers are `SBX` + 12 digits (an 11-digit counter and a check digit), never reused: the
counter moves in the same transaction that records the label.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from ordersmith.fulfillment.carriers import addresses, signing
from ordersmith.fulfillment.carriers.base import (
    Address,
    AddressCheck,
    CarrierRejected,
    CarrierUnavailable,
    Label,
    LabelRequest,
    Manifest,
    Parcel,
    Rate,
    RateRequest,
    Service,
    SignatureInvalid,
    TrackingEvent,
    TrackingStatus,
)
from ordersmith.fulfillment.carriers.labels import LabelContent, render_manifest_pdf, render_pdf, render_zpl
from ordersmith.kernel.clock import Clock, system_clock
from ordersmith.kernel.money import Money

SIGNATURE_HEADER = "Sandbox-Carrier-Signature"
INVALID_POSTAL = "00000"
EXCEPTION_POSTAL = "99999"
TIMEOUT_MARK = "FAULT-TIMEOUT"
DIM_DIVISOR_MM3_PER_G = 5000  # 5000 cm³ per kg = 5000 mm³ per g
WEIGHT_STEP_G = 500


@dataclass(frozen=True)
class _Tariff:
    service: Service
    base: Decimal
    per_zone: Decimal
    per_step: Decimal
    international: bool


_TARIFFS = {
    t.service.code: t
    for t in (
        _Tariff(
            Service("ground", "Sandbox Ground", 5), Decimal("7.00"), Decimal("0.60"), Decimal("0.90"), False
        ),
        _Tariff(
            Service("two_day", "Sandbox 2-Day", 2), Decimal("14.00"), Decimal("1.20"), Decimal("1.80"), False
        ),
        _Tariff(
            Service("overnight", "Sandbox Overnight", 1),
            Decimal("29.00"),
            Decimal("2.50"),
            Decimal("3.20"),
            False,
        ),
        _Tariff(
            Service("intl_economy", "Sandbox Intl Economy", 10),
            Decimal("24.00"),
            Decimal(0),
            Decimal("4.50"),
            True,
        ),
        _Tariff(
            Service("intl_express", "Sandbox Intl Express", 4),
            Decimal("48.00"),
            Decimal(0),
            Decimal("8.00"),
            True,
        ),
    )
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS labels (
  tracking_number TEXT PRIMARY KEY, label_id TEXT NOT NULL UNIQUE, service TEXT NOT NULL, reference TEXT NOT NULL,
  destination_postal TEXT NOT NULL, delivery_days INTEGER NOT NULL, amount_minor INTEGER NOT NULL,
  currency TEXT NOT NULL, created_at REAL NOT NULL, voided_at REAL);
"""


# --- pricing (pure) -----------------------------------------------------------------------------------------------


def zone(origin_postal: str, destination_postal: str) -> int:
    """Zone 1-8 from the distance between the ZIP codes' first three digits (1 = same area)."""
    origin, destination = int(origin_postal[:3]), int(destination_postal[:3])
    return min(8, 1 + abs(origin - destination) // 125)


def billable_weight_g(parcel: Parcel) -> int:
    """The larger of the actual weight and the dimensional weight (volume / 5000 cm³ per kg), in grams."""
    volume_mm3 = parcel.length_mm * parcel.width_mm * parcel.height_mm
    dimensional_g = -(-volume_mm3 // DIM_DIVISOR_MM3_PER_G)  # ceiling division
    return max(parcel.weight_g, dimensional_g)


def price(service: str, zone_number: int, parcels: list[Parcel]) -> Money:
    """The tariff for `parcels` with `service` into `zone_number`, each parcel charged per started 500 g."""
    tariff = _TARIFFS[service]
    total = Decimal(0)
    for parcel in parcels:
        steps = max(1, -(-billable_weight_g(parcel) // WEIGHT_STEP_G))
        total += tariff.base + tariff.per_zone * (zone_number - 1) + tariff.per_step * steps
    return Money(total, "USD")


def check_digit(digits: str) -> str:
    """A mod-10 check digit with weights 3,1 from the right (the GTIN scheme)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def tracking_number_for(counter: int) -> str:
    body = f"{counter:011d}"
    return "SBX" + body + check_digit(body)


def _is_domestic(request_from: Address, request_to: Address) -> bool:
    return request_from.country.upper() == "US" and request_to.country.upper() == "US"


def _refuse_faulty(*places: Address) -> None:
    for address in places:
        if address.postal_code.strip() == INVALID_POSTAL:
            raise CarrierRejected("address_invalid", f"postal code {INVALID_POSTAL} does not exist")
        if TIMEOUT_MARK in address.line1 or TIMEOUT_MARK in address.line2:
            raise CarrierUnavailable("the sandbox carrier did not answer in time (FAULT-TIMEOUT)")


# --- the carrier --------------------------------------------------------------------------------------------------


class SandboxCarrier:
    """The sandbox carrier in-process. Thread- and process-safe: each write is one `BEGIN IMMEDIATE` transaction
    on its own SQLite file (created owner-only, 0600)."""

    name = "sandbox"
    title = "SANDBOX CARRIER"

    def __init__(self, path: str | Path, *, webhook_secret: str = "", clock: Clock = system_clock) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        self.webhook_secret = webhook_secret
        self.clock = clock
        self._local = threading.local()
        self._connection().executescript(_SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _next(self, conn: sqlite3.Connection, counter: str) -> int:
        conn.execute(
            "INSERT INTO counters (name, value) VALUES (?, 1) "
            "ON CONFLICT (name) DO UPDATE SET value = value + 1",
            (counter,),
        )
        return int(conn.execute("SELECT value FROM counters WHERE name = ?", (counter,)).fetchone()[0])

    # --- rates and labels ---------------------------------------------------------------------------------------

    def services(self) -> list[Service]:
        return [tariff.service for tariff in _TARIFFS.values()]

    def _offered(self, ship_from: Address, ship_to: Address) -> list[_Tariff]:
        domestic = _is_domestic(ship_from, ship_to)
        return [t for t in _TARIFFS.values() if t.international != domestic]

    def _zone(self, ship_from: Address, ship_to: Address) -> int:
        if not _is_domestic(ship_from, ship_to):
            return 1
        return zone(addresses.digits(ship_from.postal_code), addresses.digits(ship_to.postal_code))

    def rates(self, request: RateRequest) -> list[Rate]:
        _refuse_faulty(request.ship_from, request.ship_to)
        if not request.parcels or any(p.weight_g <= 0 for p in request.parcels):
            raise CarrierRejected("weight_required", "every parcel needs a weight above 0 g")
        zone_number = self._zone(request.ship_from, request.ship_to)
        billable = sum(billable_weight_g(p) for p in request.parcels)
        return [
            Rate(
                carrier=self.name,
                service=tariff.service.code,
                amount=price(tariff.service.code, zone_number, request.parcels),
                delivery_days=tariff.service.delivery_days,
                estimated_delivery_on=_business_days_after(request.ship_on, tariff.service.delivery_days),
                rate_id=f"sbxr_{tariff.service.code}_z{zone_number}_{billable}g",
            )
            for tariff in self._offered(request.ship_from, request.ship_to)
        ]

    def buy_label(self, request: LabelRequest) -> Label:
        if TIMEOUT_MARK in request.reference:
            raise CarrierUnavailable("the sandbox carrier did not answer in time (FAULT-TIMEOUT)")
        _refuse_faulty(request.ship_from, request.ship_to)
        service = request.service_code
        offered = {t.service.code: t for t in self._offered(request.ship_from, request.ship_to)}
        if service not in offered:
            raise CarrierRejected("unknown_service", f"the sandbox carrier has no service {service!r} here")
        if request.parcel.weight_g <= 0:
            raise CarrierRejected("weight_required", "a label needs the parcel's weight (above 0 g)")
        tariff = offered[service]
        amount = price(service, self._zone(request.ship_from, request.ship_to), [request.parcel])
        now = self.clock.now()
        with self._transaction() as conn:
            counter = self._next(conn, "label")
            tracking_number = tracking_number_for(counter)
            label_id = f"sbxl_{counter:011d}"
            conn.execute(
                "INSERT INTO labels VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                (
                    tracking_number,
                    label_id,
                    service,
                    request.reference,
                    request.ship_to.postal_code.strip(),
                    tariff.service.delivery_days,
                    amount.minor,
                    amount.currency,
                    now.timestamp(),
                ),
            )
        content = LabelContent(
            carrier_title=self.title,
            service_name=tariff.service.name,
            tracking_number=tracking_number,
            reference=request.reference,
            ship_from=request.ship_from,
            ship_to=request.ship_to,
            weight_g=request.parcel.weight_g,
            ship_on_text=now.date().isoformat(),
        )
        document = render_pdf(content) if request.label_format == "pdf" else render_zpl(content)
        return Label(self.name, service, tracking_number, amount, request.label_format, document, label_id)

    def _label(self, conn: sqlite3.Connection, tracking_number: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM labels WHERE tracking_number = ?", (tracking_number,)).fetchone()
        if row is None:
            raise CarrierRejected("label_not_found", f"no sandbox label {tracking_number}")
        assert isinstance(row, sqlite3.Row)
        return row

    def void_label(self, *, tracking_number: str, label_id: str = "") -> None:
        now = self.clock.now()
        with self._transaction() as conn:
            row = self._label(conn, tracking_number)
            if row["voided_at"] is not None:
                return
            if any(e.status != "pre_transit" for e in _timeline(row, until=now)):
                raise CarrierRejected("label_in_transit", f"{tracking_number} is already moving")
            conn.execute(
                "UPDATE labels SET voided_at = ? WHERE tracking_number = ?",
                (now.timestamp(), tracking_number),
            )

    # --- tracking -------------------------------------------------------------------------------------------------

    def track(self, *, tracking_number: str, label_id: str = "") -> list[TrackingEvent]:
        row = self._label(self._connection(), tracking_number)
        now = self.clock.now()
        if row["voided_at"] is not None:
            now = min(now, datetime.fromtimestamp(row["voided_at"], UTC))
        return _timeline(row, until=now)

    def signed_webhook(
        self, tracking_number: str, *, at: datetime | None = None
    ) -> tuple[dict[str, str], bytes]:
        """The `tracker.updated` webhook the sandbox would post now: its body and signature header."""
        events = self.track(tracking_number=tracking_number)
        payload = {
            "id": f"sbxe_{tracking_number}_{len(events)}",
            "type": "tracker.updated",
            "data": {
                "tracking_number": tracking_number,
                "events": [
                    {"event_id": e.event_id, "status": e.status, "detail": e.detail, "at": e.at.isoformat()}
                    for e in events
                ],
            },
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        stamp = int((at or self.clock.now()).timestamp())
        return {SIGNATURE_HEADER: signing.sign(self.webhook_secret, body, stamp)}, body

    def parse_webhook(
        self, *, headers: Mapping[str, str], body: bytes, query: Mapping[str, str] | None = None
    ) -> list[TrackingEvent]:
        header = signing.lowered(headers).get(SIGNATURE_HEADER.lower(), "")
        signing.verify(self.webhook_secret, header, body, now_s=self.clock.now().timestamp())
        try:
            data = json.loads(body)["data"]
            return [
                TrackingEvent(
                    tracking_number=str(data["tracking_number"]),
                    status=e["status"],
                    detail=str(e["detail"]),
                    at=datetime.fromisoformat(e["at"]).astimezone(UTC),
                    event_id=str(e["event_id"]),
                )
                for e in data["events"]
            ]
        except (ValueError, KeyError, TypeError) as bad:
            raise SignatureInvalid("the signed body is not a sandbox carrier event") from bad

    # --- addresses and manifests ----------------------------------------------------------------------------------

    def validate_address(self, address: Address) -> AddressCheck:
        _refuse_faulty(address)
        return addresses.check_us_address(address)

    def manifest(
        self, *, tracking_numbers: list[str], ship_on: date, label_ids: list[str] | None = None
    ) -> Manifest:
        if not tracking_numbers:
            raise CarrierRejected("manifest_empty", "a manifest needs at least one label")
        with self._transaction() as conn:
            rows = [self._label(conn, number) for number in tracking_numbers]
            voided = [row["tracking_number"] for row in rows if row["voided_at"] is not None]
            if voided:
                raise CarrierRejected(
                    "label_voided", f"voided labels cannot be manifested: {', '.join(voided)}"
                )
            manifest_id = f"SBXM{self._next(conn, 'manifest'):08d}"
        lines = [f"{row['tracking_number']}  {row['service']:<13} {row['reference']}" for row in rows]
        content = render_manifest_pdf(
            carrier_title=self.title, manifest_id=manifest_id, ship_on_text=ship_on.isoformat(), rows=lines
        )
        return Manifest(self.name, manifest_id, list(tracking_numbers), content, self.clock.now())


def _business_days_after(start: date, days: int) -> date:
    """The sandbox's own calendar: Monday to Friday, no holidays."""
    day = start
    while day.weekday() >= 5:
        day += timedelta(days=1)
    for _ in range(days):
        day += timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
    return day


def _timeline(row: sqlite3.Row, *, until: datetime) -> list[TrackingEvent]:
    """The label's scans up to `until`, oldest first."""
    created = datetime.fromtimestamp(row["created_at"], UTC)
    days = int(row["delivery_days"])
    moving = created + (timedelta(days=1) if days > 1 else timedelta(hours=12))
    planned: list[tuple[TrackingStatus, datetime, str]] = [
        ("pre_transit", created, "Label created; the carrier is waiting for the parcel"),
        ("in_transit", moving, "Accepted at the origin facility"),
    ]
    if row["destination_postal"] == EXCEPTION_POSTAL:
        planned.append(
            ("exception", created + timedelta(days=2), "Delivery exception: address not accessible")
        )
    else:
        delivered = datetime.combine(_business_days_after(created.date(), days), created.timetz())
        planned.append(("out_for_delivery", delivered - timedelta(hours=4), "Out for delivery"))
        planned.append(("delivered", delivered, "Delivered"))
    number = row["tracking_number"]
    return [
        TrackingEvent(number, status, detail, at, f"{number}-{status}")
        for status, at, detail in planned
        if at <= until
    ]
