"""Verifying bills against the chain: the bundle of DESIGN §10, the public page's verdict, reconciliation.

Three readers, one truth. ``bill_bundle`` gives anyone the canonical events to check with the standalone
verifier (``python -m chain_adapter.verify``); ``bill_verdict`` is what the public page shows (the database
chain rebuilt from its columns, then the bundle checked against the node); ``reconcile`` checks every bill
of the database against the on-chain heads and reports, per bill and event, any edit made behind the
application's back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Prefetch

from bills.events import bill_chain_verify
from bills.models import Bill, BillEvent
from chain_adapter.errors import ChainError
from chain_adapter.hashing import ZERO_HASH
from chain_adapter.models import AnchorStatus, ContractDeployment
from chain_adapter.selectors import deployment_current
from chain_adapter.verify import VerificationReport, VerifierError, verify_bundle

BUNDLE_VERSION = 1


def bill_bundle(*, bill: Bill, deployment: ContractDeployment | None = None) -> dict[str, Any]:
    """The verification bundle of ``bill`` (DESIGN §10): its canonical events in order, chain and contract."""
    deployment = deployment or deployment_current(chain_id=settings.CHAIN_ID)
    events = BillEvent.objects.filter(bill=bill).select_related("anchor").order_by("seq")
    out = []
    for event in events:
        anchored = event.anchor.status == AnchorStatus.CONFIRMED
        out.append(
            {
                "seq": event.seq,
                "canonical": event.canonical,
                "hash": event.hash,
                "tx_hash": event.anchor.tx_hash if anchored else None,
                "block": event.anchor.block_number if anchored else None,
            }
        )
    return {
        "version": BUNDLE_VERSION,
        "bill_id": str(bill.id),
        "bill_key": bill.bill_key,
        "chain_id": settings.CHAIN_ID,
        "contract": deployment.address if deployment else None,
        "events": out,
    }


@dataclass
class BillVerdict:
    """What the public verification page says about one bill."""

    bill: Bill
    database_problems: list[str]
    report: VerificationReport | None
    chain_error: str | None = None

    @property
    def status(self) -> str:
        """``verified``, ``pending`` (sound, some events not anchored yet), ``mismatch`` or ``unknown``."""
        if self.database_problems:
            return "mismatch"
        if self.report is None:
            return "unknown"
        if self.report.problems or any(e.status == "mismatch" for e in self.report.events):
            return "mismatch"
        if self.report.ok:
            return "verified"
        if any(e.status == "not_anchored" for e in self.report.events):
            return "pending"
        return "mismatch"


def bill_verdict(*, bill: Bill) -> BillVerdict:
    """Check the bill's chain in the database, then its bundle against the node (if one answers)."""
    problems = bill_chain_verify(bill)
    deployment = deployment_current(chain_id=settings.CHAIN_ID)
    if deployment is None:
        return BillVerdict(bill, problems, None, "no anchoring contract is deployed on this chain yet")
    try:
        report = verify_bundle(
            bill_bundle(bill=bill, deployment=deployment), settings.ETH_RPC_URL, from_block=deployment.block_number
        )
    except VerifierError as err:
        return BillVerdict(bill, problems, None, f"the chain could not be reached ({err})")
    return BillVerdict(bill, problems, report)


@dataclass
class Discrepancy:
    bill_id: str
    number: str
    problems: list[str] = field(default_factory=list)


@dataclass
class ReconcileResult:
    checked: int = 0
    events: int = 0
    pending: int = 0
    discrepancies: list[Discrepancy] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.discrepancies


def _chunks(ids: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def reconcile(*, bill_ids: Iterable[Any] | None = None, chunk_size: int = 200) -> ReconcileResult:
    """Check every bill (or ``bill_ids``): its chain rebuilt from the rows, and the chain's head for its key.

    The contract only moves a head from the previous hash, so when the database chain is sound (each hash is
    keccak256 of a text rebuilt from the columns, each ``prev`` is the previous hash) and the on-chain head
    is the hash of the newest event the database calls anchored, database and chain hold the same history.
    Raises ``ChainError`` when the node cannot be read: no verdict is better than a wrong one.
    """
    from chain_adapter.client import ChainClient

    deployment = deployment_current(chain_id=settings.CHAIN_ID)
    if deployment is None:
        raise ChainError(f"No anchoring contract is recorded for chain id {settings.CHAIN_ID}: run deploy_contract.")
    client = ChainClient.from_settings()
    ids = list(Bill.objects.order_by("id").values_list("id", flat=True)) if bill_ids is None else list(bill_ids)
    result = ReconcileResult()
    for batch in _chunks(ids, chunk_size):
        bills = list(
            Bill.objects.filter(id__in=batch)
            .select_related("creditor", "debtor", "holder", "pending_holder")
            .order_by("id")
            .prefetch_related(
                Prefetch("events", queryset=BillEvent.objects.select_related("actor", "anchor").order_by("seq"))
            )
        )
        heads = client.heads(deployment.address, [b.bill_key for b in bills])
        for bill in bills:
            result.checked += 1
            events = list(bill.events.all())
            result.events += len(events)
            problems = bill_chain_verify(bill, events=events)
            problems += _against_head(bill, events, heads[bill.bill_key])
            result.pending += sum(1 for e in events if e.anchor.status != AnchorStatus.CONFIRMED)
            if problems:
                result.discrepancies.append(Discrepancy(str(bill.id), bill.number, problems))
    return result


def _against_head(bill: Bill, events: list[BillEvent], head: str) -> list[str]:
    """Problems between the bill's events in the database and its head on chain."""
    where = f"bill {bill.id}"
    confirmed = [e for e in events if e.anchor.status == AnchorStatus.CONFIRMED]
    if head == ZERO_HASH:
        if confirmed:
            return [f"{where}: the database says event #{confirmed[-1].seq} is anchored, the chain has no event "
                    "for this bill"]
        return []
    position = next((i for i, e in enumerate(events) if e.hash == head), None)
    if position is None:
        return [f"{where}: the chain's head {head} is the hash of no event of this bill in the database: its "
                "history was changed after it was anchored"]
    problems = []
    later_confirmed = [e for e in events[position + 1 :] if e.anchor.status == AnchorStatus.CONFIRMED]
    if later_confirmed:
        problems.append(f"{where} event #{later_confirmed[0].seq}: the database says it is anchored, the chain's "
                        f"head is event #{events[position].seq}")
    return problems
