"""The demo platform loaded by ``make run``: organizations of every kind and the users of DESIGN §10.

Idempotent: running it again changes nothing that exists. Development only: every password is
``demo12345``.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import transaction

from bills import clock
from bills import services as bills
from bills.events import writing_format
from bills.models import Bill
from finance_portal.ledger import services as ledger
from finance_portal.organizations.models import KycStatus, MemberRole, Organization
from finance_portal.organizations.services import member_create, organization_create
from finance_portal.organizations.validators import make_credit_code
from finance_portal.portal.demo_oversight import load_oversight_scenarios
from invoices import services as invoices
from invoices.models import Invoice

DEMO_PASSWORD = "demo12345"


@dataclass(frozen=True)
class DemoOrg:
    key: str
    legal_name: str
    code17: str
    kinds: tuple[str, ...]
    kyc: str = KycStatus.APPROVED
    users: tuple[str, ...] = ()
    legal_name_zh: str = ""


DEMO_ORGS = (
    DemoOrg("supplier", "Shenzhen Precision Parts Co., Ltd.", "91440300MA5F00011", ("supplier",), users=("supplier",),
            legal_name_zh="深圳精密零部件有限公司"),
    DemoOrg("supplier2", "Dongguan Cable & Wire Co., Ltd.", "91441900MA5F00022", ("supplier",), users=("supplier2",),
            legal_name_zh="东莞线缆有限公司"),
    DemoOrg(
        "buyer",
        "Huaxin Electronics Manufacturing Group Co., Ltd.",
        "91440300MA5F00033",
        ("core_enterprise", "supplier"),
        users=("buyer",),
        legal_name_zh="华信电子制造集团有限公司",
    ),
    DemoOrg("financier", "Pearl River Commercial Bank", "91440100MA5F00044", ("financier",), users=("financier",),
            legal_name_zh="珠江商业银行"),
    DemoOrg("financier2", "Eastern Factoring Co., Ltd.", "91310000MA5F00055", ("financier",), users=("financier2",),
            legal_name_zh="东方商业保理有限公司"),
    DemoOrg("regulator", "Supply-Chain Finance Supervisory Office", "11100000MA5F00066", ("regulator",), users=("regulator",),
            legal_name_zh="供应链金融监管办公室"),
    DemoOrg("platform", "Portal Operator Ltd.", "91110000MA5F00077", ("platform",), users=("admin",),
            legal_name_zh="门户运营有限公司"),
    DemoOrg("pending", "Newco Trading Co., Ltd. (KYC pending)", "91440300MA5F00088", ("supplier",), kyc=KycStatus.PENDING,
            legal_name_zh="新科贸易有限公司（待审核）"),
)

# Opening cash of the demo organizations (CNY), deposited through the ledger's bank rails.
DEMO_DEPOSITS = {
    "financier": "30000000.00",
    "financier2": "20000000.00",
    "buyer": "5000000.00",
    "supplier": "200000.00",
    "supplier2": "80000.00",
}

DEMO_LOGINS = (
    ("supplier", "supplier (Shenzhen Precision Parts)"),
    ("supplier2", "supplier (Dongguan Cable & Wire)"),
    ("buyer", "core enterprise (Huaxin Electronics)"),
    ("financier", "financier (Pearl River Commercial Bank)"),
    ("financier2", "financier (Eastern Factoring)"),
    ("regulator", "regulator"),
    ("admin", "platform admin (also /admin/)"),
)


def load_demo_organizations() -> dict[str, Organization]:
    """Create what is missing of the demo organizations and users; return the organizations by key."""
    user_model = get_user_model()
    orgs: dict[str, Organization] = {}
    with transaction.atomic():
        for demo in DEMO_ORGS:
            code = make_credit_code(demo.code17)
            org = Organization.objects.filter(credit_code=code).first()
            if org is None:
                org = organization_create(legal_name=demo.legal_name, credit_code=code, kinds=demo.kinds,
                                          kyc_status=demo.kyc, legal_name_zh=demo.legal_name_zh)
            elif not org.legal_name_zh and demo.legal_name_zh:  # demo data of an earlier version
                org.legal_name_zh = demo.legal_name_zh
                org.save(update_fields=["legal_name_zh"])
            orgs[demo.key] = org
            for username in demo.users:
                if user_model.objects.filter(username=username).exists():
                    continue
                is_admin = demo.key == "platform"
                member_create(
                    organization=org,
                    username=username,
                    password=DEMO_PASSWORD,
                    email=f"{username}@demo.invalid",
                    role=MemberRole.ADMIN,
                    is_staff=is_admin,
                    is_superuser=is_admin,
                )
    return orgs


def load_demo_business(orgs: dict[str, Organization]) -> None:
    """Invoices and bills in every state, laid down over the past months through the real services.

    The bills' clock (``bills.clock.travel_to``) is moved back so each history reads as it would have
    happened: drafted, accepted, split, transferred, listed, bought, settled, overdue, defaulted, frozen.
    Supplier and supplier2 each hold bills the other cannot see. Then a case of every oversight rule
    (``demo_oversight``, references ``DEMO-O…``) and the oversight sweep, so the regulator sees flags.
    Idempotent: each part is loaded once (a database with the main demo only gets the oversight cases). All in
    one transaction; the files of invoices registered before a failure are removed.
    """
    main_done = Bill.objects.filter(reference__startswith="DEMO-S").exists()
    oversight_done = Bill.objects.filter(reference__startswith="DEMO-O").exists()
    if main_done and oversight_done:
        oversight_sweep_now()
        return
    user_model = get_user_model()
    user = {u.username: u for u in user_model.objects.filter(username__in=[n for d in DEMO_ORGS for n in d.users])}
    start = clock.now()
    created_files: list[str] = []

    def at(days_ago: float):  # type: ignore[no-untyped-def]
        return clock.travel_to(start - dt.timedelta(days=days_ago))

    def day(offset: int) -> str:
        return (start.date() + dt.timedelta(days=offset)).isoformat()

    # invoice numbers go on after those of an earlier demo (a database seeded before the oversight cases)
    serial = iter(range(Invoice.objects.count() + 1 if main_done else 1, 1_000_000))

    def invoice(seller: str, face: str, *, verdict: str | None = "verified"):  # type: ignore[no-untyped-def]
        """An invoice issued a few days before the (possibly travelled) bills' clock, verified by the buyer."""
        total = Decimal(face)
        excl = (total / Decimal("1.13")).quantize(Decimal("0.01"))
        n = next(serial)
        content = f"%PDF-1.4\n% demo e-invoice {n} of {seller}\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n".encode()
        inv = invoices.invoice_register(
            actor=user[seller],
            file=ContentFile(content, name=f"invoice-{n}.pdf"),
            invoice_code="",
            invoice_number=f"2644{orgs[seller].pk % 10000:04d}{n:012d}",  # a 20-digit 数电票 number
            buyer_credit_code=orgs["buyer"].credit_code,
            issue_date=clock.today() - dt.timedelta(days=5),
            amount_excl_tax=str(excl),
            tax_amount=str(total - excl),
            total_amount=str(total),
            currency="CNY",
        )
        created_files.append(cast(str, inv.file.name))  # the service has stored the file: it has a name
        if verdict == "verified":
            invoices.invoice_verify(invoice_id=inv.pk, actor=user["buyer"], verdict="verified")
        elif verdict == "disputed":
            invoices.invoice_verify(
                invoice_id=inv.pk, actor=user["buyer"], verdict="disputed", note="Unit price differs from PO 7731."
            )
        return inv

    def draft(key: str, supplier: str, face: str, maturity_in: int, *, verdict: str | None = "verified"):  # type: ignore[no-untyped-def]
        inv = invoice(supplier, face, verdict=verdict)
        return bills.bill_create(
            actor=user[supplier],
            invoice_allocations=[{"invoice": str(inv.pk), "amount": face}],
            maturity_date=day(maturity_in),
            reference=f"DEMO-{key}",
        )

    def accepted(key: str, supplier: str, face: str, maturity_in: int, days_ago: int):  # type: ignore[no-untyped-def]
        with at(days_ago):
            bill = draft(key, supplier, face, maturity_in)
        with at(days_ago - 0.5):
            bills.bill_submit(bill_id=bill.pk, actor=user[supplier])
        with at(days_ago - 1):
            bills.bill_accept(bill_id=bill.pk, actor=user["buyer"], reason="Goods received and inspected.")
        return bill

    try:
        with transaction.atomic():
            if not main_done:
                # cash on the platform: opening deposits through the simulated bank rails, a withdrawal later
                for key, amount in DEMO_DEPOSITS.items():
                    ledger.deposit_record(organization=orgs[key], amount=amount, currency="CNY", actor=None,
                                          reference=f"DEMO-DEP-{key.upper()}", reason="Opening deposit (demo)")
                # supplier's bills
                with at(0.2):
                    draft("S01", "supplier", "86000.00", 120, verdict=None)
                with at(3):
                    s02 = draft("S02", "supplier", "152400.00", 150)
                with at(2):
                    bills.bill_submit(bill_id=s02.pk, actor=user["supplier"])
                accepted("S03", "supplier", "230000.00", 100, 20)
                s04 = accepted("S04", "supplier", "500000.00", 90, 30)
                with at(5):
                    bills.bill_list(bill_id=s04.pk, actor=user["supplier"], rate="0.0385")
                s05 = accepted("S05", "supplier", "320000.00", 60, 60)
                with at(40):
                    bills.bill_list(bill_id=s05.pk, actor=user["supplier"], rate="0.042")
                with at(39):
                    bills.bill_buy(bill_id=s05.pk, actor=user["financier"], idempotency_key="demo-s05")
                s06 = accepted("S06", "supplier", "400000.00", 75, 45)
                with at(30):
                    bills.bill_split(
                        bill_id=s06.pk,
                        actor=user["supplier"],
                        parts=[{"face": "150000.00", "transfer_to": orgs["supplier2"].credit_code}, {"face": "250000.00"}],
                        reason="Paying Dongguan Cable & Wire for cable harnesses.",
                    )
                moved = Bill.objects.get(parent=s06, face=Decimal("150000.00"))
                kept = Bill.objects.get(parent=s06, face=Decimal("250000.00"))
                with at(29):
                    bills.bill_receive(bill_id=moved.pk, actor=user["supplier2"])
                with at(10):
                    bills.bill_list(bill_id=kept.pk, actor=user["supplier"], rate="0.04")
                s07 = accepted("S07", "supplier", "75000.00", 110, 8)
                with at(1):
                    bills.bill_transfer(bill_id=s07.pk, actor=user["supplier"], to=orgs["supplier2"].credit_code)
                # S08-S10 are old: written in canonical format 1, as before bundle version 2 (S09's overdue, today,
                # is format 2 on a format-1 chain). Verification pages and the verifier read both.
                with writing_format(1):
                    s08 = accepted("S08", "supplier", "120000.00", -20, 200)
                    with at(150):
                        bills.bill_list(bill_id=s08.pk, actor=user["supplier"], rate="0.045")
                    with at(149):
                        bills.bill_buy(bill_id=s08.pk, actor=user["financier2"], idempotency_key="demo-s08")
                    with at(20):
                        bills.bill_settle(bill_id=s08.pk, actor=user["buyer"], reason="Paid at maturity.")

                # supplier2's bills
                with writing_format(1):
                    s09 = accepted("S09", "supplier2", "98000.00", -10, 100)
                bills.bill_mark_overdue(bill_id=s09.pk)
                grace = settings.BILL_GRACE_DAYS
                with writing_format(1):
                    s10 = accepted("S10", "supplier2", "60000.00", -(grace + 15), grace + 15 + 90)
                    with at(grace + 14):
                        bills.bill_mark_overdue(bill_id=s10.pk)
                    with at(13):
                        bills.bill_mark_defaulted(bill_id=s10.pk)
                with at(6):
                    s11 = draft("S11", "supplier2", "45000.00", 90)
                with at(5):
                    bills.bill_submit(bill_id=s11.pk, actor=user["supplier2"])
                with at(4):
                    bills.bill_reject(bill_id=s11.pk, actor=user["buyer"], reason="Quantities do not match the delivery note.")
                with at(3):
                    s12 = draft("S12", "supplier2", "12000.00", 60)
                with at(2.5):
                    bills.bill_cancel(bill_id=s12.pk, actor=user["supplier2"], reason="Entered twice.")
                s13 = accepted("S13", "supplier2", "210000.00", 130, 25)
                with at(7):
                    bills.bill_freeze(
                        bill_id=s13.pk, actor=user["admin"], reason="Court order (2026) Yue 0305 Min Chu No. 1234."
                    )
                with at(15):
                    s14 = bills.bill_issue(
                        actor=user["buyer"], to=orgs["supplier2"].credit_code, face="88000.00", maturity_date=day(95),
                        reference="DEMO-S14", reason="Payable for March deliveries.",
                    )
                with at(14):
                    bills.bill_receive(bill_id=s14.pk, actor=user["supplier2"])
                s15 = accepted("S15", "supplier2", "180000.00", 140, 35)
                with at(33):
                    bills.bill_list(bill_id=s15.pk, actor=user["supplier2"], rate="0.039")
                with at(32):
                    bills.bill_buy(bill_id=s15.pk, actor=user["financier2"], idempotency_key="demo-s15")
                with at(12):
                    bills.bill_transfer(bill_id=s15.pk, actor=user["financier2"], to=orgs["financier"].credit_code)
                with at(11):
                    bills.bill_receive(bill_id=s15.pk, actor=user["financier"])
                with at(9):
                    bills.bill_issue(
                        actor=user["buyer"], to=orgs["supplier"].credit_code, face="64000.00", maturity_date=day(120),
                        reference="DEMO-S16",
                    )
                # a financier's own rate on S04, and a withdrawal of some of the supplier's proceeds
                bills.offer_make(bill_id=s04.pk, actor=user["financier2"], rate="0.0372")
                ledger.withdrawal_record(organization=orgs["supplier"], amount="100000.00", currency="CNY", actor=None,
                                         reference="DEMO-WD-SUPPLIER-1", reason="Transfer to the operating account")
                invoice("supplier2", "27500.00", verdict="disputed")
                invoice("supplier", "41800.00", verdict=None)
            if not oversight_done:
                load_oversight_scenarios(orgs=orgs, user=user, start=start, invoice=invoice)
    except BaseException:
        for name in created_files:
            default_storage.delete(name)
        raise
    oversight_sweep_now()


def oversight_sweep_now() -> None:
    """Run the oversight sweep so the regulator finds the demo's flags at once (by command name: the portal
    and oversight never import each other, DESIGN §2)."""
    call_command("oversight_sweep", stdout=io.StringIO())


def load_demo_limits(orgs: dict[str, Organization]) -> None:
    """Limits a visitor can see at work (once): the platform's issuing limit on the demo core enterprise and the
    demo bank's exposure limit on it, each with room above what the demo already owes and holds."""
    from bills.selectors import face_owed_by, held_face_owed_by
    from sme_credit.issuing import issuing_limit_grant
    from sme_credit.models import CreditLimit, IssuingLimit
    from sme_credit.services import credit_limit_grant

    users = {u.username: u for u in get_user_model().objects.filter(username__in=["admin", "financier"])}
    buyer, bank, currency = orgs["buyer"], orgs["financier"], settings.DEFAULT_CURRENCY
    if not IssuingLimit.objects.filter(debtor=buyer).exists():
        owed = face_owed_by(debtor=buyer, currency=currency)
        issuing_limit_grant(actor=users["admin"], debtor=buyer, currency=currency,
                            amount=f"{max(Decimal('20000000.00'), owed + Decimal('5000000.00')):.2f}")
    if not CreditLimit.objects.filter(financier=bank, debtor=buyer).exists():
        held = held_face_owed_by(holder=bank, debtor=buyer, currency=currency)
        credit_limit_grant(actor=users["financier"], debtor=buyer, currency=currency,
                           amount=f"{max(Decimal('10000000.00'), held + Decimal('2000000.00')):.2f}")
