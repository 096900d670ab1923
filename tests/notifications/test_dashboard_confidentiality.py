"""Each role's landing dashboard and inbox show that organization's work only.

Two independent worlds of counterparties, A (supplier, buyer, financier) and B (supplier2, buyer2, financier2),
each with bills in every queue state: a draft, a submitted bill, a bill the buyer issued to its supplier (waiting
for the signature), a listed bill with the financier's offer, a financed bill and a held bill falling due within
7 days, a bill falling due within 30 days with an early settlement asked, a disputed invoice, a credit limit
and an issuing limit. Their faces, rates and limits are distinct per world (A's are tens of thousands and end
in .1x, B's are hundreds of thousands and end in .7x), so a value of the other world on a page is a leak.

What each organization should see is computed here from the rows themselves (bill parties, states, maturities,
offers), never by calling the dashboard's builders; each page's queue counts, rows, totals and nav badge must
equal it, and nothing of the other world may appear.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.test import Client

from bills import clock, services
from bills.models import Bill, BillOffer, BillParticipant, BillState, EarlySettlementRequest
from bills.models_money import OfferStatus
from bills.selectors import EXPOSURE_STATES
from finance_portal.notifications.models import Notification, NotificationKind
from finance_portal.organizations.models import KycStatus, Organization
from finance_portal.oversight.models import FreezeRequest, FreezeStatus, OversightFlag
from finance_portal.oversight.services import freeze_request_create
from finance_portal.portal.templatetags.money import format_money, percent
from invoices.models import Invoice, InvoiceStatus
from sme_credit.issuing import issuing_limit_grant
from sme_credit.models import CreditLimit
from sme_credit.services import credit_limit_grant
from tests.bills.factories import World, accepted, draft, financed, in_days, listed, make_invoice, submitted
from tests.conftest import login

pytestmark = pytest.mark.django_db

HELD = {BillState.ACCEPTED, BillState.LISTED, BillState.FINANCED}
OWED = HELD | {BillState.PENDING_RECEIPT}


@dataclass(frozen=True)
class Side:
    name: str
    supplier: str
    buyer: str
    financier: str
    base: Decimal  # faces of this side are base + small steps, with this side's cents
    asking: str
    offer: str

    def face(self, step: int) -> str:
        return str(self.base + Decimal(step * 1000) + Decimal(step) / 100)

    @property
    def users(self) -> tuple[str, str, str]:
        return self.supplier, self.buyer, self.financier


A = Side("A", "supplier", "buyer", "financier", Decimal("10000.10"), asking="0.0371", offer="0.0353")
B = Side("B", "supplier2", "buyer2", "financier2", Decimal("700000.70"), asking="0.0487", offer="0.0469")
ROLES = {"supplier": "supplier", "buyer": "core_enterprise", "financier": "financier"}


def populate(world: World, side: Side) -> None:
    s, b, f = side.supplier, side.buyer, side.financier
    kw = {"supplier": s, "debtor": b}
    draft(world, side.face(1), days=90, **kw)
    submitted(world, side.face(2), days=80, **kw)
    services.bill_issue(actor=world.user(b), to=world.org(s).credit_code, face=side.face(3),
                        maturity_date=in_days(70).isoformat())
    on_sale = listed(world, side.face(4), rate=side.asking, days=40, **kw)
    services.offer_make(bill_id=on_sale.pk, actor=world.user(f), rate=side.offer)
    financed(world, side.face(5), buyer=f, days=6, **kw)
    accepted(world, side.face(6), days=5, **kw)
    asked = accepted(world, side.face(7), days=20, **kw)
    services.bill_request_early_settlement(bill_id=asked.pk, actor=world.user(b))
    make_invoice(world.org(s), world.org(b), total=side.face(8), status=InvoiceStatus.DISPUTED)
    credit_limit_grant(actor=world.user(f), debtor=world.org(b).credit_code, amount=side.face(9))
    issuing_limit_grant(actor=world.user("admin"), debtor=world.org(b).credit_code, amount=side.face(5000))
    freeze_request_create(bill_id=asked.pk, reason=f"check side {side.name}", actor=world.user("regulator"))


@pytest.fixture
def both(world: World) -> World:
    populate(world, A)
    populate(world, B)
    # One notification of each side read, one addressed to a single user: the badge counts unread ones only.
    first = Notification.objects.filter(organization=world.org("buyer")).order_by("id").first()
    assert first is not None
    first.read_at = clock.now()
    first.save(update_fields=["read_at"])
    Notification.objects.create(user=world.user("supplier2"), kind=NotificationKind.BILL_FROZEN,
                                bill=Bill.objects.filter(creditor=world.org("supplier2")).order_by("id").first(),
                                params={"number": "B-ONLY", "face": "1.00", "currency": "CNY",
                                        "debtor": world.org("buyer2").legal_name}, created_at=clock.now())
    return world


# ---- what a page shows -------------------------------------------------------------------------------------------

def page(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return html.unescape(response.content.decode())


def queue(body: str, key: str) -> str:
    assert f'id="queue-{key}"' in body, f"no queue {key}"
    return body.split(f'id="queue-{key}"', 1)[1].split("</article>", 1)[0]


def shown_count(section: str) -> int:
    match = re.search(r'class="dash-count[^"]*">(\d+)</span>', section)
    assert match, section[:300]
    return int(match.group(1))


def labels(section: str) -> set[str]:
    return set(re.findall(r'class="dash-label">([^<]*)</a>', section))


def numbers_in(text: str) -> set[str]:
    """Every bill number of the database that appears in ``text``."""
    return {n for n in Bill.objects.values_list("number", flat=True) if re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", text)}


def amount_shown(amount: Decimal, text: str) -> bool:
    digits = format_money(amount, "CNY").split(" ")[0]
    return re.search(rf"(?<![\d,.]){re.escape(digits)}(?![\d])", text) is not None


# ---- what the organization should see, from the rows -------------------------------------------------------------

def bills() -> list[Bill]:
    return list(Bill.objects.all())


def due(b: Bill, days: int) -> bool:
    today = clock.today()
    return today <= b.maturity_date <= today + dt.timedelta(days=days)


def totals(rows: list[Bill]) -> list[str]:
    by_currency: dict[str, Decimal] = {}
    for b in rows:
        by_currency[b.currency] = by_currency.get(b.currency, Decimal("0")) + b.face
    return [format_money(v, c) for c, v in sorted(by_currency.items())]


def open_offers() -> list[BillOffer]:
    now = clock.now()
    return [o for o in BillOffer.objects.select_related("bill") if o.status == OfferStatus.OPEN and o.expires_at > now]


def expected_supplier(org: Organization) -> dict[str, list[Bill] | int]:
    every = bills()
    held = [b for b in every if b.holder_id == org.pk and b.state in HELD]
    return {
        "drafts": [b for b in every if b.creditor_id == org.pk and b.state == BillState.DRAFT],
        "submitted": [b for b in every if b.creditor_id == org.pk and b.state == BillState.SUBMITTED],
        "receipt": [b for b in every if b.pending_holder_id == org.pk and b.state == BillState.PENDING_RECEIPT],
        "offers": [o.bill for o in open_offers() if o.bill.holder_id == org.pk and o.bill.state == BillState.LISTED
                   and o.holder_seq == o.bill.holder_seq],
        "due7": [b for b in held if due(b, 7)],
        "due30": [b for b in held if due(b, 30)],
        "disputed": Invoice.objects.filter(seller=org, status=InvoiceStatus.DISPUTED).count(),
    }


def expected_core_enterprise(org: Organization) -> dict[str, list[Bill] | int]:
    every = bills()
    owed = [b for b in every if b.debtor_id == org.pk and b.state in OWED]
    early = [r.bill for r in EarlySettlementRequest.objects.select_related("bill")
             if r.requested_by_id == org.pk and r.settled_at is None and r.holder_seq == r.bill.holder_seq
             and r.bill.state in HELD]
    return {
        "accept": [b for b in every if b.debtor_id == org.pk and b.state == BillState.SUBMITTED],
        "issued": [b for b in every if b.debtor_id == org.pk and b.holder_id == org.pk
                   and b.state == BillState.PENDING_RECEIPT],
        "early": early,
        "due7": [b for b in owed if due(b, 7)],
        "due30": [b for b in owed if due(b, 30)],
    }


def expected_financier(org: Organization) -> dict[str, list[Bill] | int]:
    held = [b for b in bills() if b.holder_id == org.pk and b.state in HELD]
    return {
        "offers": [o.bill for o in open_offers() if o.financier_id == org.pk],
        "due7": [b for b in held if due(b, 7)],
        "due30": [b for b in held if due(b, 30)],
        "exposure": CreditLimit.objects.filter(financier=org, revoked_at__isnull=True).count(),
    }


EXPECTED = {"supplier": expected_supplier, "core_enterprise": expected_core_enterprise,
            "financier": expected_financier}


def allowed_numbers(org: Organization) -> set[str]:
    """Bills the organization is a party to (creditor, debtor, holder, past holder, pending receiver) or offers on."""
    mine = set(BillParticipant.objects.filter(organization=org).values_list("bill__number", flat=True))
    return mine | set(BillOffer.objects.filter(financier=org).values_list("bill__number", flat=True))


def side_values(world: World, side: Side) -> tuple[set[str], set[str], set[Decimal], set[str]]:
    """A side's bill numbers, organization names, amounts (faces, invoice totals, limits) and rates."""
    orgs = [world.org(k) for k in side.users]
    ids = {o.pk for o in orgs}
    side_bills = [b for b in bills() if b.creditor_id in ids or b.debtor_id in ids]
    amounts = {b.face for b in side_bills}
    amounts |= set(Invoice.objects.filter(seller_id__in=ids).values_list("total_amount", flat=True))
    amounts |= set(CreditLimit.objects.filter(financier_id__in=ids).values_list("amount", flat=True))
    rates = {percent(Decimal(side.asking)), percent(Decimal(side.offer))}
    return {b.number for b in side_bills}, {o.legal_name for o in orgs}, amounts, rates


def assert_nothing_of(body: str, world: World, other: Side, who: str) -> None:
    numbers, names, amounts, rates = side_values(world, other)
    assert not numbers_in(body) & numbers, f"{who} sees bills of side {other.name}"
    assert not [n for n in names if n in body], f"{who} sees organizations of side {other.name}"
    assert not [a for a in amounts if amount_shown(a, body)], f"{who} sees amounts of side {other.name}"
    assert not [r for r in rates if r in body], f"{who} sees rates of side {other.name}"


def unread_badge(body: str) -> int:
    match = re.search(r'<span class="badge" aria-label="(\d+) unread">(\d+)</span>', body)
    return int(match.group(1)) if match else 0


def addressed_to(world: World, username: str) -> list[Notification]:
    user = world.user(username)
    org_id = getattr(getattr(user, "membership", None), "organization_id", None)
    return [n for n in Notification.objects.select_related("bill")
            if n.user_id == user.pk or (org_id is not None and n.organization_id == org_id)]


# ---- the tests ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("side,other", [(A, B), (B, A)], ids=["A", "B"])
@pytest.mark.parametrize("who", ["supplier", "buyer", "financier"])
def test_each_party_s_dashboard_shows_its_own_queues_only(both, side, other, who):
    username = getattr(side, who)
    role = ROLES[who]
    org = both.org(username)
    body = page(login(Client(), username), f"/home/{role}/")

    assert numbers_in(body) <= allowed_numbers(org), f"{username} sees bills it takes no part in"
    assert_nothing_of(body, both, other, username)
    for key, expected in EXPECTED[role](org).items():
        section = queue(body, key)
        if isinstance(expected, int):
            assert shown_count(section) == expected, (username, key)
            continue
        assert shown_count(section) == len(expected), (username, key)
        assert labels(section) == {b.number for b in expected}, (username, key)
        if key.startswith("due") and expected:
            assert all(t in section for t in totals(expected)), (username, key, totals(expected))
    assert unread_badge(body) == sum(1 for n in addressed_to(both, username) if n.read_at is None)


def test_every_queue_has_work_so_the_checks_above_bite(both):
    """Each bill queue of each party holds something, so an empty page cannot pass the test above."""
    for side in (A, B):
        for who, role in ROLES.items():
            org = both.org(getattr(side, who))
            empty = [k for k, v in EXPECTED[role](org).items() if not v]
            assert empty == [], (side.name, who, empty)


def test_the_financier_s_dashboard_counts_the_marketplace_without_showing_it(both):
    today = clock.today()
    for name in ("financier", "financier2"):
        org = both.org(name)
        body = page(login(Client(), name), "/home/financier/")
        market = [b for b in bills() if b.state == BillState.LISTED and b.maturity_date > today
                  and b.holder_id != org.pk]
        assert len(market) == 2
        figure = body.split('id="figure-market"', 1)[1].split("</div>", 1)[0]
        assert re.search(rf'<p class="dash-big">{len(market)}</p>', figure)


def test_the_core_enterprise_s_headroom_is_its_own_limit_less_what_it_owes(both):
    for side in (A, B):
        org = both.org(side.buyer)
        owed = sum((b.face for b in bills() if b.debtor_id == org.pk and b.state in EXPOSURE_STATES), Decimal("0"))
        body = page(login(Client(), side.buyer), "/home/core_enterprise/")
        figure = body.split('id="figure-headroom"', 1)[1].split("</div>", 1)[0]
        assert format_money(Decimal(side.face(5000)) - owed, "CNY") in figure


def test_a_competing_offer_is_shown_to_the_holder_and_never_to_the_other_financier(both):
    """financier2 offers on side A's listed bill: supplier (the holder) sees both offers; financier sees its own
    rate only, financier2 its own only."""
    bill = Bill.objects.get(creditor=both.org("supplier"), state=BillState.LISTED)
    services.offer_make(bill_id=bill.pk, actor=both.user("financier2"), rate="0.0419")
    theirs, ours = percent(Decimal("0.0419")), percent(Decimal(A.offer))

    holder = page(login(Client(), "supplier"), "/home/supplier/")
    offers = queue(holder, "offers")
    assert shown_count(offers) == 2 and theirs in offers and ours in offers
    assert both.org("financier2").legal_name in offers

    own = page(login(Client(), "financier"), "/home/financier/")
    assert ours in own and theirs not in own and both.org("financier2").legal_name not in own
    rival = page(login(Client(), "financier2"), "/home/financier/")
    assert theirs in rival and ours not in rival and both.org("financier").legal_name not in rival
    # The rival is told the bill and its debtor (what the marketplace shows), never the holder's other business.
    assert bill.number in queue(rival, "offers") and bill.number in allowed_numbers(both.org("financier2"))
    others_of_a = {b.number for b in bills() if b.creditor_id == both.org("supplier").pk} - {bill.number}
    assert not numbers_in(rival) & others_of_a


def test_regulator_and_platform_see_what_their_roles_allow_and_counts_match(both):
    pending_org = both.org("pending")
    assert pending_org.kyc_status == KycStatus.PENDING
    open_requests = [r for r in FreezeRequest.objects.select_related("bill") if r.status == FreezeStatus.OPEN]
    assert len(open_requests) == 2
    flags = sum(1 for f in OversightFlag.objects.all() if f.acknowledged_at is None)

    regulator = page(login(Client(), "regulator"), "/home/regulator/")
    assert shown_count(queue(regulator, "flags")) == flags
    assert shown_count(queue(regulator, "freeze")) == 2
    assert labels(queue(regulator, "freeze")) == {r.bill.number for r in open_requests}
    assert numbers_in(regulator) == {r.bill.number for r in open_requests}

    staff = page(login(Client(), "admin"), "/home/platform/")
    waiting = [o for o in Organization.objects.all() if o.kyc_status == KycStatus.PENDING]
    assert shown_count(queue(staff, "kyc")) == len(waiting)
    assert labels(queue(staff, "kyc")) == {o.legal_name for o in waiting}
    assert shown_count(queue(staff, "freeze")) == 2
    assert numbers_in(staff) == {r.bill.number for r in open_requests}
    # Neither sees an offer's rate on its landing page: offers are between a holder and a financier.
    for body in (regulator, staff):
        assert not [r for s in (A, B) for r in (percent(Decimal(s.offer)),) if r in body]


@pytest.mark.parametrize("username", ["supplier", "buyer", "financier", "supplier2", "buyer2", "financier2",
                                      "regulator", "admin"])
def test_the_inbox_and_its_badge_hold_the_user_s_notifications_only(both, username):
    mine = addressed_to(both, username)
    client = login(Client(), username)
    body = page(client, "/notifications/")
    expected = {n.bill.number for n in mine if n.bill is not None} | {
        str(n.params.get("number")) for n in mine if n.user_id is not None}
    shown = numbers_in(body) | ({"B-ONLY"} if "B-ONLY" in body else set())
    assert shown == expected, username
    assert body.count('class="inbox-item') == len(mine)
    assert unread_badge(body) == sum(1 for n in mine if n.read_at is None)
    if username in A.users:
        assert_nothing_of(body, both, B, username)
    if username in B.users:
        assert_nothing_of(body, both, A, username)


def test_the_inbox_test_world_reaches_every_party(both):
    """Each party has something in its inbox and each side's notifications are the other's foreign ones."""
    for name in A.users[:2] + B.users[:2]:
        assert addressed_to(both, name), name
    assert any(n.read_at is not None for n in addressed_to(both, "buyer"))
    assert any(n.user_id is not None for n in addressed_to(both, "supplier2"))
