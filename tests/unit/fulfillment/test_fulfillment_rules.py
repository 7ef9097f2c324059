"""Fulfillment's pure rules: shipment transitions, wave choice, ship-by days, pick paths, walk splits, cartons."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordersmith.fulfillment.rules import cartons, picking, transitions, waves

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday


def candidate(n: int, **fields: object) -> waves.Candidate:
    values: dict[str, object] = {
        "id": f"s{n}",
        "channel": "web",
        "method": "ground",
        "priority": 0,
        "placed_at": T0 + timedelta(minutes=n),
        "ship_by_on": None,
        "lines": 1,
        "units": 1,
    }
    return waves.Candidate(**(values | fields))  # type: ignore[arg-type]


def test_a_shipment_moves_along_its_table_and_nothing_else():
    assert transitions.next_status("pending", "start_picking") == "picking"
    assert transitions.next_status("picking", "pick") == "picked"
    assert transitions.next_status("picked", "pack") == "packed"
    assert transitions.next_status("packed", "ship") == "shipped"
    assert transitions.next_status("shipped", "exception") == "exception"
    assert transitions.next_status("exception", "deliver") == "delivered"
    assert transitions.next_status("picked", "confirm") == "shipped"
    with pytest.raises(transitions.IllegalMove, match="a shipped shipment cannot ship"):
        transitions.next_status("shipped", "ship")
    with pytest.raises(transitions.IllegalMove, match="a picked shipment cannot ship"):
        transitions.next_status("picked", "ship")
    with pytest.raises(transitions.IllegalMove):
        transitions.next_status("shipped", "cancel")


def test_a_wave_takes_priority_then_the_earliest_ship_by_day_then_the_oldest():
    pool = [candidate(1), candidate(2, ship_by_on=date(2026, 12, 2)), candidate(3, priority=5),
            candidate(4, ship_by_on=date(2026, 12, 1))]  # fmt: skip
    chosen = waves.choose(pool, waves.WaveFilters(max_orders=3))
    assert [c.id for c in chosen] == ["s3", "s4", "s2"]


def test_a_wave_skips_a_shipment_too_large_for_its_units_and_takes_a_smaller_one_behind_it():
    pool = [candidate(1, units=3), candidate(2, units=9), candidate(3, units=2)]
    chosen = waves.choose(pool, waves.WaveFilters(max_units=5))
    assert [c.id for c in chosen] == ["s1", "s3"]


def test_wave_filters_admit_by_method_channel_lines_priority_and_ship_by_day():
    filters = waves.WaveFilters(methods=frozenset({"express"}), single_line=False, min_priority=1,
                                ship_by_on=date(2026, 12, 2), undated=False)  # fmt: skip
    good = candidate(1, method="express", lines=2, priority=1, ship_by_on=date(2026, 12, 2))
    assert waves.admits(good, filters)
    assert not waves.admits(
        candidate(2, method="ground", lines=2, priority=1, ship_by_on=date(2026, 12, 2)), filters
    )
    assert not waves.admits(
        candidate(3, method="express", lines=1, priority=1, ship_by_on=date(2026, 12, 2)), filters
    )
    assert not waves.admits(
        candidate(4, method="express", lines=2, priority=0, ship_by_on=date(2026, 12, 2)), filters
    )
    assert not waves.admits(
        candidate(5, method="express", lines=2, priority=1, ship_by_on=date(2026, 12, 3)), filters
    )
    assert not waves.admits(candidate(6, method="express", lines=2, priority=1), filters)
    assert waves.admits(candidate(7, channel="amazon"), waves.WaveFilters())
    assert not waves.admits(candidate(8, channel="amazon"), waves.WaveFilters(channels=frozenset({"web"})))


def test_totes_are_numbered_wide_enough_for_the_wave():
    assert waves.totes(3) == ["T01", "T02", "T03"]
    assert waves.totes(120)[-1] == "T120"


def test_ship_by_is_the_next_business_day_or_the_same_day_for_fast_methods():
    friday = datetime(2026, 12, 4, 15, tzinfo=UTC)
    assert waves.ship_by(T0, "ground") == date(2026, 12, 2)
    assert waves.ship_by(T0, "overnight") == date(2026, 12, 1)
    assert waves.ship_by(friday, "ground") == date(2026, 12, 7)
    assert waves.ship_by(datetime(2026, 12, 5, 10, tzinfo=UTC), "express") == date(2026, 12, 7)


def item(
    shipment: str, tote: str, sku: str, quantity: int, bin_code: str = "", walk: int = picking.NO_BIN_SEQUENCE
):
    return picking.PickItem(shipment, f"o-{shipment}", tote, sku, sku.title(), quantity, bin_code, walk)


def test_a_pick_path_walks_the_bins_in_order_and_leaves_unbinned_items_for_last():
    stops = picking.pick_path([
        item("s1", "T01", "TEE", 2, "C-1", 30), item("s2", "T02", "TEE", 1, "C-1", 30),
        item("s1", "T01", "MUG", 1), item("s2", "T02", "LAMP", 1, "A-1", 10),
    ])  # fmt: skip
    assert [(s.sequence, s.bin, s.sku, s.quantity) for s in stops] == [
        (1, "A-1", "LAMP", 1), (2, "C-1", "TEE", 3), (3, "", "MUG", 1)]  # fmt: skip
    assert [(d.tote, d.quantity) for d in stops[1].drops] == [("T01", 2), ("T02", 1)]


def test_a_walk_is_cut_into_consecutive_stretches_of_about_equal_units():
    stops = picking.pick_path([item(f"s{n}", "T01", f"SKU{n}", 1 + n % 2, f"B{n}", n) for n in range(10)])
    parts = picking.split_walk(stops, 3)
    assert len(parts) == 3 and [s.sequence for p in parts for s in p] == list(range(1, 11))
    assert (
        max(sum(s.quantity for s in p) for p in parts) - min(sum(s.quantity for s in p) for p in parts) <= 2
    )
    assert picking.split_walk(stops[:2], 5) == [[stops[0]], [stops[1]]]


@given(st.lists(st.integers(min_value=1, max_value=20), min_size=1, max_size=40), st.integers(1, 8))
def test_every_stop_is_walked_once_in_order_whatever_the_pickers(quantities: list[int], pickers: int):
    stops = picking.pick_path(
        [item("s", "T01", f"S{n:03d}", q, f"B{n:03d}", n) for n, q in enumerate(quantities)]
    )
    parts = picking.split_walk(stops, pickers)
    assert [s for p in parts for s in p] == stops
    assert all(parts) and len(parts) == min(pickers, len(stops))


def test_cartons_fill_an_open_box_then_grow_it_then_open_another():
    tee = cartons.Unit("TEE", 200, 250, 200, 50)
    boxes = cartons.cartonize([tee, tee])
    assert [(b.carton.code, b.weight_g, len(b.units)) for b in boxes] == [("SMALL", 580, 2)]
    lamp = cartons.Unit("LAMP", 20000, 500, 350, 350)
    boxes = cartons.cartonize([lamp, tee])
    assert [(b.carton.code, len(b.units)) for b in boxes] == [("LARGE", 2)]
    with pytest.raises(cartons.DoesNotFit):
        cartons.cartonize([cartons.Unit("SOFA", 50000, 2000, 900, 800)])


@given(
    st.lists(
        st.tuples(st.integers(1, 5000), st.integers(10, 390), st.integers(10, 390), st.integers(10, 390)),
        min_size=1,
        max_size=25,
    )
)
def test_every_unit_lands_in_exactly_one_box_that_holds_it(specs: list[tuple[int, int, int, int]]):
    units = [cartons.Unit(f"U{n}", *spec) for n, spec in enumerate(specs)]
    boxes = cartons.cartonize(units)
    assert sorted(u.sku for b in boxes for u in b.units) == sorted(u.sku for u in units)
    for box in boxes:
        assert box.weight_g <= box.carton.max_weight_g
        assert box.filled <= box.carton.volume
        assert all(u.fits_in(box.carton) for u in box.units)
