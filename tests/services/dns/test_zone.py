"""The Route 53-like zone: atomic change batches and record sets tagged with their plan generation."""

from __future__ import annotations

import pytest

from services.dns.zone import Action, Change, RecordSet, RecordSetChange, WeightedAddress, Zone
from services.errors import InvalidChangeBatch

A1 = (WeightedAddress("127.0.1.1"),)
A2 = (WeightedAddress("127.0.1.2", 3),)


def test_a_batch_with_one_bad_change_applies_nothing() -> None:
    """Route 53 validates the whole batch first: one failing change leaves the zone untouched."""
    zone = Zone()
    zone.change([Change(Action.CREATE, RecordSet("a.cloud.test", A1, 5, 1))])
    with pytest.raises(InvalidChangeBatch, match="already exists"):
        zone.change(
            [
                Change(Action.UPSERT, RecordSet("b.cloud.test", A2, 5, 2)),
                Change(Action.CREATE, RecordSet("a.cloud.test", A2, 5, 2)),
            ]
        )
    assert zone.get("b.cloud.test") is None
    assert zone.get("a.cloud.test") == RecordSet("a.cloud.test", A1, 5, 1)


def test_delete_needs_the_exact_current_values() -> None:
    """A DELETE names the record set it removes; other values are an InvalidChangeBatch."""
    zone = Zone()
    zone.change([Change(Action.UPSERT, RecordSet("a.cloud.test", A1, 5, 1))])
    with pytest.raises(InvalidChangeBatch, match="not found"):
        zone.change([Change(Action.DELETE, RecordSet("a.cloud.test", A2, 5, 1))])
    zone.change([Change(Action.DELETE, RecordSet("a.cloud.test", A1, 5, 1))])
    assert zone.get("a.cloud.test") is None


def test_names_outside_the_zone_are_refused() -> None:
    """Only names at or under the origin belong to the zone."""
    with pytest.raises(InvalidChangeBatch, match="not in zone"):
        Zone().change([Change(Action.UPSERT, RecordSet("example.com", A1, 5))])


def test_listeners_see_each_change_with_before_and_after_and_names_are_case_insensitive() -> None:
    """Listeners get (before, after) per name; lookups ignore case and a trailing dot."""
    zone = Zone()
    seen: list[RecordSetChange] = []
    zone.subscribe(seen.append)
    zone.change([Change(Action.UPSERT, RecordSet("A.Cloud.Test.", A1, 5, 7))])
    zone.change([Change(Action.UPSERT, RecordSet("a.cloud.test", (), 5, 7))])
    assert [(c.before is None, c.after is not None and c.after.empty) for c in seen] == [(True, False), (False, True)]
    record = zone.get("a.CLOUD.test.")
    assert record is not None and record.empty and record.generation == 7
    assert zone.serial == 3


def test_weights_and_addresses_are_checked() -> None:
    """Route 53 weights are 0..255 and addresses must be IPv4."""
    with pytest.raises(ValueError, match="weight"):
        WeightedAddress("127.0.0.1", 256)
    with pytest.raises(ValueError):
        WeightedAddress("not-an-ip")
