"""Verifying bills against the chain: the bundle (DESIGN §10, docs/bundle-v2.md), the pages' verdict,
reconciliation.

Three readers, one truth. ``bill_bundle`` gives a viewer the events of a bill, each disclosing the fields
its profile allows (``bills.disclosure``), to check with the standalone verifier
(``python -m chain_adapter.verify``); ``bill_verdict`` is what the verification pages show (the database
chain rebuilt from its columns, then the bundle checked against the node's view of the bill's key, which is
cached until the bill's next anchor so an anonymous request costs the node nothing); ``reconcile`` checks
every bill of the database against the on-chain heads and reports, per bill and event, any edit made behind
the application's back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext, gettext_noop

from bills.disclosure import Disclosure, Profile
from bills.events import FORMAT_V1, FORMAT_V2, bill_chain_verify, event_format, fields_of_event
from bills.models import Bill, BillEvent
from bills.problems import Problem
from chain_adapter.client import ChainClient
from chain_adapter.errors import ChainError
from chain_adapter.hashing import ZERO_HASH, record_key
from chain_adapter.models import AnchorStatus, ContractDeployment
from chain_adapter.selectors import deployment_current
from chain_adapter.verify import ChainView, VerificationReport, VerifierError, fetch_chain_view, verify_bundle

BUNDLE_VERSION = 2


def bill_events_for_bundle(bill: Bill) -> list[BillEvent]:
    return list(BillEvent.objects.filter(bill=bill).select_related("actor", "anchor").order_by("seq"))


def full_disclosure(bill: Bill, events: Sequence[BillEvent]) -> Disclosure:
    """Everything (the regulator's profile): for internal checks and tests, never a viewer's default."""
    return Disclosure(Profile.REGULATOR, (Profile.REGULATOR,) * len(events), bill.holder.credit_code)


def bill_bundle(*, bill: Bill, disclosure: Disclosure, events: Sequence[BillEvent] | None = None,
                deployment: ContractDeployment | None = None) -> dict[str, Any]:
    """The version-2 verification bundle of ``bill`` as ``disclosure`` allows: every event's canonical text
    and hash (so the chain and its completeness can be checked by anyone) and, per format-2 event, the
    value and salt of each field the viewer's profile shows. A format-1 event's text discloses every field:
    it is given only where the viewer sees every field of that event, else withheld (``canonical: null``).
    The bill id is given to viewers above the public profile only."""
    events = bill_events_for_bundle(bill) if events is None else events
    deployment = deployment or deployment_current(chain_id=settings.CHAIN_ID)
    out = []
    for index, event in enumerate(events):
        anchored = event.anchor.status == AnchorStatus.CONFIRMED
        entry: dict[str, Any] = {
            "seq": event.seq,
            "canonical": event.canonical,
            "hash": event.hash,
            "tx_hash": event.anchor.tx_hash if anchored else None,
            "block": event.anchor.block_number if anchored else None,
        }
        if event_format(event) == FORMAT_V2:
            fields = fields_of_event(event)
            shown = disclosure.visible_fields(index, event, fields)
            entry["disclosed"] = {name: {"value": fields[name], "salt": event.salts.get(name)}
                                  for name in sorted(shown)}
        elif disclosure.event_profile(index) < Profile.PARTICIPANT:
            entry["canonical"] = None
        out.append(entry)
    return {
        "version": BUNDLE_VERSION,
        "bill_id": str(bill.id) if disclosure.reveals_bill_id else None,
        "bill_key": bill.bill_key,
        "chain_id": settings.CHAIN_ID,
        "contract": deployment.address if deployment else None,
        "profile": disclosure.profile.label,
        "events": out,
    }


# ---------------------------------------------------------------------------------------------------------
# The node's view of a bill, cached until its next anchor
# ---------------------------------------------------------------------------------------------------------


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def chain_view_cache_key(bill: Bill, events: Sequence[BillEvent], deployment: ContractDeployment) -> str:
    """Keyed on the bill's latest anchored event: a new anchor makes a new key, nothing else does."""
    confirmed = [e for e in events if e.anchor.status == AnchorStatus.CONFIRMED]
    latest = confirmed[-1].hash if confirmed else "none"
    return f"bills:chain-view:{deployment.chain_id}:{deployment.address.lower()}:{bill.bill_key}:{latest}"


def bill_chain_view(*, bill: Bill, events: Sequence[BillEvent], deployment: ContractDeployment) -> ChainView:
    """What the node says about the bill's key, from the cache when the bill has not been anchored since.

    Logs are read only in the block range the database knows the bill's anchored events in (queried
    ``VERIFY_LOG_BLOCK_RANGE`` blocks at a time); the head call covers what lies beyond. A node that cannot
    be read is remembered for ``VERIFY_CHAIN_ERROR_CACHE_SECONDS`` (no retry per request); raises
    ``VerifierError``.
    """
    key = chain_view_cache_key(bill, events, deployment)
    cached = cache.get(key)
    if isinstance(cached, dict) and "error" in cached:
        raise VerifierError(str(cached["error"]))
    if isinstance(cached, dict):
        return ChainView.from_dict(cached)
    blocks: list[int] = [e.anchor.block_number for e in events
                         if e.anchor.status == AnchorStatus.CONFIRMED and e.anchor.block_number is not None]
    try:
        if blocks:
            view = fetch_chain_view(settings.ETH_RPC_URL, contract=deployment.address, bill_key=bill.bill_key,
                                    from_block=min(blocks), to_block=max(blocks),
                                    max_block_range=_setting("VERIFY_LOG_BLOCK_RANGE", 10_000), timeout=10)
        else:  # nothing anchored yet by the database's account: the head alone says whether that is so
            view = fetch_chain_view(settings.ETH_RPC_URL, contract=deployment.address, bill_key=bill.bill_key,
                                    # a confirmed deployment has its block (constraint deployment_confirmed_has_block)
                                    from_block=cast(int, deployment.block_number), to_block=deployment.block_number,
                                    timeout=10)
    except VerifierError as err:
        cache.set(key, {"error": str(err)}, _setting("VERIFY_CHAIN_ERROR_CACHE_SECONDS", 10))
        raise
    cache.set(key, view.as_dict(), _setting("VERIFY_CHAIN_CACHE_SECONDS", 24 * 3600))
    return view


@dataclass
class BillVerdict:
    """What a verification page says about one bill."""

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


def bill_verdict(*, bill: Bill, bundle: dict[str, Any], events: Sequence[BillEvent]) -> BillVerdict:
    """Check the bill's chain in the database, then ``bundle`` against the (cached) view of the node."""
    problems = bill_chain_verify(bill)
    deployment = deployment_current(chain_id=settings.CHAIN_ID)
    if deployment is None:
        return BillVerdict(bill, problems, None, gettext("no anchoring contract is deployed on this chain yet"))
    try:
        view = bill_chain_view(bill=bill, events=events, deployment=deployment)
        report = verify_bundle(bundle, view=view)
    except VerifierError as err:
        return BillVerdict(bill, problems, None, gettext("the chain could not be reached (%(error)s)") % {"error": err})
    return BillVerdict(bill, problems, report)


# ---------------------------------------------------------------------------------------------------------
# Reconciliation
# ---------------------------------------------------------------------------------------------------------


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
    by_format: dict[int, int] = field(default_factory=dict)  # events per canonical format
    discrepancies: list[Discrepancy] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.discrepancies


def _chunks(ids: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


# The rows a chunk is checked from: each carries, under the model's names, exactly the columns that
# ``bill_chain_verify`` and ``_against_head`` read (parties and actor as ``.credit_code``, the outbox record as
# ``.anchor``), read with ``values_list`` in two queries per chunk: model instances cost more than the check.


@dataclass(slots=True)
class _Party:
    credit_code: str


@dataclass(slots=True)
class _AnchorRow:
    key: str
    prev_hash: str
    event_hash: str
    status: str


@dataclass(slots=True)
class _EventRow:
    bill_id: Any
    seq: int
    type: str
    from_state: str
    to_state: str
    actor: _Party
    occurred_at: Any
    amounts: dict[str, Any]
    details: dict[str, Any]
    prev_hash: str
    hash: str
    canonical: str
    salts: dict[str, str]
    anchor: _AnchorRow


@dataclass(slots=True)
class _BillRow:
    id: Any
    number: str
    state: str
    face: Any
    currency: str
    issue_date: Any
    maturity_date: Any
    creditor: _Party
    debtor: _Party
    holder: _Party
    bill_key: str


_BILL_COLUMNS = ("id", "number", "state", "face", "currency", "issue_date", "maturity_date",
                 "creditor__credit_code", "debtor__credit_code", "holder__credit_code")
_EVENT_COLUMNS = ("bill_id", "seq", "type", "from_state", "to_state", "actor__credit_code", "occurred_at", "amounts",
                  "details", "prev_hash", "hash", "canonical", "salts",
                  "anchor__key", "anchor__prev_hash", "anchor__event_hash", "anchor__status")


def _chunk_rows(batch: list[Any], *, in_order: bool) -> list[tuple[_BillRow, list[_EventRow]]]:
    """The bills of ``batch`` with their events in ``seq`` order: two queries. When ``batch`` is a run of
    ids in the database's order (``in_order``), both read the range between its first and last id on the
    index, not a list of ids, which the planner may answer by reading the whole table; what else the range
    holds (a bill created since the ids were read) is left out."""
    parties: dict[str, _Party] = {}

    def party(code: str) -> _Party:
        found = parties.get(code)
        if found is None:
            found = parties[code] = _Party(code)
        return found

    if in_order:
        wanted = set(batch)
        bill_rows = Bill.objects.filter(id__gte=batch[0], id__lte=batch[-1])
        event_rows = BillEvent.objects.filter(bill_id__gte=batch[0], bill_id__lte=batch[-1])
    else:
        bill_rows = Bill.objects.filter(id__in=batch)
        event_rows = BillEvent.objects.filter(bill_id__in=batch)
    bills = [_BillRow(id_, number, state, face, currency, issue, maturity, party(creditor), party(debtor),
                      party(holder), record_key(str(id_)))
             for id_, number, state, face, currency, issue, maturity, creditor, debtor, holder
             in bill_rows.order_by("id").values_list(*_BILL_COLUMNS)
             if not in_order or id_ in wanted]
    events: dict[Any, list[_EventRow]] = {bill.id: [] for bill in bills}
    for (bill_id, seq, type_, from_state, to_state, actor, occurred_at, amounts, details, prev_hash, hash_, canonical,
         salts, key, anchor_prev, anchor_hash, status) in event_rows.order_by("bill_id", "seq").values_list(
            *_EVENT_COLUMNS):
        found = events.get(bill_id)
        if found is not None:
            found.append(_EventRow(bill_id, seq, type_, from_state, to_state, party(actor), occurred_at, amounts,
                                   details, prev_hash, hash_, canonical, salts,
                                   _AnchorRow(key, anchor_prev, anchor_hash, status)))
    return [(bill, events[bill.id]) for bill in bills]


def reconcile(*, bill_ids: Iterable[Any] | None = None, chunk_size: int = 200) -> ReconcileResult:
    """Check every bill (or ``bill_ids``): its chain rebuilt from the rows, and the chain's head for its key.

    The contract only moves a head from the previous hash, so when the database chain is sound (each hash is
    keccak256 of a text rebuilt from the columns, each ``prev`` is the previous hash) and the on-chain head
    is the hash of the newest event the database calls anchored, database and chain hold the same history.
    Events of both formats are rebuilt (format 2 from the columns and the stored salts). Each chunk of
    ``chunk_size`` bills costs two queries and one batch of ``head`` calls.
    Raises ``ChainError`` when the node cannot be read: no verdict is better than a wrong one.
    """
    deployment = deployment_current(chain_id=settings.CHAIN_ID)
    if deployment is None:
        raise ChainError(f"No anchoring contract is recorded for chain id {settings.CHAIN_ID}: run deploy_contract.")
    client = ChainClient.from_settings()
    in_order = bill_ids is None
    ids = list(Bill.objects.order_by("id").values_list("id", flat=True)) if in_order else list(bill_ids or ())
    result = ReconcileResult()
    # The node answers a chunk's heads while the previous chunk is checked (one request at a time).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reconcile-heads") as node:
        previous: tuple[list[tuple[_BillRow, list[_EventRow]]], Future[dict[str, str]]] | None = None
        for batch in _chunks(ids, chunk_size):
            rows = _chunk_rows(batch, in_order=in_order)
            heads = node.submit(client.heads, deployment.address, [bill.bill_key for bill, _ in rows])
            if previous is not None:
                _check_chunk(result, *previous)
            previous = (rows, heads)
        if previous is not None:
            _check_chunk(result, *previous)
    return result


def _check_chunk(result: ReconcileResult, rows: list[tuple[_BillRow, list[_EventRow]]],
                 asked: Future[dict[str, str]]) -> None:
    heads = asked.result()
    by_format = result.by_format
    confirmed = AnchorStatus.CONFIRMED.value
    for bill, events in rows:
        result.checked += 1
        result.events += len(events)
        for event in events:
            fmt = FORMAT_V2 if event.salts else FORMAT_V1  # bills.events.event_format
            by_format[fmt] = by_format.get(fmt, 0) + 1
        # The rows carry every attribute the check reads, under the model's names.
        problems = bill_chain_verify(cast(Bill, bill), events=cast(list[BillEvent], events))
        problems += _against_head(bill, events, heads[bill.bill_key])
        result.pending += sum(1 for e in events if e.anchor.status != confirmed)
        if problems:
            result.discrepancies.append(Discrepancy(str(bill.id), bill.number, problems))


def _against_head(bill: _BillRow, events: list[_EventRow], head: str) -> list[str]:
    """Problems between the bill's events in the database and its head on chain."""
    confirmed = [e for e in events if e.anchor.status == AnchorStatus.CONFIRMED]
    if head == ZERO_HASH:
        if confirmed:
            return [Problem(gettext_noop("bill %(bill)s: the database says event #%(seq)s is anchored, the chain "
                                         "has no event for this bill"), bill=bill.id, seq=confirmed[-1].seq)]
        return []
    position = next((i for i, e in enumerate(events) if e.hash == head), None)
    if position is None:
        return [Problem(gettext_noop("bill %(bill)s: the chain's head %(head)s is the hash of no event of this bill "
                                     "in the database: its history was changed after it was anchored"),
                        bill=bill.id, head=head)]
    problems: list[str] = []
    later_confirmed = [e for e in events[position + 1 :] if e.anchor.status == AnchorStatus.CONFIRMED]
    if later_confirmed:
        problems.append(Problem(gettext_noop("bill %(bill)s event #%(seq)s: the database says it is anchored, the "
                                             "chain's head is event #%(head_seq)s"),
                                bill=bill.id, seq=later_confirmed[0].seq, head_seq=events[position].seq))
    return problems
