"""``manage.py bench_generate --bills N``: load a portal at scale for benchmarks, fast (PostgreSQL COPY).

The one thing to know: this bypasses the services on purpose (100,000 bills through them would take an hour)
and writes the rows they would write, so what it loads passes ``ledger_check`` and ``reconcile``: each bill's
events are built by ``bills.events.build_event`` with correct ``prev`` links, each event has its outbox row
(pending: nothing is anchored until a worker runs), invoices back bills through allocations within their
totals, and every purchase is a balanced journal entry paid from a deposit made before it. The database's
deferred triggers (balanced entries, allocation limits) check it all at each chunk's commit.

Loads the demo organizations and users (``supplier``, ``buyer``, ``financier``, ``regulator``…, password
``demo12345``) plus 1,000 organizations (20 core enterprises, 30 financiers, 950 suppliers); the demo supplier,
buyer and financier take part in a fixed share of the bills, so their pages grow with the data. Incremental:
``--bills N`` adds bills until N generated bills exist. The mix (about 3.25 events a bill): 10 % draft, 10 %
submitted, 40 % accepted, 25 % listed, 15 % financed. Maturities fall 30-180 days after the generation day,
except for a few of the demo buyer's accepted, listed and financed bills (about 4.7 % of its bills:
``matures_on_generation_day``), which mature on that day so benchmarks can settle them. Events are written
in canonical format 1 by default (format 2 draws a salt and a hash per field: ``--event-format 2`` for small
sets). Dates are the platform's calendar days (``bills.clock``), as the services count them. Development only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import time
import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from bills import clock
from bills.events import amount_text, build_event, rate_text
from bills.models import (
    Bill,
    BillAllocation,
    BillEvent,
    BillNumberCounter,
    BillParticipant,
    BillPurchase,
    BillState,
    EventType,
    ParticipantRole,
)
from chain_adapter.hashing import ZERO_HASH, record_key
from chain_adapter.models import AnchorRecord
from finance_portal.ledger.models import Account, AccountKind, EntryKind, JournalEntry, Posting
from finance_portal.ledger.services import cash_account, platform_account
from finance_portal.money import discount_price
from finance_portal.organizations.models import KycStatus, Organization
from finance_portal.organizations.validators import make_credit_code
from finance_portal.portal.demo import load_demo_organizations
from finance_portal.portal.management.commands._bench_rows import (
    DEMO_BUYER_AT,
    DEMO_BUYER_EVERY,
    copy_rows,
    kind_of,
    matures_on_generation_day,
    reserve_ids,
)
from invoices.models import Invoice, InvoiceStatus

ORGS = 1000
CORES, FINANCIERS = 20, 30
CODE_PREFIX = "91440300BG"  # 10 characters + 7 digits: the generated organizations' credit codes
REFERENCE_PREFIX = "BENCH-"
CHUNK = 10_000
RATES = [Decimal(r) for r in ("0.028000", "0.032000", "0.036000", "0.042000", "0.055000")]


def ensure_organizations() -> dict[str, list[Organization]]:
    """The demo organizations and users, and the 1,000 generated organizations with their cash accounts."""
    demo = load_demo_organizations()
    existing = set(Organization.objects.filter(credit_code__startswith=CODE_PREFIX).values_list("credit_code", flat=True))
    new = []
    now = timezone.now()
    for i in range(ORGS):
        code = make_credit_code(f"{CODE_PREFIX}{i:07d}")
        if code in existing:
            continue
        core, financier = i < CORES, CORES <= i < CORES + FINANCIERS
        kind = "Core" if core else "Financier" if financier else "Supplier"
        new.append(Organization(legal_name=f"Bench {kind} {i:04d} Co., Ltd.", credit_code=code,
                                is_supplier=not (core or financier), is_core_enterprise=core, is_financier=financier,
                                kyc_status=KycStatus.APPROVED, kyc_reviewed_at=now))
    with transaction.atomic():
        Organization.objects.bulk_create(new, batch_size=1000)
        generated = list(Organization.objects.filter(credit_code__startswith=CODE_PREFIX).order_by("credit_code"))
        have = set(Account.objects.filter(organization__in=generated, kind=AccountKind.CASH,
                                          currency=settings.DEFAULT_CURRENCY).values_list("organization_id", flat=True))
        Account.objects.bulk_create([
            Account(organization=o, kind=AccountKind.CASH, currency=settings.DEFAULT_CURRENCY,
                    name=f"{o.legal_name} cash ({settings.DEFAULT_CURRENCY})")
            for o in generated if o.pk not in have
        ])
        for org in demo.values():
            if org.is_supplier or org.is_core_enterprise or org.is_financier:
                cash_account(org, settings.DEFAULT_CURRENCY)
    return {
        "cores": [o for o in generated if o.is_core_enterprise],
        "financiers": [o for o in generated if o.is_financier],
        "suppliers": [o for o in generated if o.is_supplier],
        "demo_supplier": [demo["supplier"]],
        "demo_buyer": [demo["buyer"]],
        "demo_financier": [demo["financier"]],
    }


class Generator:
    """Builds the rows of bills ``start``..``stop`` (their index decides parties, state and amounts)."""

    def __init__(self, orgs: dict[str, list[Organization]], *, event_format: int, seed: int = 12) -> None:
        self.orgs = orgs
        self.event_format = event_format
        self.seed = seed
        self.now = timezone.now().replace(microsecond=0)
        self.today = clock.today()  # the platform's calendar, as the services count maturities
        self.accounts = {
            a.organization_id: a.pk
            for a in Account.objects.filter(kind=AccountKind.CASH, currency=settings.DEFAULT_CURRENCY,
                                            organization__isnull=False)
        }
        self.clearing = platform_account(AccountKind.BANK_CLEARING, settings.DEFAULT_CURRENCY).pk

    def parties(self, i: int) -> tuple[Organization, Organization, Organization]:
        """(creditor, debtor, financier buying it if it is financed) of the i-th bill."""
        o = self.orgs
        creditor = o["demo_supplier"][0] if i % 50 == 7 else o["suppliers"][i % len(o["suppliers"])]
        debtor = o["demo_buyer"][0] if i % DEMO_BUYER_EVERY == DEMO_BUYER_AT else o["cores"][i % len(o["cores"])]
        financier = o["demo_financier"][0] if i % 10 == 9 else o["financiers"][(i // 7) % len(o["financiers"])]
        return creditor, debtor, financier

    def chunk(self, start: int, stop: int) -> dict[str, Any]:
        """Write bills ``start``..``stop-1`` and everything they need, in the caller's transaction."""
        rng = random.Random(self.seed * 1_000_003 + start)
        currency = settings.DEFAULT_CURRENCY
        count = stop - start
        plans = []
        years: dict[int, int] = defaultdict(int)
        for i in range(start, stop):
            created = self.now - dt.timedelta(days=5 + rng.random() * 175, seconds=rng.randrange(86_400))
            years[created.year] += 1
            plans.append((i, created))
        numbers = self._numbers(years)
        bills, invoices, allocations, participants, events, anchors, purchases = [], [], [], [], [], [], []
        entries: list[dict[str, Any]] = []
        postings: list[dict[str, Any]] = []
        staged: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (event row, anchor row) in chain order
        spend: dict[int, Decimal] = defaultdict(Decimal)
        financed = [i for i, _ in plans if kind_of(i) == BillState.FINANCED]
        entry_ids = iter(reserve_ids(JournalEntry, len(financed)))
        for i, created in plans:
            state = kind_of(i)
            creditor, debtor, financier = self.parties(i)
            bill_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            face = Decimal(rng.randrange(10_000_00, 2_000_000_00)) / 100
            face_text = amount_text(face, currency)
            issue_date = clock.day_of(created)
            tenor_left = dt.timedelta(days=rng.randrange(30, 181))  # drawn for every bill: the others stay as they were
            maturity = self.today if matures_on_generation_day(i) else self.today + tenor_left
            number = numbers[created.year].pop()
            rate = rng.choice(RATES)
            holder = creditor
            invoice_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            tax = (face * Decimal(13) / Decimal(113)).quantize(Decimal("0.01"))
            invoices.append({
                "id": invoice_id, "seller_id": creditor.pk, "buyer_id": debtor.pk, "invoice_code": "",
                "invoice_number": f"{created.year % 100:02d}{i:018d}", "issue_date": issue_date - dt.timedelta(days=1),
                "amount_excl_tax": face - tax, "tax_amount": tax, "total_amount": face, "currency": currency,
                "file": f"invoices/bench-{i}", "file_sha256": hashlib.sha256(f"bench-invoice-{i}".encode()).hexdigest(),
                "file_size": 1024, "content_type": "application/pdf", "original_filename": f"invoice-{i}.pdf",
                "status": InvoiceStatus.VERIFIED, "verified_at": created, "verified_by_id": None,
                "verification_note": "", "uploaded_by_id": None, "created_at": created,
            })
            allocations.append({"bill_id": bill_id, "invoice_id": invoice_id, "amount": face})
            genesis = {
                "number": number, "creditor": creditor.credit_code, "debtor": debtor.credit_code,
                "holder": creditor.credit_code, "currency": currency, "issue_date": issue_date.isoformat(),
                "maturity": maturity.isoformat(), "invoices": [{"invoice": str(invoice_id), "amount": face_text}],
                "reference": f"{REFERENCE_PREFIX}{i}", "reason": "",
            }
            steps: list[tuple[str, str | None, str, Organization, dict[str, Any], dict[str, str]]] = [
                (EventType.CREATE, None, BillState.DRAFT, creditor, genesis, {})]
            if state != BillState.DRAFT:
                steps.append((EventType.SUBMIT, BillState.DRAFT, BillState.SUBMITTED, creditor, {"reason": ""}, {}))
            if state in (BillState.ACCEPTED, BillState.LISTED, BillState.FINANCED):
                steps.append((EventType.ACCEPT, BillState.SUBMITTED, BillState.ACCEPTED, debtor, {"reason": ""}, {}))
            if state in (BillState.LISTED, BillState.FINANCED):
                steps.append((EventType.LIST, BillState.ACCEPTED, BillState.LISTED, creditor,
                              {"rate": rate_text(rate), "reason": ""}, {}))
            purchase: dict[str, Any] | None = None
            if state == BillState.FINANCED:
                bought_at = created + dt.timedelta(days=3)
                days = (maturity - bought_at.date()).days
                interest, price = discount_price(face=face, annual_rate=rate, days=days, currency=currency)
                entry_id = next(entry_ids)
                entries.append({
                    "id": entry_id, "kind": EntryKind.PURCHASE, "currency": currency,
                    "memo": f"Purchase of bill {number}: face {face_text} at {rate_text(rate)} for {days} days",
                    "reference": f"bill:{bill_id}", "organization_id": None, "reverses_id": None,
                    "created_at": bought_at, "created_by_id": None,
                })
                postings.append({"entry_id": entry_id, "account_id": self.accounts[financier.pk], "amount": -price,
                                 "currency": currency})
                postings.append({"entry_id": entry_id, "account_id": self.accounts[creditor.pk], "amount": price,
                                 "currency": currency})
                spend[financier.pk] += price
                steps.append((EventType.BUY, BillState.LISTED, BillState.FINANCED, financier,
                              {"buyer": financier.credit_code, "seller": creditor.credit_code, "rate": rate_text(rate),
                               "days": days, "basis": 360, "entry": entry_id, "reason": ""},
                              {"price": amount_text(price, currency), "interest": amount_text(interest, currency)}))
                purchase = {"bill_id": bill_id, "holder_seq": 1, "seller_id": creditor.pk, "buyer_id": financier.pk,
                            "face": face, "currency": currency, "rate": rate, "days": days, "basis": 360,
                            "interest": interest, "price": price, "purchased_at": bought_at, "idempotency_key": "",
                            "entry_id": entry_id, "offer_id": None}
                holder = financier
            prev, key = ZERO_HASH, record_key(str(bill_id))
            at = created
            for seq, (etype, from_state, to_state, actor, details, extra) in enumerate(steps, start=1):
                built = build_event(
                    bill_id=str(bill_id), bill_key=key, seq=seq, type=etype, from_state=from_state, to_state=to_state,
                    actor_code=actor.credit_code, occurred_at=at, amounts={"face": face_text, **extra},
                    details=details, prev=prev, format=self.event_format,
                )
                event = {"bill_id": bill_id, "seq": seq, "type": etype, "from_state": from_state or "",
                         "to_state": to_state, "actor_id": actor.pk, "actor_user_id": None, "occurred_at": at,
                         "amounts": {"face": face_text, **extra}, "details": details, "prev_hash": prev,
                         "hash": built.hash, "canonical": built.canonical, "salts": built.salts}
                anchor = {"key": key, "prev_hash": prev, "event_hash": built.hash, "status": "pending",
                          "created_at": at, "tx_hash": "", "block_number": None, "log_index": None,
                          "confirmed_at": None, "last_error": "", "anchor_tx_id": None, "attempts": 0}
                staged.append((event, anchor))
                if purchase is not None and etype == EventType.BUY:
                    purchase["_event"] = event
                prev = built.hash
                at = at + dt.timedelta(hours=7 + seq)
            last_at = at - dt.timedelta(hours=7 + len(steps))
            bills.append({
                "id": bill_id, "number": number, "state": state, "creditor_id": creditor.pk, "debtor_id": debtor.pk,
                "holder_id": holder.pk, "pending_holder_id": None, "holder_seq": 2 if purchase else 1, "face": face,
                "currency": currency, "issue_date": issue_date, "maturity_date": maturity,
                "asking_rate": rate if state == BillState.LISTED else None, "state_before_transfer": "",
                "state_before_freeze": "", "parent_id": None, "root_id": None, "reference": f"{REFERENCE_PREFIX}{i}",
                "created_at": created, "updated_at": last_at,
            })
            participants.append({"bill_id": bill_id, "organization_id": creditor.pk,
                                 "role": ParticipantRole.PAST_HOLDER if purchase else ParticipantRole.HOLDER})
            participants.append({"bill_id": bill_id, "organization_id": creditor.pk, "role": ParticipantRole.CREDITOR})
            participants.append({"bill_id": bill_id, "organization_id": debtor.pk, "role": ParticipantRole.DEBTOR})
            if purchase is not None:
                participants.append({"bill_id": bill_id, "organization_id": financier.pk,
                                     "role": ParticipantRole.HOLDER})
                purchases.append(purchase)
        # Deposits that pay for this chunk's purchases, dated before every bill of it.
        deposit_ids = iter(reserve_ids(JournalEntry, len(spend)))
        for org_id, amount in sorted(spend.items()):
            entry_id = next(deposit_ids)
            total = amount + Decimal("1000000.00")
            entries.append({"id": entry_id, "kind": EntryKind.DEPOSIT, "currency": currency,
                            "memo": "Bench opening deposit", "reference": f"{REFERENCE_PREFIX}DEP-{start}-{org_id}",
                            "organization_id": org_id, "reverses_id": None,
                            "created_at": self.now - dt.timedelta(days=200), "created_by_id": None})
            postings.append({"entry_id": entry_id, "account_id": self.clearing, "amount": -total, "currency": currency})
            postings.append({"entry_id": entry_id, "account_id": self.accounts[org_id], "amount": total,
                             "currency": currency})
        anchor_ids = reserve_ids(AnchorRecord, len(staged))
        event_ids = reserve_ids(BillEvent, len(staged))
        for (event, anchor), anchor_id, event_id in zip(staged, anchor_ids, event_ids, strict=True):
            anchor["id"] = anchor_id
            event["id"], event["anchor_id"] = event_id, anchor_id
            anchors.append(anchor)
            events.append(event)
        for purchase in purchases:
            purchase["event_id"] = purchase.pop("_event")["id"]
        entries.sort(key=lambda e: e["id"])
        copy_rows(JournalEntry, entries)
        copy_rows(Posting, postings)
        copy_rows(Bill, bills)
        copy_rows(Invoice, invoices)
        copy_rows(BillAllocation, allocations)
        copy_rows(BillParticipant, participants)
        copy_rows(AnchorRecord, anchors)
        copy_rows(BillEvent, events)
        copy_rows(BillPurchase, purchases)
        return {"bills": count, "events": len(events), "entries": len(entries)}

    def _numbers(self, years: dict[int, int]) -> dict[int, list[str]]:
        """Take ``n`` bill numbers per year from the year's counter (as the services do, in bulk)."""
        numbers: dict[int, list[str]] = {}
        table = BillNumberCounter._meta.db_table
        with connection.cursor() as cursor:
            for year, n in years.items():
                cursor.execute(
                    f"INSERT INTO {table} (year, last) VALUES (%s, %s) "  # noqa: S608 (table name is ours)
                    f"ON CONFLICT (year) DO UPDATE SET last = {table}.last + %s RETURNING last",
                    [year, n, n],
                )
                (last,) = cursor.fetchone()
                numbers[year] = [f"BL-{year}-{k:06d}" for k in range(last, last - n, -1)]
        return numbers


def generated_count() -> int:
    return Bill.objects.filter(reference__startswith=REFERENCE_PREFIX).count()


def generate(bills: int, *, event_format: int = 1, chunk: int = CHUNK, analyze: bool = True,
             progress: Any = None) -> dict[str, Any]:
    """Add generated bills until ``bills`` exist; return what was written and how long it took."""
    started = time.monotonic()
    orgs = ensure_organizations()
    have = generated_count()
    generator = Generator(orgs, event_format=event_format)
    written = {"bills": 0, "events": 0, "entries": 0}
    for start in range(have, bills, chunk):
        stop = min(start + chunk, bills)
        with transaction.atomic():
            done = generator.chunk(start, stop)
        for k, v in done.items():
            written[k] += v
        if progress is not None:
            progress(f"bench_generate: bills {start:,}..{stop - 1:,} written ({time.monotonic() - started:.1f} s)")
    loaded = time.monotonic() - started
    if analyze:
        with connection.cursor() as cursor:
            if not connection.in_atomic_block:  # as autovacuum would have by then: index-only scans can skip the heap
                cursor.execute(f"VACUUM (ANALYZE) {Bill._meta.db_table}")
            cursor.execute("ANALYZE")
    return {**written, "total_bills": generated_count(), "seconds_load": loaded,
            "seconds": time.monotonic() - started}


class Command(BaseCommand):
    help = "Load N generated bills (about 3 events each), 1,000 organizations, invoices and ledger entries (fast)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bills", type=int, required=True, help="how many generated bills should exist")
        parser.add_argument("--event-format", type=int, choices=(1, 2), default=1)
        parser.add_argument("--chunk", type=int, default=CHUNK, help="bills per transaction")

    def handle(self, *args: object, **options: Any) -> None:
        if not getattr(settings, "DEVELOPMENT_MODE", False):
            raise CommandError("bench_generate loads demo users with public passwords: development settings only.")
        result = generate(options["bills"], event_format=options["event_format"], chunk=options["chunk"],
                          progress=self.stdout.write)
        self.stdout.write(
            f"bench_generate: {result['bills']:,} bills, {result['events']:,} events, {result['entries']:,} journal "
            f"entries written in {result['seconds']:.1f} s; {result['total_bills']:,} generated bills in all")
