"""Server-rendered pages of bills: the user's bills, a bill with its history and action forms, drafting and
issuing a bill, and the marketplace for financiers.

Every form posts to a view that calls the same service as the API; a refusal comes back as a message on the
page. The views translate form fields into service arguments and hold no rule of their own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from bills import (
    clock,
    confirmations,
    listings,
    market_selectors,
    market_views,
    page_forms,
    rules,
    selectors,
    services,
    verify_views,
)
from bills.disclosure import disclosure_for
from bills.errors import BillNotFound
from bills.models import Bill, BillEvent, BillState
from chain_adapter.conf import anchoring_settings
from chain_adapter.models import AnchorStatus, TxStatus
from finance_portal.errors import DomainError, NotPermitted
from finance_portal.users import signed_in_user

PAGE_SIZE = 25

# The names of the amounts a bill event records (bills.events), as the history table shows them.
AMOUNT_LABELS = {
    "face": gettext_lazy("Face"),
    "price": gettext_lazy("Price"),
    "interest": gettext_lazy("Interest"),
    "paid": gettext_lazy("Paid"),
}


def _state_label(value: str) -> str:
    return str(BillState(value).label) if value in BillState.values else value

# The actions a bill page can post: the rule book's user-facing rows, each with the form fields it takes.
ACTIONS: dict[str, rules.Transition] = {action: rules.rule(action) for action in rules.ROUTED_ACTIONS}


DEFAULT_PARTS = 2  # rows a blank split form starts with (the browser adds and removes rows)


@dataclass
class ActionForm:
    """One action's form on the bill page as posted: what was typed (kept on an error), the split's rows, and
    the errors beside each field."""

    action: str
    values: dict[str, str] = field(default_factory=dict)
    rows: list[page_forms.PartRow] = field(default_factory=list)
    errors: page_forms.FieldErrors = field(default_factory=page_forms.FieldErrors)

    @classmethod
    def posted(cls, rule: rules.Transition, post: Any) -> ActionForm:
        names = [n for n in (*rule.inputs, "reason") if n != "parts"]
        values = {name: str(post.get(name, "")) for name in names}
        return cls(rule.action, values, page_forms.part_rows(post) if "parts" in rule.inputs else [])

    def service_kwargs(self, rule: rules.Transition) -> dict[str, Any]:
        """The service's arguments: the rate in percent as its fraction, the rows as parts, a picked receiver
        as its credit code. Raises ``page_forms.FormError`` for a field the page cannot translate."""
        kwargs: dict[str, Any] = {}
        for name in (*rule.inputs, "reason"):
            if name == "parts":
                kwargs[name] = page_forms.service_parts(self.rows)
            elif name == "rate":
                kwargs[name] = format(page_forms.parse_percent(self.values.get("rate", "")), "f")
            elif name == "to":
                kwargs[name] = page_forms.counterparty_code(self.values.get("to", ""))
            else:
                kwargs[name] = self.values.get(name, "")
        return kwargs

    def hidden(self) -> list[tuple[str, str]]:
        """The form's fields as the confirmation posts them back, unchanged."""
        pairs = [(name, value) for name, value in self.values.items() if value]
        for n, row in enumerate(self.rows):
            pairs.append((f"parts-{n}-face", row.face))
            if row.transfer_to:
                pairs.append((f"parts-{n}-transfer_to", row.transfer_to))
        return pairs

    def fail(self, err: DomainError, rule: rules.Transition) -> None:
        names = {n for n in (*rule.inputs, "reason") if n != "parts"}
        self.errors = page_forms.place_error(err, form_fields=names, rows=self.rows)


def _action_tiles(request: HttpRequest, bill: Bill, posted: ActionForm | None) -> list[dict[str, Any]]:
    """The bill page's action forms, from the rule book: one tile per action the viewer may try now."""
    tiles = []
    for action in selectors.bill_available_actions(bill=bill, user=request.user):
        rule = ACTIONS.get(action)
        if rule is None:
            continue
        form = posted if posted is not None and posted.action == action else ActionForm(action)
        rows = form.rows
        if "parts" in rule.inputs and len(rows) < DEFAULT_PARTS:
            rows = rows + [page_forms.PartRow() for _ in range(DEFAULT_PARTS - len(rows))]
        for n, row in enumerate(rows):
            row.index = n
        tiles.append({"rule": rule, "values": form.values, "errors": form.errors.fields,
                      "general": form.errors.general, "rows": rows, "confirm": page_forms.needs_confirmation(rule),
                      "open": form is posted})
    return tiles


@login_required
def bill_list(request: HttpRequest) -> HttpResponse:
    queryset = selectors.bills_visible_to(request.user).order_by("-created_at", "id")
    state = request.GET.get("state", "")
    if state in BillState.values:
        queryset = queryset.filter(state=state)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    org = selectors.viewer_organization(request.user)
    return render(
        request,
        "bills/list.html",
        {
            "title": _("Bills"),
            "page": page,
            "state": state,
            "states": BillState.choices,
            "can_create": bool(org and org.is_supplier and org.can_act),
            "can_issue": bool(org and org.is_core_enterprise and org.can_act),
        },
    )


def _anchoring_stage(event: BillEvent) -> dict[str, object]:
    """Where an event's anchoring stands, for the history's words: ``waiting`` (no transaction yet),
    ``sent`` (in a transaction not mined yet), ``mined`` (in block N, waiting for confirmations),
    ``confirmed`` (anchored in block N) or ``failed``. Reads ``event.anchor.anchor_tx``: select it."""
    anchor = event.anchor
    tx = anchor.anchor_tx if anchor.status == AnchorStatus.SENT else None
    if anchor.status == AnchorStatus.CONFIRMED:
        return {"stage": "confirmed", "block": anchor.block_number, "live": False}
    if anchor.status == AnchorStatus.FAILED:
        return {"stage": "failed", "block": None, "live": False}
    if tx is not None and tx.status == TxStatus.MINED:
        return {"stage": "mined", "block": tx.block_number, "live": True}
    return {"stage": "sent" if tx is not None else "waiting", "block": None, "live": True}


def history_context(request: HttpRequest, bill: Bill) -> dict[str, Any]:
    """The history partial's context (``templates/bills/_history.html``): one row per event with what the
    viewer's disclosure shows of it and its anchoring stage, and whether the partial should keep polling."""
    events = list(selectors.bill_events(bill).select_related("anchor__anchor_tx"))
    disclosure = disclosure_for(user=request.user, bill=bill, events=events)
    history = []
    for index, event in enumerate(events):
        fields = disclosure.visible_fields(index, event)  # DESIGN §8: what this viewer may learn of the event
        history.append({
            "event": event,
            "anchoring": selectors.anchoring_status(event),
            "stage": _anchoring_stage(event),
            "actor": event.actor.display_name if "actor" in fields else "",
            "amounts": {AMOUNT_LABELS.get(name, name): v for name, v in (
                (k.removeprefix("amounts."), v) for k, v in fields.items() if k.startswith("amounts."))},
            "from_label": _state_label(event.from_state) if event.from_state else "",
            "to_label": _state_label(event.to_state),
            "reason": fields.get("details.reason", ""),
        })
    return {
        "bill": bill,
        "anchoring": selectors.bill_anchoring_summary(bill, events),  # the page's "N of M events anchored"
        "history": history,
        "history_live": any(row["stage"]["live"] for row in history),
        "confirmations": anchoring_settings().confirmations,
    }


@login_required
@require_GET
def bill_history(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """The bill page's history table alone, which the page polls while an event waits to be anchored;
    404 exactly where the bill page is."""
    try:
        bill = selectors.bill_get_visible(user=request.user, bill_id=pk)
    except BillNotFound:
        raise Http404("No such bill.") from None
    # The page's "N of M events anchored" line rides along (htmx out-of-band swap) so it moves with the table.
    context = {**history_context(request, bill), "oob": True}
    return render(request, "bills/_history.html", context)


def _visible_bill(request: HttpRequest, pk: uuid.UUID) -> Bill:
    try:
        return selectors.bill_get_detail(user=request.user, bill_id=pk)
    except BillNotFound:
        raise Http404("No such bill.") from None


@login_required
def bill_detail(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    return _detail_page(request, _visible_bill(request, pk))


def _detail_page(request: HttpRequest, bill: Bill, *, posted: ActionForm | None = None,
                 status: int = 200) -> HttpResponse:
    return render(
        request,
        "bills/detail.html",
        {
            "title": _("Bill %(number)s") % {"number": bill.number},
            **history_context(request, bill),
            "allocations": selectors.bill_allocations(bill),
            "children": bill.children.order_by("number"),
            "purchases": selectors.bill_purchases_visible(bill=bill, user=request.user),
            "actions": _action_tiles(request, bill, posted),
            **verify_views.verification_links_context(request, bill),
            **market_views.offers_context(request, bill),
        },
        status=status,
    )


@login_required
@require_POST
def bill_action(request: HttpRequest, pk: uuid.UUID, action: str) -> HttpResponse:
    """An action form of the bill page. An action that moves money or cannot be undone first shows what will
    happen (``bills/_confirm.html``) and runs only when posted again with ``confirm=yes``; a refused input
    comes back beside its field with what was typed, a refusal of the action as the page's message."""
    rule = ACTIONS.get(action.replace("-", "_"))
    if rule is None:
        raise Http404("No such action.")
    if rule.action == "buy" and request.POST.get("confirm") != "yes":
        return redirect("bills:buy-confirm", pk=pk)  # the marketplace's confirmation shows the price first
    form = ActionForm.posted(rule, request.POST)
    bill = None if rule.action == "buy" else _visible_bill(request, pk)
    try:
        kwargs = form.service_kwargs(rule)
        if bill is not None and page_forms.needs_confirmation(rule) and request.POST.get("confirm") != "yes":
            return _confirm_page(request, bill, rule, form, kwargs)
        services.SERVICES[rule.action](bill_id=pk, actor=signed_in_user(request), **kwargs)
    except BillNotFound:
        raise Http404("No such bill.") from None
    except DomainError as err:
        form.fail(err, rule)
        if bill is not None and form.errors.fields:
            return _detail_page(request, bill, posted=form, status=err.http_status)
        messages.error(request, page_forms.plain(err.message))
        back = request.POST.get("next") or reverse("bills:detail", args=[pk])
        return redirect(back if back.startswith("/") and not back.startswith("//") else reverse("bills:list"))
    messages.success(request, _(rule.done))
    try:
        selectors.bill_get_visible(user=request.user, bill_id=pk)
    except BillNotFound:  # e.g. a refused transfer: the bill is no longer ours to see
        return redirect("bills:list")
    return redirect("bills:detail", pk=pk)


def _confirm_page(request: HttpRequest, bill: Bill, rule: rules.Transition, form: ActionForm,
                  kwargs: dict[str, Any]) -> HttpResponse:
    """What the action will do, in words and amounts, with the form's fields to post again and confirm.
    Raises the refusal the rule book foresees, or an input's error, for ``bill_action`` to show."""
    refusal = market_selectors.action_refusal(rule.action, bill=bill, user=request.user)
    if refusal is not None:
        raise refusal
    summary = confirmations.summary(request, bill=bill, rule=rule, kwargs=kwargs, rows=form.rows)
    return render(request, "bills/_confirm.html", {
        "title": _("Confirm: %(action)s") % {"action": _(rule.label)},
        "bill": bill,
        "label": _(rule.label),
        "summary": summary,
        "hidden": form.hidden(),
        "post_url": reverse("bills:action", args=[bill.pk, rule.url]),
        "back_url": reverse("bills:detail", args=[bill.pk]),
    })


@login_required
def bill_create(request: HttpRequest) -> HttpResponse:
    """Draft a bill from one or more of the supplier's invoices: an amount per invoice, the face is the sum."""
    org = selectors.viewer_organization(request.user)
    invoices = selectors.invoices_with_room(org=org) if org is not None else []
    preselected = request.GET.get("invoice", "")
    form: dict[str, Any] = {"maturity_date": "", "reference": "", "amounts": {}}
    errors = page_forms.FieldErrors()
    if request.method == "POST":
        form["maturity_date"] = request.POST.get("maturity_date", "")
        form["reference"] = request.POST.get("reference", "")
        allocations = []
        for key, amount in request.POST.items():
            if key.startswith("amount-") and isinstance(amount, str) and amount.strip():
                form["amounts"][key.removeprefix("amount-")] = amount
                allocations.append({"invoice": key.removeprefix("amount-"), "amount": amount.strip()})
        try:
            bill = services.bill_create(
                actor=signed_in_user(request),
                invoice_allocations=allocations,
                maturity_date=form["maturity_date"],
                reference=form["reference"],
            )
        except DomainError as err:
            errors = page_forms.place_error(err, form_fields={"maturity_date", "reference"},
                                            allocation_keys=[a["invoice"] for a in allocations])
        else:
            messages.success(request, _("Bill %(number)s drafted.") % {"number": bill.number})
            return redirect("bills:detail", pk=bill.pk)
    rows = []
    for invoice, room in invoices:
        key = str(invoice.pk)
        if key in form["amounts"]:
            value = form["amounts"][key]
        elif key == preselected and room > 0:
            value = room
        else:
            value = ""
        rows.append({"invoice": invoice, "room": room, "value": value, "error": errors.fields.get(f"amount-{key}", "")})
    return render(request, "bills/create.html", {"title": _("Draft a bill"), "form": form, "rows": rows,
                                                 "errors": errors.fields, "general": errors.general})


@login_required
def bill_issue(request: HttpRequest) -> HttpResponse:
    """A core enterprise issues a bill it owes directly to a supplier."""
    form: dict[str, Any] = {"to": "", "face": "", "maturity_date": "", "reference": ""}
    errors = page_forms.FieldErrors()
    if request.method == "POST":
        form = {k: str(request.POST.get(k, "")) for k in form}
        try:
            bill = services.bill_issue(actor=signed_in_user(request),
                                       **{**form, "to": page_forms.counterparty_code(form["to"])})
        except DomainError as err:
            errors = page_forms.place_error(err, form_fields=set(form))
        else:
            messages.success(
                request, _("Bill %(number)s issued; it waits for the supplier's signature.") % {"number": bill.number}
            )
            return redirect("bills:detail", pk=bill.pk)
    return render(request, "bills/issue.html", {"title": _("Issue a bill"), "form": form, "errors": errors.fields,
                                                "general": errors.general})


@login_required
def marketplace(request: HttpRequest) -> HttpResponse:
    try:
        queryset = listings.marketplace_listings(request.user)
    except NotPermitted as err:
        return render(request, "bills/marketplace.html", {"title": _("Marketplace"), "refused": err.message}, status=403)
    sort = request.GET.get("sort") or listings.MARKET_DEFAULT_SORT
    if sort not in listings.MARKET_SORTS:
        sort = listings.MARKET_DEFAULT_SORT  # a stale or edited link: the default order, not an error page
    queryset = listings.marketplace_sorted(queryset, sort)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    org = selectors.viewer_organization(request.user)
    # One idempotency key per rendered buy form: a double click or a resubmitted page buys once.
    today = clock.today()
    urls = {name: market_views.bill_url_maker(route) for name, route in
            (("listing", "bills:listing"), ("verify", "verify"), ("buy", "bills:buy-confirm"))}
    rows = [(bill, selectors.purchase_quote(bill=bill, today=today), uuid.uuid4().hex,
             {name: url(bill.pk) for name, url in urls.items()}) for bill in page]
    return render(
        request,
        "bills/marketplace.html",
        {
            "title": _("Marketplace"),
            "page": page,
            "rows": rows,
            "sort": sort,
            "sorts": [(key, label) for key, (label, _) in listings.MARKET_SORTS.items()],
            "can_buy": bool(org and org.is_financier and org.can_act),
        },
    )
