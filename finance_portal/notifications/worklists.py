"""What waits for whom, pulled: the work queues and figures of each role's landing page (``PORTAL_DASHBOARD``
names ``dashboard``; the portal calls it through that setting because this app sits above it).

A newcomer must know one thing: every query here is bounded whatever the number of bills. Counts and totals
come from one aggregate per subject (``Count``/``Sum`` with ``filter=``, grouped by currency), rows from a
sliced query with the parties joined (``select_related``). ``tests/foundation/test_dashboard_queries.py``
counts each role's queries with 10 and with 500 bills. Dates are the platform calendar's (``bills.clock``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from bills import clock
from bills.models import Bill, BillOffer, BillState, EarlySettlementRequest
from bills.models_money import OfferStatus
from bills.selectors import EXPOSURE_STATES
from chain_adapter.models import AnchorTransaction, TxStatus
from chain_adapter.selectors import anchoring_backlog
from finance_portal.ledger.models import Account, AccountKind
from finance_portal.ledger.selectors import with_balances
from finance_portal.notifications.worklist_rows import (
    ROWS,
    BillQueue,
    Dashboard,
    Figure,
    Queue,
    Row,
    bill_rows,
    bill_url,
    bills_url,
    counted,
)
from finance_portal.organizations.models import KycStatus, Organization
from finance_portal.oversight.models import (
    FreezeRequest,
    FreezeStatus,
    OversightFlag,
    ReconciliationRun,
    Severity,
)
from finance_portal.portal.templatetags.money import format_money, percent
from finance_portal.users import User
from invoices.models import Invoice, InvoiceStatus
from sme_credit.models import CreditLimit, IssuingLimit

SOON, LATER = 7, 30  # "falls due within" windows, in days
# States in which a bill is still to be paid and may still move before its maturity.
OWED_STATES = (BillState.ACCEPTED, BillState.LISTED, BillState.FINANCED, BillState.PENDING_RECEIPT)
HELD_STATES = (BillState.ACCEPTED, BillState.LISTED, BillState.FINANCED)


def _windows(today: dt.date) -> tuple[Q, Q]:
    return (Q(maturity_date__gte=today, maturity_date__lte=today + dt.timedelta(days=SOON)),
            Q(maturity_date__gte=today, maturity_date__lte=today + dt.timedelta(days=LATER)))


def _figures_by_currency(qs: QuerySet[Bill], **aggregates: Any) -> tuple[dict[str, int], dict[str, list[tuple[Decimal, str]]]]:
    """One grouped query: counts (``n_*`` aggregates, summed over currencies) and totals (``t_*``, per currency)."""
    counts: dict[str, int] = {k: 0 for k in aggregates if k.startswith("n_")}
    totals: dict[str, list[tuple[Decimal, str]]] = {k: [] for k in aggregates if k.startswith("t_")}
    rows: Iterable[dict[str, Any]] = qs.order_by().values("currency").annotate(  # type: ignore[assignment]
        **aggregates).order_by("currency")
    for row in rows:
        for key in counts:
            counts[key] += row[key] or 0
        for key in totals:
            if row[key]:
                totals[key].append((row[key], row["currency"]))
    return counts, totals


def _cash(org: Organization) -> Figure:
    accounts = with_balances(Account.objects.filter(organization=org, kind=AccountKind.CASH)).order_by("currency")
    amounts = [(a.balance, a.currency) for a in accounts]  # type: ignore[attr-defined]
    return Figure("cash", _("Cash balance"), amounts=amounts, url=reverse("ledger:overview"),
                  note="" if amounts else _("No cash account yet."))


def _due_queues(base: QuerySet[Bill], counts: dict[str, int], totals: dict[str, list[tuple[Decimal, str]]],
                today: dt.date, party: str, see_all: str, *, owed: bool,
                rows: dict[str, list[Row]] | None = None) -> list[Queue]:
    """The two "falls due" queues. Their rows come from one list: the bills due within 7 days are the first
    of those due within 30 in maturity order, so the 7-day rows are the 30-day rows up to day 7. ``rows`` is
    what ``bill_rows`` read for the ``due30`` key of ``_due30(base, ...)``; read here when not given."""
    if rows is None:
        rows = bill_rows(_due30(base, counts, today, party))
    later_rows = rows.get("due30", [])
    soon_end = today + dt.timedelta(days=SOON)
    soon_rows = [r for r in later_rows if r.day is not None and r.day <= soon_end]
    title7 = _("You owe, due within 7 days") if owed else _("You hold, due within 7 days")
    title30 = _("You owe, due within 30 days") if owed else _("You hold, due within 30 days")
    return [
        Queue("due7", title7, counts["n_due7"], see_all, soon_rows, totals["t_due7"]),
        Queue("due30", title30, counts["n_due30"], see_all, later_rows, totals["t_due30"]),
    ]


def _due30(base: QuerySet[Bill], counts: dict[str, int], today: dt.date, party: str) -> list[BillQueue]:
    """The rows to read for the 30-day queue (none when its count says it is empty)."""
    return [BillQueue("due30", base.filter(_windows(today)[1]), party)] if counts["n_due30"] else []


def _queued(counts: dict[str, int], *queues: tuple[str, BillQueue]) -> list[BillQueue]:
    """The queues whose count (``counts[name]``) says they have rows: an empty queue is not read."""
    return [queue for name, queue in queues if counts[name]]


def supplier_dashboard(org: Organization, today: dt.date) -> Dashboard:
    soon, later = _windows(today)
    mine = Bill.objects.filter(Q(creditor=org) | Q(holder=org) | Q(pending_holder=org))
    held = Q(holder=org, state__in=HELD_STATES)
    counts, totals = _figures_by_currency(
        mine,
        n_drafts=Count("id", filter=Q(creditor=org, state=BillState.DRAFT)),
        n_submitted=Count("id", filter=Q(creditor=org, state=BillState.SUBMITTED)),
        n_receipt=Count("id", filter=Q(pending_holder=org, state=BillState.PENDING_RECEIPT)),
        n_due7=Count("id", filter=held & soon), t_due7=Sum("face", filter=held & soon),
        n_due30=Count("id", filter=held & later), t_due30=Sum("face", filter=held & later),
    )
    now = clock.now()
    offers = BillOffer.objects.filter(bill__holder=org, holder_seq=F("bill__holder_seq"), status=OfferStatus.OPEN,
                                      bill__state=BillState.LISTED, expires_at__gt=now)
    offer_list, n_offers = counted(offers.select_related("bill", "financier"), ("expires_at", "id"))
    offer_rows = [Row(label=o.bill.number, url=bill_url(o.bill_id), party=o.financier.display_name, amount=o.bill.face,
                      currency=o.bill.currency, moment=o.expires_at, note=_("rate %(rate)s") % {"rate": percent(o.rate)})
                  for o in offer_list]
    disputed = Invoice.objects.filter(seller=org, status=InvoiceStatus.DISPUTED)
    invoice_list, n_disputed = counted(disputed.select_related("buyer"), ("-issue_date", "id"))
    invoice_rows = [Row(label=i.invoice_number, url=reverse("invoices:detail", args=[i.pk]), party=i.buyer.display_name,
                        amount=i.total_amount, currency=i.currency, day=i.issue_date) for i in invoice_list]
    held_qs = Bill.objects.filter(held)
    rows = bill_rows([
        *_queued(counts,
                 ("n_drafts", BillQueue("drafts", Bill.objects.filter(creditor=org, state=BillState.DRAFT), "debtor",
                                        order=("-created_at", "id"))),
                 ("n_submitted", BillQueue("submitted", Bill.objects.filter(creditor=org, state=BillState.SUBMITTED),
                                           "debtor")),
                 ("n_receipt", BillQueue("receipt", Bill.objects.filter(pending_holder=org,
                                                                        state=BillState.PENDING_RECEIPT), "holder"))),
        *_due30(held_qs, counts, today, "debtor"),
    ])
    return Dashboard(
        queues=[
            Queue("drafts", _("Drafts to submit"), counts["n_drafts"], bills_url(BillState.DRAFT), rows.get("drafts", [])),
            Queue("submitted", _("Waiting for the buyer's acceptance"), counts["n_submitted"],
                  bills_url(BillState.SUBMITTED), rows.get("submitted", [])),
            Queue("receipt", _("Waiting for your signature"), counts["n_receipt"], bills_url(BillState.PENDING_RECEIPT),
                  rows.get("receipt", [])),
            Queue("offers", _("Offers on your listed bills"), n_offers, bills_url(BillState.LISTED), offer_rows),
            *_due_queues(held_qs, counts, totals, today, "debtor", bills_url(), owed=False, rows=rows),
            Queue("disputed", _("Invoices disputed by the buyer"), n_disputed,
                  reverse("invoices:list") + f"?status={InvoiceStatus.DISPUTED}", invoice_rows),
        ],
        figures=[_cash(org)],
    )


def core_enterprise_dashboard(org: Organization, today: dt.date) -> Dashboard:
    soon, later = _windows(today)
    owed = Q(state__in=OWED_STATES)
    counts, totals = _figures_by_currency(
        Bill.objects.filter(debtor=org),
        n_accept=Count("id", filter=Q(state=BillState.SUBMITTED)),
        n_issued=Count("id", filter=Q(state=BillState.PENDING_RECEIPT, holder=org)),
        n_due7=Count("id", filter=owed & soon), t_due7=Sum("face", filter=owed & soon),
        n_due30=Count("id", filter=owed & later), t_due30=Sum("face", filter=owed & later),
        t_owed=Sum("face", filter=Q(state__in=EXPOSURE_STATES)),
    )
    early = EarlySettlementRequest.objects.filter(requested_by=org, settled_at__isnull=True,
                                                  holder_seq=F("bill__holder_seq"), bill__state__in=HELD_STATES)
    early_list, n_early = counted(early.select_related("bill", "bill__holder"), ("requested_at", "id"))
    early_rows = [Row(label=r.bill.number, url=bill_url(r.bill_id), party=r.bill.holder.display_name, amount=r.bill.face,
                      currency=r.bill.currency, moment=r.requested_at) for r in early_list]
    owed_qs = Bill.objects.filter(debtor=org).filter(owed)
    rows = bill_rows([
        *_queued(counts,
                 ("n_accept", BillQueue("accept", Bill.objects.filter(debtor=org, state=BillState.SUBMITTED),
                                        "creditor")),
                 ("n_issued", BillQueue("issued", Bill.objects.filter(debtor=org, holder=org,
                                                                      state=BillState.PENDING_RECEIPT),
                                        "pending_holder"))),
        *_due30(owed_qs, counts, today, "holder"),
    ])
    return Dashboard(
        queues=[
            Queue("accept", _("Waiting for your acceptance"), counts["n_accept"], bills_url(BillState.SUBMITTED),
                  rows.get("accept", [])),
            Queue("issued", _("Issued, waiting for the supplier's signature"), counts["n_issued"],
                  bills_url(BillState.PENDING_RECEIPT), rows.get("issued", [])),
            Queue("early", _("Early settlement asked, waiting for the holder"), n_early, bills_url(), early_rows),
            *_due_queues(owed_qs, counts, totals, today, "holder", bills_url(), owed=True, rows=rows),
        ],
        figures=[_cash(org), _issuing_headroom(org, dict((c, a) for a, c in totals["t_owed"]))],
    )


def _issuing_headroom(org: Organization, owed: dict[str, Decimal]) -> Figure:
    """The strictest live issuing limit per currency, less what the enterprise owes in it."""
    strictest: dict[str, Decimal] = {}
    for amount, currency in IssuingLimit.objects.filter(debtor=org, revoked_at__isnull=True).values_list(
            "amount", "currency"):
        strictest[currency] = min(amount, strictest.get(currency, amount))
    amounts = [(max(limit - owed.get(currency, Decimal("0")), Decimal("0")), currency)
               for currency, limit in sorted(strictest.items())]
    return Figure("headroom", _("Issuing limit headroom"), amounts=amounts,
                  note="" if amounts else _("No issuing limit: what you may owe is not capped."))


def financier_dashboard(org: Organization, today: dt.date) -> Dashboard:
    soon, later = _windows(today)
    held = Q(holder=org, state__in=HELD_STATES)
    counts, totals = _figures_by_currency(
        Bill.objects.filter(held),
        n_due7=Count("id", filter=soon), t_due7=Sum("face", filter=soon),
        n_due30=Count("id", filter=later), t_due30=Sum("face", filter=later),
    )
    now = clock.now()
    # An offer on a bill that is not on sale now (frozen, say) cannot be accepted: not a live offer for the queue.
    offers = BillOffer.objects.filter(financier=org, status=OfferStatus.OPEN, bill__state=BillState.LISTED,
                                      expires_at__gt=now)
    offer_list, n_offers = counted(offers.select_related("bill", "bill__debtor"), ("expires_at", "id"))
    offer_rows = [Row(label=o.bill.number, url=reverse("bills:listing", args=[o.bill_id]), party=o.bill.debtor.display_name,
                      amount=o.bill.face, currency=o.bill.currency, moment=o.expires_at,
                      note=_("rate %(rate)s") % {"rate": percent(o.rate)}) for o in offer_list]
    market = Bill.objects.filter(state=BillState.LISTED, maturity_date__gt=today).exclude(holder=org).count()
    return Dashboard(
        queues=[
            Queue("offers", _("Your open offers"), n_offers, reverse("bills:marketplace"), offer_rows),
            *_due_queues(Bill.objects.filter(held), counts, totals, today, "debtor", reverse("portfolio:portfolio"),
                         owed=False),
            _exposure(org),
        ],
        figures=[_cash(org), Figure("market", pgettext("dashboard", "Listed on the marketplace"), text=str(market),
                                    url=reverse("bills:marketplace"))],
    )


def _exposure(org: Organization) -> Queue:
    """Each live credit limit with what the financier holds under it: one query for the limits, one for the holdings
    owed by their debtors (none without a limit: a financier holding 5,000 bills paid 7 ms for a sum nobody saw)."""
    limits = list(CreditLimit.objects.filter(financier=org, revoked_at__isnull=True)
                  .select_related("debtor", "supplier").order_by("debtor__legal_name", "id"))
    held: dict[tuple[int, int, str], Decimal] = {}
    debtors = {limit.debtor_id for limit in limits[:ROWS]}  # only the rows shown count holdings
    for row in (Bill.objects.filter(holder=org, state__in=EXPOSURE_STATES, debtor_id__in=debtors).order_by()
                .values("debtor_id", "creditor_id", "currency").annotate(total=Sum("face")) if debtors else ()):
        held[(row["debtor_id"], row["creditor_id"], row["currency"])] = row["total"]
    rows = []
    for limit in limits[:ROWS]:
        used = sum((v for (d, c, cur), v in held.items()
                    if d == limit.debtor_id and cur == limit.currency and (limit.supplier_id in (None, c))),
                   Decimal("0"))
        party = limit.debtor.display_name + (f" / {limit.supplier.display_name}" if limit.supplier else "")
        over = used > limit.amount
        note = (_("over the limit of %(limit)s") if over else _("of %(limit)s")) % {
            "limit": format_money(limit.amount, limit.currency)}
        rows.append(Row(label=party, url=reverse("portal:organization-credit", args=[limit.debtor_id]), amount=used,
                        currency=limit.currency, note=note, alert=over))
    return Queue("exposure", _("Exposure against your credit limits"), len(limits), reverse("portfolio:portfolio"), rows)


def regulator_dashboard(org: Organization | None, today: dt.date) -> Dashboard:
    counts = dict(OversightFlag.objects.filter(acknowledged_at__isnull=True).order_by().values_list("severity")
                  .annotate(n=Count("id")).values_list("severity", "n"))
    flags = Queue("flags", _("Open flags"), sum(counts.values()), reverse("oversight:dashboard"), [
        Row(label=str(label), url=reverse("oversight:dashboard"), note=str(counts.get(value, 0)))
        for value, label in reversed(Severity.choices)
    ])
    return Dashboard(queues=[flags, _freeze_queue(reverse("oversight:dashboard"))],
                     figures=[_reconciliation(), *_anchoring()])


def _freeze_queue(see_all: str) -> Queue:
    open_requests = FreezeRequest.objects.filter(status=FreezeStatus.OPEN)
    rows = [Row(label=r.bill.number, url=bill_url(r.bill_id), party=r.organization.display_name, amount=r.bill.face,
                currency=r.bill.currency, moment=r.requested_at)
            for r in open_requests.select_related("bill", "organization").order_by("requested_at", "id")[:ROWS]]
    return Queue("freeze", _("Freeze requests to decide"), open_requests.count(), see_all, rows)


def _reconciliation() -> Figure:
    run = ReconciliationRun.objects.order_by("-started_at", "-id").first()
    if run is None:
        return Figure("reconciliation", _("Last reconciliation"), text=_("never run"),
                      url=reverse("oversight:reconciliation"), alert=True)
    text = _("%(bills)s bills, %(mismatches)s mismatches") % {"bills": run.bills_checked, "mismatches": run.mismatches}
    return Figure("reconciliation", _("Last reconciliation"), text=text, url=reverse("oversight:reconciliation"),
                  note=timezone.localtime(run.started_at).strftime("%Y-%m-%d %H:%M"),
                  alert=bool(run.mismatches or run.error))


def _anchoring() -> list[Figure]:
    backlog = anchoring_backlog()
    lag = 0 if backlog.oldest_pending_at is None else int((timezone.now() - backlog.oldest_pending_at).total_seconds())
    return [
        Figure("anchoring", _("Anchoring backlog"),
               text=_("%(pending)s pending, %(sent)s sent, %(failed)s failed") % {
                   "pending": backlog.pending, "sent": backlog.sent, "failed": backlog.failed},
               note=_("oldest waits %(seconds)s s") % {"seconds": max(lag, 0)}, alert=bool(backlog.failed)),
        Figure("stuck", _("Stuck transactions"), text=str(backlog.stuck_transactions),
               alert=bool(backlog.stuck_transactions)),
    ]


def platform_dashboard(org: Organization | None, today: dt.date) -> Dashboard:
    waiting = Organization.objects.filter(kyc_status=KycStatus.PENDING)
    kyc = Queue("kyc", _("KYC applications waiting"), waiting.count(),
                reverse("admin:organizations_organization_changelist") + f"?kyc_status__exact={KycStatus.PENDING}",
                [Row(label=o.display_name, url=reverse("admin:organizations_organization_change", args=[o.pk]),
                     party=o.credit_code, moment=o.created_at) for o in waiting.order_by("created_at", "id")[:ROWS]])
    stuck_qs = AnchorTransaction.objects.filter(status=TxStatus.STUCK)
    stuck = Queue("stuck", _("Stuck transactions"), stuck_qs.count(),
                  reverse("admin:chain_adapter_anchortransaction_changelist") + f"?status__exact={TxStatus.STUCK}",
                  [Row(label=t.tx_hash or f"#{t.pk}", url=reverse("admin:chain_adapter_anchortransaction_change",
                                                                   args=[t.pk]), moment=t.created_at)
                   for t in stuck_qs.order_by("created_at", "id")[:ROWS]])
    freeze = _freeze_queue(reverse("admin:oversight_freezerequest_changelist") + f"?status__exact={FreezeStatus.OPEN}")
    return Dashboard(queues=[kyc, freeze, stuck], figures=_anchoring())


BUILDERS = {
    "supplier": supplier_dashboard,
    "core_enterprise": core_enterprise_dashboard,
    "financier": financier_dashboard,
    "regulator": regulator_dashboard,
    "platform": platform_dashboard,
}


def dashboard(*, user: User, organization: Organization | None, role: str) -> Dashboard:
    """The landing page's queues and figures for ``role`` (the portal has checked it is the user's)."""
    builder = BUILDERS[role]
    if organization is None and role not in ("regulator", "platform"):
        return Dashboard()
    return builder(organization, clock.today())  # type: ignore[operator,arg-type]
