"""The output serializers build their fields once per class (``bills.serializers.OutputFieldsOnce``): what they
return is exactly DRF's own representation, field for field and in order, for every viewer; and the method
fields answer with this serializer's request, never the one of the instance that built the shared fields."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from rest_framework import serializers
from rest_framework.utils.encoders import JSONEncoder

from bills import listings, selectors, services
from bills.errors import BillNotFound
from bills.models import Bill, BillPurchase
from bills.serializers import (
    BillDetailSerializer,
    BillEventSerializer,
    BillSerializer,
    BuyResultSerializer,
    ListingSerializer,
    OutputFieldsOnce,
)
from tests.bills.factories import accepted, financed, listed, pending

pytestmark = pytest.mark.django_db

VIEWERS = ("supplier", "buyer", "financier", "financier2", "supplier2", "regulator")


def _bills(world) -> list[Bill]:  # type: ignore[no-untyped-def]
    parent = accepted(world, face="9000.00")
    services.bill_split(bill_id=parent.pk, actor=world.user("supplier"),
                        parts=[{"face": "4000.00"}, {"face": "5000.00"}])
    asked = accepted(world)
    services.bill_request_early_settlement(bill_id=asked.pk, actor=world.user("buyer"))
    return [financed(world), parent, *Bill.objects.filter(parent=parent), asked, pending(world), listed(world)]


def _render(world, bills: list[Bill]) -> list[str]:  # type: ignore[no-untyped-def]
    """Every output the bills API gives, for every viewer, as JSON text (the order of keys included)."""
    out: list[Any] = []
    for name in VIEWERS:
        request = SimpleNamespace(user=world.user(name))
        for bill in bills:
            try:
                detail = selectors.bill_get_detail(user=request.user, bill_id=bill.pk)
            except BillNotFound:
                continue
            out.append(BillDetailSerializer(detail, context={"request": request}).data)
            out.append(BillEventSerializer(selectors.bill_events(detail), many=True).data)
        out.append(BillSerializer(selectors.bills_visible_to(request.user).order_by("id"), many=True).data)
        if listings.marketplace_allowed(request.user):
            out.append(ListingSerializer(listings.marketplace_listings(request.user), many=True).data)
    purchase = BillPurchase.objects.order_by("id").first()
    assert purchase is not None
    buyer = SimpleNamespace(user=world.user("financier"))
    out.append(BuyResultSerializer(selectors.bill_get_detail(user=buyer.user, bill_id=purchase.bill_id),
                                   context={"request": buyer, "purchase": purchase}).data)
    return [json.dumps(item, cls=JSONEncoder) for item in out]


def test_the_outputs_are_drfs_own_representation(world, monkeypatch):
    bills = _bills(world)
    fast = _render(world, bills)
    monkeypatch.setattr(OutputFieldsOnce, "to_representation", serializers.Serializer.to_representation)
    monkeypatch.setattr(OutputFieldsOnce, "represent", classmethod(lambda cls, instance: cls(instance).data))
    assert _render(world, bills) == fast
    assert len(fast) > 40


def test_method_fields_answer_with_their_own_request(world):
    """Purchases and actions depend on the viewer: serializers made one after another for different viewers
    each show their own viewer's, whichever of them built the shared fields."""
    bill = financed(world)
    OutputFieldsOnce._plans.clear()
    answers = {}
    for name in ("regulator", "financier", "supplier"):
        user = world.user(name)
        detail = selectors.bill_get_detail(user=user, bill_id=bill.pk)
        answers[name] = BillDetailSerializer(detail, context={"request": SimpleNamespace(user=user)}).data
    assert answers["regulator"]["actions"] == []  # read only
    assert answers["financier"]["actions"]  # the holder
    assert answers["supplier"]["actions"] == []  # sold it
    assert [p["buyer"]["id"] for p in answers["supplier"]["purchases"]] == [world.org("financier").pk]
    assert BillDetailSerializer(bill, context={}).data["purchases"] == []  # no request, nothing to show


def test_the_schema_describes_the_serializers_as_before():
    """The mixin adds nothing to the OpenAPI schema: a serializer without a docstring of its own has no
    description there (the mixin's would be taken), and the fields are DRF's."""
    from drf_spectacular.generators import SchemaGenerator

    from bills import api_urls

    components = SchemaGenerator(patterns=api_urls.urlpatterns).get_schema(request=None, public=True)[
        "components"]["schemas"]
    for name in ("Bill", "BillDetail", "BillEvent", "Allocation", "Child", "Purchase", "BuyResult", "BillParty"):
        assert "description" not in components[name], name
    assert components["Listing"]["description"].startswith("What a financier needs to price a listed bill")
    assert list(components["BillDetail"]["properties"]) == list(BillDetailSerializer().fields)
