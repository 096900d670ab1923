"""Factories of the bills tests: the demo organizations plus a second core enterprise, invoices
made directly in the database, and helpers that drive bills through the services into any state."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile

from bills import clock, services
from bills.models import Bill
from finance_portal.organizations.models import KycStatus, MemberRole, Organization
from finance_portal.organizations.services import member_create, organization_create
from finance_portal.organizations.validators import make_credit_code
from invoices.models import Invoice, InvoiceStatus

_counter = itertools.count(1)


@dataclass
class World:
    orgs: dict[str, Organization]
    users: dict[str, object]

    def org(self, key: str) -> Organization:
        return self.orgs[key]

    def user(self, name: str):  # type: ignore[no-untyped-def]
        return self.users[name]


def build_world(*, funded: bool = True) -> World:
    from finance_portal.portal.demo import load_demo_organizations

    orgs = dict(load_demo_organizations())
    code = make_credit_code("91440300MA5F00099")
    buyer2 = Organization.objects.filter(credit_code=code).first() or organization_create(
        legal_name="Lingnan Appliances Group Co., Ltd.",
        credit_code=code,
        kinds=["core_enterprise"],
        kyc_status=KycStatus.APPROVED,
    )
    orgs["buyer2"] = buyer2
    user_model = get_user_model()
    if not user_model.objects.filter(username="buyer2").exists():
        member_create(organization=buyer2, username="buyer2", password="x-demo-12345", role=MemberRole.ADMIN)
    pending = orgs["pending"]
    if not user_model.objects.filter(username="pending").exists():
        member_create(organization=pending, username="pending", password="x-demo-12345", role=MemberRole.ADMIN)
    users = {u.username: u for u in user_model.objects.all()}
    if funded:
        fund(orgs["financier"], orgs["financier2"], orgs["buyer"], orgs["buyer2"])
    return World(orgs=orgs, users=users)


FUNDING = "1000000000.00"


def cash(org: Organization, currency: str = "CNY") -> Decimal:
    from finance_portal.ledger.selectors import account_balance
    from finance_portal.ledger.services import cash_account

    return account_balance(cash_account(org, currency))


def drain(org: Organization, currency: str = "CNY") -> None:
    """Withdraw all of the organization's cash (so nothing settles by itself at maturity)."""
    from finance_portal.ledger.services import withdrawal_record

    balance = cash(org, currency)
    if balance > 0:
        withdrawal_record(organization=org, amount=str(balance), currency=currency, actor=None,
                          reference=f"TEST-DRAIN-{org.pk}-{next(_counter)}", reason="test")


def fund(*orgs: Organization, amount: str = FUNDING, currency: str = "CNY") -> None:
    """Deposit ``amount`` into each organization's cash (simulated bank rails, through the ledger's service)."""
    from finance_portal.ledger.services import deposit_record

    for org in orgs:
        deposit_record(organization=org, amount=amount, currency=currency, actor=None,
                       reference=f"TEST-FUND-{org.pk}-{next(_counter)}", reason="test funding")




def make_invoice(
    seller: Organization,
    buyer: Organization,
    total: str = "10000.00",
    currency: str = "CNY",
    status: str = InvoiceStatus.VERIFIED,
) -> Invoice:
    n = next(_counter)
    content = b"%PDF-1.4 test invoice " + str(n).encode() + b" " + str(seller.pk).encode()
    total_d = Decimal(total)
    return Invoice.objects.create(
        seller=seller,
        buyer=buyer,
        invoice_code="",
        invoice_number=f"T{n:08d}{seller.pk}",
        issue_date=dt.date(2026, 1, 5),
        amount_excl_tax=total_d,
        tax_amount=Decimal("0"),
        total_amount=total_d,
        currency=currency,
        file=ContentFile(content, name="x.pdf"),
        file_sha256=hashlib.sha256(content + str(next(_counter)).encode()).hexdigest(),
        file_size=len(content),
        content_type="application/pdf",
        status=status,
    )


def in_days(n: int) -> dt.date:
    return clock.today() + dt.timedelta(days=n)


def draft(world: World, face: str = "10000.00", *, supplier: str = "supplier", debtor: str = "buyer",
          days: int = 90, invoice: Invoice | None = None) -> Bill:
    invoice = invoice or make_invoice(world.org(supplier), world.org(debtor), total=face)
    return services.bill_create(
        actor=world.user(supplier),
        invoice_allocations=[{"invoice": str(invoice.pk), "amount": face}],
        maturity_date=in_days(days).isoformat(),
    )


def submitted(world: World, face: str = "10000.00", **kw: object) -> Bill:
    bill = draft(world, face, **kw)  # type: ignore[arg-type]
    return services.bill_submit(bill_id=bill.pk, actor=world.user(kw.get("supplier", "supplier")))


def accepted(world: World, face: str = "10000.00", **kw: object) -> Bill:
    bill = submitted(world, face, **kw)
    debtor = str(kw.get("debtor", "buyer"))
    return services.bill_accept(bill_id=bill.pk, actor=world.user(debtor))


def listed(world: World, face: str = "10000.00", rate: str = "0.036", **kw: object) -> Bill:
    bill = accepted(world, face, **kw)
    return services.bill_list(bill_id=bill.pk, actor=world.user(str(kw.get("supplier", "supplier"))), rate=rate)


def financed(world: World, face: str = "10000.00", buyer: str = "financier", **kw: object) -> Bill:
    bill = listed(world, face, **kw)
    return services.bill_buy(bill_id=bill.pk, actor=world.user(buyer)).bill


def pending(world: World, face: str = "10000.00", to: str = "supplier2", **kw: object) -> Bill:
    bill = accepted(world, face, **kw)
    return services.bill_transfer(
        bill_id=bill.pk, actor=world.user(str(kw.get("supplier", "supplier"))), to=world.org(to).credit_code
    )


def past(days: int) -> object:
    """A context that moves the bills' clock ``days`` ahead."""
    return clock.travel_to(clock.now() + dt.timedelta(days=days))


def refresh(bill: Bill) -> Bill:
    return Bill.objects.get(pk=bill.pk)
