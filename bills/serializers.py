"""Serializers and filters of the bills API: output shapes, the documented request bodies, list filters.

They shape input and output only: amounts and rates travel as decimal strings (a JSON float is refused), and
the request-body serializers document the body for the OpenAPI schema; the services parse the bodies
themselves after the rule book's guard (``bills.api``), so no rule lives here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject

from bills import clock, listings, selectors
from bills.models import Bill, BillAllocation, BillEvent, BillPurchase, BillState
from finance_portal.filters import AsciiDateFilter, AsciiNumberFilter
from finance_portal.organizations.models import Organization

# ---------------------------------------------------------------------------------------------------------
# Fields and output serializers
# ---------------------------------------------------------------------------------------------------------


class OutputFieldsOnce:
    # For output serializers: their fields are built once per class, not for every instance as DRF does.
    # ``to_representation`` is DRF's own loop over the readable fields of one instance built without context,
    # except that a ``SerializerMethodField`` calls this instance's method (so ``self.context``, the request,
    # is this one's). The shared fields must not read the context themselves (no hyperlinks, no file URLs);
    # the fields of the schema are DRF's as before. (No docstring: the OpenAPI schema would take it as the
    # description of every serializer without one of its own.)

    _plans: ClassVar[dict[type, list[tuple[Any, serializers.Field, str | None]]]] = {}

    def to_representation(self, instance: Any) -> dict[str, Any]:
        plan = OutputFieldsOnce._plans.get(type(self))
        if plan is None:
            prototype: Any = type(self)()
            plan = [(f.field_name, f, f.method_name if isinstance(f, serializers.SerializerMethodField) else None)
                    for f in prototype._readable_fields]
            OutputFieldsOnce._plans[type(self)] = plan
        ret: dict[str, Any] = {}
        for name, field, method in plan:
            if method is not None:
                ret[name] = getattr(self, method)(instance)
                continue
            try:
                attribute = field.get_attribute(instance)
            except SkipField:
                continue
            check_for_none = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            ret[name] = None if check_for_none is None else field.to_representation(attribute)
        return ret

    @classmethod
    def represent(cls, instance: Any) -> dict[str, Any]:
        """``cls(instance).data`` without a serializer per call (for serializers whose output needs no context)."""
        shared = OutputFieldsOnce._shared.get(cls)
        if shared is None:
            shared = OutputFieldsOnce._shared[cls] = cls()
        return shared.to_representation(instance)

    _shared: ClassVar[dict[type, Any]] = {}


@extend_schema_field({"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$", "example": "10000.00"})
class DecimalStringField(serializers.Field):
    """A decimal sent as a JSON string (or integer). Floats are refused: they have already lost the cents."""

    default_error_messages = {"float": "Send this as a decimal string such as \"10000.00\", not a JSON number "
                                       "with a fraction.", "type": "Send this as a decimal string."}

    def to_internal_value(self, data: object) -> str:
        if isinstance(data, bool) or isinstance(data, float):
            self.fail("float")
        if isinstance(data, int):
            return str(data)
        if not isinstance(data, str):
            self.fail("type")
        return data.strip()

    def to_representation(self, value: object) -> str:
        return str(value)


class BillPartySerializer(OutputFieldsOnce, serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    legal_name = serializers.CharField(read_only=True)
    credit_code = serializers.CharField(read_only=True)


class AnchoringSerializer(OutputFieldsOnce, serializers.Serializer):
    status = serializers.ChoiceField(choices=["pending", "sent", "anchored", "failed"])
    block = serializers.IntegerField(allow_null=True)
    tx_hash = serializers.CharField(allow_null=True)
    log_index = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_null=True)


class BillEventSerializer(OutputFieldsOnce, serializers.ModelSerializer):
    actor = BillPartySerializer(read_only=True)
    from_state = serializers.SerializerMethodField()
    anchoring = serializers.SerializerMethodField(help_text="Where this event's anchoring on chain stands.")

    class Meta:
        model = BillEvent
        fields = ["seq", "type", "from_state", "to_state", "actor", "occurred_at", "amounts", "details",
                  "prev_hash", "hash", "canonical", "anchoring"]

    def get_from_state(self, event: BillEvent) -> str | None:
        return event.from_state or None

    @extend_schema_field(AnchoringSerializer)
    def get_anchoring(self, event: BillEvent) -> dict[str, object]:
        return selectors.anchoring_status(event)


class BillSerializer(OutputFieldsOnce, serializers.ModelSerializer):
    creditor = BillPartySerializer(read_only=True)
    debtor = BillPartySerializer(read_only=True)
    holder = BillPartySerializer(read_only=True)
    pending_holder = BillPartySerializer(read_only=True, allow_null=True)
    bill_key = serializers.CharField(read_only=True, help_text="keccak256 of the bill id: its key on chain.")

    class Meta:
        model = Bill
        fields = ["id", "number", "state", "face", "currency", "issue_date", "maturity_date", "creditor",
                  "debtor", "holder", "pending_holder", "asking_rate", "parent", "root", "reference", "bill_key",
                  "created_at", "updated_at"]


class AllocationSerializer(OutputFieldsOnce, serializers.ModelSerializer):
    invoice_number = serializers.CharField(source="invoice.invoice_number", read_only=True)
    invoice_total = serializers.DecimalField(source="invoice.total_amount", max_digits=20, decimal_places=2,
                                             read_only=True)
    invoice_status = serializers.CharField(source="invoice.status", read_only=True)

    class Meta:
        model = BillAllocation
        fields = ["invoice", "invoice_number", "invoice_total", "invoice_status", "amount"]


class ChildSerializer(OutputFieldsOnce, serializers.ModelSerializer):
    class Meta:
        model = Bill
        fields = ["id", "number", "state", "face"]


class PurchaseSerializer(OutputFieldsOnce, serializers.ModelSerializer):
    buyer = BillPartySerializer(read_only=True)
    seller = BillPartySerializer(read_only=True)

    class Meta:
        model = BillPurchase
        fields = ["bill", "buyer", "seller", "face", "currency", "rate", "days", "basis", "interest", "price",
                  "purchased_at"]


class AnchoringSummarySerializer(OutputFieldsOnce, serializers.Serializer):
    events = serializers.IntegerField()
    anchored = serializers.IntegerField()
    pending = serializers.IntegerField()
    failed = serializers.IntegerField()


class BillDetailSerializer(BillSerializer):
    allocations = serializers.SerializerMethodField(help_text="The invoices behind the bill (its root's, for a part).")
    children = ChildSerializer(many=True, read_only=True)
    purchases = serializers.SerializerMethodField(
        help_text="The purchases your organization took part in (as buyer or seller); all of them for oversight.")
    anchoring = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField(help_text="The actions your organization may try now.")

    class Meta(BillSerializer.Meta):
        fields = [*BillSerializer.Meta.fields, "allocations", "children", "purchases", "anchoring", "actions"]

    @extend_schema_field(AllocationSerializer(many=True))
    def get_allocations(self, bill: Bill) -> list[dict[str, Any]]:
        return [AllocationSerializer.represent(row) for row in selectors.bill_allocations(bill)]

    @extend_schema_field(PurchaseSerializer(many=True))
    def get_purchases(self, bill: Bill) -> list[dict[str, Any]]:
        request = self.context.get("request")
        if request is None:
            return []
        visible = selectors.bill_purchases_visible(bill=bill, user=request.user)
        return [PurchaseSerializer.represent(row) for row in visible]

    @extend_schema_field(AnchoringSummarySerializer)
    def get_anchoring(self, bill: Bill) -> dict[str, int]:
        return selectors.bill_anchoring_summary(bill)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_actions(self, bill: Bill) -> list[str]:
        request = self.context.get("request")
        return selectors.bill_available_actions(bill=bill, user=request.user) if request else []


class BuyResultSerializer(BillDetailSerializer):
    purchase = serializers.SerializerMethodField()

    class Meta(BillDetailSerializer.Meta):
        fields = [*BillDetailSerializer.Meta.fields, "purchase"]

    @extend_schema_field(PurchaseSerializer)
    def get_purchase(self, bill: Bill) -> dict[str, Any]:
        return PurchaseSerializer.represent(self.context["purchase"])


class InvoiceSummarySerializer(OutputFieldsOnce, serializers.Serializer):
    count = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    verified = serializers.IntegerField(help_text="How many of them the debtor has verified.")


class ListingAnchoringSerializer(OutputFieldsOnce, serializers.Serializer):
    events = serializers.IntegerField()
    unanchored = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["anchored", "pending"])


class QuoteSerializer(OutputFieldsOnce, serializers.Serializer):
    days = serializers.IntegerField()
    basis = serializers.IntegerField()
    interest = serializers.DecimalField(max_digits=20, decimal_places=2)
    price = serializers.DecimalField(max_digits=20, decimal_places=2)


class ListingSerializer(OutputFieldsOnce, serializers.ModelSerializer):
    """What a financier needs to price a listed bill (DESIGN §8), and not more."""

    _today: dt.date | None = None

    debtor = BillPartySerializer(read_only=True)
    invoices = serializers.SerializerMethodField()
    anchoring = serializers.SerializerMethodField()
    quote = serializers.SerializerMethodField(help_text="The price if bought today at the asking rate.")

    class Meta:
        model = Bill
        fields = ["id", "number", "debtor", "face", "currency", "issue_date", "maturity_date", "asking_rate",
                  "debtor_score", "holder_score", "quote", "invoices", "anchoring"]

    debtor_score = serializers.IntegerField(read_only=True, allow_null=True,
                                            help_text="The debtor's latest credit score (300–850), if it has one.")
    holder_score = serializers.IntegerField(read_only=True, allow_null=True,
                                            help_text="The seller's latest credit score (300–850), if it has one.")

    @extend_schema_field(InvoiceSummarySerializer)
    def get_invoices(self, bill: listings.ListingFigures) -> dict[str, Any]:
        return InvoiceSummarySerializer.represent(
            {"count": bill.invoice_count or 0, "total": bill.invoice_total, "verified": bill.invoices_verified or 0}
        )

    @extend_schema_field(ListingAnchoringSerializer)
    def get_anchoring(self, bill: listings.ListingFigures) -> dict[str, Any]:
        unanchored = bill.events_unanchored or 0
        return {"events": bill.events_total or 0, "unanchored": unanchored,
                "status": "anchored" if unanchored == 0 else "pending"}

    @extend_schema_field(QuoteSerializer(allow_null=True))
    def get_quote(self, bill: Bill) -> dict[str, Any] | None:
        if self._today is None:  # one "today" for the whole list
            self._today = clock.today()
        quote = selectors.purchase_quote(bill=bill, today=self._today)
        return None if quote is None else QuoteSerializer.represent(quote)


# ---------------------------------------------------------------------------------------------------------
# Input serializers (structure only; the services check the rules)
# ---------------------------------------------------------------------------------------------------------


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=500,
                                   help_text="Why: recorded in the bill's history.")


class RequiredReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="Why: recorded in the bill's history.")


class AllocationInput(serializers.Serializer):
    invoice = serializers.UUIDField(help_text="An invoice your organization registered.")
    amount = DecimalStringField(help_text="How much of the invoice backs this bill.")


class BillCreateInput(ReasonInput):
    invoice_allocations = serializers.ListField(child=AllocationInput(), allow_empty=False, max_length=50)
    maturity_date = serializers.DateField(help_text="After today, within BILL_MAX_TENOR_DAYS of today.")
    face = DecimalStringField(required=False, allow_null=True,
                              help_text="Optional: must equal the sum of the allocations.")
    currency = serializers.CharField(required=False, allow_null=True, max_length=8,
                                     help_text="ISO 4217; the platform's default.")
    reference = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=64)


class BillIssueInput(ReasonInput):
    to = serializers.CharField(max_length=64, help_text="The supplier's unified social credit code.")
    face = DecimalStringField()
    maturity_date = serializers.DateField()
    currency = serializers.CharField(required=False, allow_null=True, max_length=8)
    invoice_allocations = serializers.ListField(child=AllocationInput(), required=False, allow_null=True, max_length=50)
    reference = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=64)


class TransferInput(ReasonInput):
    to = serializers.CharField(max_length=64, help_text="The receiver's unified social credit code.")


class SplitPartInput(serializers.Serializer):
    face = DecimalStringField()
    transfer_to = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=64,
                                        help_text="Offer this part at once to this credit code (split-transfer).")


class SplitInput(ReasonInput):
    parts = serializers.ListField(child=SplitPartInput(), help_text="At least two parts summing to the face.")


class ListInput(ReasonInput):
    rate = DecimalStringField(help_text="Asking annual discount rate as a fraction: \"0.036\" is 3.6 %.")


class BuyInput(ReasonInput):
    rate = DecimalStringField(required=False, allow_null=True,
                              help_text="The asking rate you saw; refused (409) if it changed.")


# ---------------------------------------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------------------------------------


def _org_filter(field: str):  # type: ignore[no-untyped-def]
    def apply(queryset: QuerySet[Bill], name: str, value: str) -> QuerySet[Bill]:
        value = value.strip().upper()
        if value.isascii() and value.isdigit() and len(value) < 18:  # "³" and "١" pass isdigit(), not int()
            return queryset.filter(**{f"{field}_id": int(value)})
        # The code is looked up first, so the bills are filtered on their own column: joined instead, PostgreSQL
        # could not walk the (party, state, created) index in the page's order and sorted every match (8.6 ms
        # for 1,000 of 100,000 bills).
        org = Organization.objects.filter(credit_code=value).values_list("pk", flat=True).first()
        return queryset.filter(**{f"{field}_id": org}) if org is not None else queryset.none()

    return apply


class BillFilter(django_filters.FilterSet):
    # distinct=False: the state is the bill's own column, so no row can repeat; django-filter's default DISTINCT
    # made PostgreSQL join and sort every matching bill before the page's LIMIT (4.2 ms for 1,000 of 100,000).
    state = django_filters.MultipleChoiceFilter(choices=BillState.choices, distinct=False,
                                                help_text="Repeat for several states.")
    debtor = django_filters.CharFilter(method=_org_filter("debtor"), help_text="Credit code or organization id.")
    holder = django_filters.CharFilter(method=_org_filter("holder"), help_text="Credit code or organization id.")
    maturity_after = AsciiDateFilter(field_name="maturity_date", lookup_expr="gte")
    maturity_before = AsciiDateFilter(field_name="maturity_date", lookup_expr="lte")

    class Meta:
        model = Bill
        fields = ["state", "debtor", "holder", "maturity_after", "maturity_before"]


@extend_schema_field({"type": "number", "minimum": 0, "maximum": 1})
class RateFilter(AsciiNumberFilter):
    """An annual rate as a fraction ("0.035" is 3.5 %): from 0 to 1, anything else is a 400 naming it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, min_value=0, max_value=1, **kwargs)


class ListingFilter(django_filters.FilterSet):
    debtor = django_filters.CharFilter(method=_org_filter("debtor"), help_text="Credit code or organization id.")
    maturity_after = AsciiDateFilter(field_name="maturity_date", lookup_expr="gte")
    maturity_before = AsciiDateFilter(field_name="maturity_date", lookup_expr="lte")
    min_rate = RateFilter(field_name="asking_rate", lookup_expr="gte",
                          help_text="Listings asking at least this annual rate, as a fraction from 0 to 1.")
    sort = django_filters.ChoiceFilter(
        choices=[(key, label) for key, (label, _) in listings.MARKET_SORTS.items()], method="_sort",
        help_text="Order of the listings: maturity (default), rate, face, debtor_score, holder_score.")

    class Meta:
        model = Bill
        fields = ["debtor", "maturity_after", "maturity_before", "min_rate", "sort"]

    def _sort(self, queryset: QuerySet[Bill], name: str, value: str) -> QuerySet[Bill]:
        return listings.marketplace_sorted(queryset, value)
